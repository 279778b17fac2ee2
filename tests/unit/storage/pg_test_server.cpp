// pg_test_server.cpp: starts the storage tests' shared PostgreSQL server through
// deploy/pg-test-server.sh (stopped by its reaper once unused) and hands out fresh
// databases on it.
#include "pg_test_server.hpp"

#include "storage/migrations_pg.hpp"
#include "storage/store.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <sys/file.h>
#include <tuple>
#include <unistd.h>

namespace warmup::storage::testing {

namespace {

namespace fs = std::filesystem;

std::string script_path() {
  if (const char* src = std::getenv("WARMUP_SOURCE_DIR"); src != nullptr && *src != '\0')
    return (fs::path(src) / "deploy" / "pg-test-server.sh").string();
  // Run by hand from anywhere: this file is tests/unit/storage/ in the source tree.
  return (fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "deploy" / "pg-test-server.sh")
    .lexically_normal()
    .string();
}

// Runs a shell command; returns its stdout (trimmed) and exit status.
std::pair<std::string, int> run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr)
    return {"", -1};
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  int status = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return {out, status};
}

std::string url_for(const std::string& server_url, const std::string& db) {
  auto slash = server_url.rfind('/');
  return server_url.substr(0, slash + 1) + db;
}

// One server shared by every test process of this user (ctest runs each test in its own
// process; a server per process cost seconds each). Each process registers its pid in
// DIR.users; a detached `pg-test-server.sh reap` stops the server and removes DIR once no
// registered process has been alive for a few seconds.
class pg_server {
public:
  static pg_server& instance() {
    static pg_server s;
    return s;
  }

  const std::string& url() {
    std::lock_guard lock(mutex_);
    if (!error_.empty())
      throw std::runtime_error(error_);
    if (url_.empty())
      start();
    return url_;
  }

  // The migrated template, named after the migrations so that a schema change never
  // reuses an older template left on the shared server.
  std::string template_db() {
    url();
    std::lock_guard lock(mutex_);
    if (template_.empty()) {
      std::string all;
      for (const auto& m : postgres_migrations())
        all += m.sql;
      auto name = "warmup_template_" + std::to_string(std::hash<std::string>{}(all) % 1000000007);
      // Under the shared lock: processes starting together create it once.
      int fd = open((dir_ + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0)
        flock(fd, LOCK_EX);
      try {
        if (pg_exec(url_, "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'")
            == "0") {
          pg_exec(url_, "CREATE DATABASE " + name + "_new");
          open_postgres(url_for(url_, name + "_new")).reset();
          pg_exec(url_, "ALTER DATABASE " + name + "_new RENAME TO " + name);
        }
      } catch (...) {
        if (fd >= 0)
          close(fd);
        throw;
      }
      if (fd >= 0)
        close(fd);
      template_ = name;
    }
    return template_;
  }

  // This process no longer uses the server (the reaper stops it once nobody does).
  void leave() {
    std::lock_guard lock(mutex_);
    if (!dir_.empty())
      unlink((dir_ + ".users/" + std::to_string(getpid())).c_str());
  }

private:
  void start() {
    dir_ = (fs::temp_directory_path() / ("warmup-pg-test-" + std::to_string(getuid()))).string();
    int fd = open((dir_ + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      error_ = "cannot create " + dir_ + ".lock for the PostgreSQL test server";
      throw std::runtime_error(error_);
    }
    flock(fd, LOCK_EX);
    std::error_code ignored;
    fs::create_directories(dir_ + ".users", ignored);
    { std::ofstream(dir_ + ".users/" + std::to_string(getpid())); }
    auto [running_url, running] = run_command("'" + script_path() + "' url '" + dir_ + "' 2>/dev/null");
    std::string out = running_url;
    int status = running;
    if (status != 0) {
      auto cache = (fs::temp_directory_path()
                    / ("warmup-pg-initdb-cache-" + std::to_string(getuid())) / "data")
                     .string();
      std::tie(out, status) = run_command("PG_TEST_INITDB_CACHE='" + cache + "' '"
                                          + script_path() + "' start '" + dir_ + "' 2>&1");
      if (status == 0)
        run_command("setsid nohup '" + script_path() + "' reap '" + dir_
                    + "' 5 >/dev/null 2>&1 < /dev/null &");
    }
    close(fd);
    if (status != 0 || out.rfind("postgresql://", 0) != 0) {
      error_ = "the PostgreSQL test server did not start (" + script_path() + " start " + dir_
               + "): " + out
               + "\nThe PostgreSQL tests need the server binaries under "
                 "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql; as root "
                 "the 'postgres' system user it creates runs the server).";
      throw std::runtime_error(error_);
    }
    url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }

  std::mutex mutex_;
  std::string dir_;
  std::string url_;
  std::string error_;
  std::string template_;
};

// Deregisters this process when its tests are done (gtest owns and deletes it).
class pg_server_environment : public ::testing::Environment {
public:
  void TearDown() override { pg_server::instance().leave(); }
};

[[maybe_unused]] auto* const registered =
  ::testing::AddGlobalTestEnvironment(new pg_server_environment);

std::atomic<int> next_database{0};

}  // namespace

const std::string& pg_server_url() {
  return pg_server::instance().url();
}

std::string create_pg_database(bool migrated) {
  auto name = "t" + std::to_string(getpid()) + "_" + std::to_string(++next_database);
  if (migrated)
    pg_exec(pg_server_url(),
            "CREATE DATABASE " + name + " TEMPLATE " + pg_server::instance().template_db());
  else
    pg_exec(pg_server_url(), "CREATE DATABASE " + name + " TEMPLATE template0");
  return url_for(pg_server_url(), name);
}

void drop_pg_database(const std::string& url) {
  auto name = url.substr(url.rfind('/') + 1);
  pg_exec(pg_server_url(), "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

std::string pg_exec(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  if (r.empty() || r.columns() == 0 || r[0][0].is_null())
    return {};
  return r[0][0].c_str();
}

}  // namespace warmup::storage::testing
