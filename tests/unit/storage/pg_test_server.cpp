// pg_test_server.cpp: starts and stops the storage tests' PostgreSQL server through
// deploy/pg-test-server.sh and hands out fresh databases on it.
#include "pg_test_server.hpp"

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

  std::string template_db() {
    url();
    std::lock_guard lock(mutex_);
    if (!template_ready_) {
      pg_exec(url_, "CREATE DATABASE warmup_template");
      // Migrated once here; every test database is a file copy of it.
      open_postgres(url_for(url_, "warmup_template")).reset();
      template_ready_ = true;
    }
    return "warmup_template";
  }

  void stop() {
    std::lock_guard lock(mutex_);
    if (dir_.empty())
      return;
    run_command("'" + script_path() + "' stop '" + dir_ + "' 2>&1");
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    dir_.clear();
    url_.clear();
  }

private:
  void start() {
    auto pattern = (fs::temp_directory_path() / "warmup-pg-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error_ = "cannot create a temporary directory for the PostgreSQL test server";
      throw std::runtime_error(error_);
    }
    dir_ = pattern;
    auto [out, status] = run_command("'" + script_path() + "' start '" + dir_ + "' 2>&1");
    if (status != 0 || out.rfind("postgresql://", 0) != 0) {
      error_ = "the PostgreSQL test server did not start (" + script_path() + " start " + dir_
               + "): " + out
               + "\nThe PostgreSQL tests need the server binaries under "
                 "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql; as root "
                 "the 'postgres' system user it creates runs the server).";
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
      dir_.clear();
      throw std::runtime_error(error_);
    }
    url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }

  std::mutex mutex_;
  std::string dir_;
  std::string url_;
  std::string error_;
  bool template_ready_ = false;
};

// Stops the server when the process's tests are done (gtest owns and deletes it).
class pg_server_environment : public ::testing::Environment {
public:
  void TearDown() override { pg_server::instance().stop(); }
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
