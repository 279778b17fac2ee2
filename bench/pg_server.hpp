// pg_server.hpp: the PostgreSQL benchmarks' own server (deploy/pg-test-server.sh in a
// temp directory, loopback, a free port): started by the constructor, stopped and removed
// by the destructor. Plus the shell helper they use for psql.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace warmup::bench {

// What `cmd` prints on stdout (redirect stderr into it to keep it), trailing newlines off.
inline std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr)
    return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  pclose(p);
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

class pg_server {
public:
  // `durable`: fsync and synchronous commit on, production checkpoint spacing
  // (PG_TEST_DURABLE=1), so commits cost what they cost in production.
  pg_server(const std::string& tag, bool durable) {
    const char* env_source = std::getenv("WARMUP_SOURCE_DIR");
    const auto source = env_source != nullptr && *env_source != '\0'
                          ? std::filesystem::path(env_source)
                          : std::filesystem::path(__FILE__).parent_path().parent_path();
    script_ = (source / "deploy" / "pg-test-server.sh").string();
    auto pattern =
      (std::filesystem::temp_directory_path() / ("warmup-" + tag + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      answer_ = "cannot make a temporary directory";
      return;
    }
    dir_ = pattern;
    answer_ = run_command(std::string(durable ? "PG_TEST_DURABLE=1 " : "") + "'" + script_
                          + "' start '" + dir_ + "' 2>&1");
  }
  ~pg_server() {
    if (dir_.empty())
      return;
    if (up())
      run_command("'" + script_ + "' stop '" + dir_ + "' 2>&1");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  bool up() const { return answer_.rfind("postgresql://", 0) == 0; }
  // The server's URL when up(), else why it did not start.
  const std::string& answer() const { return answer_; }
  // A scratch directory of the benchmark's, removed with the server.
  const std::string& dir() const { return dir_; }

private:
  std::string script_;
  std::string dir_;
  std::string answer_;
};

}  // namespace warmup::bench
