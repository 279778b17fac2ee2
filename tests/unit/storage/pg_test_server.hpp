// pg_test_server.hpp: the PostgreSQL server the storage tests share (started on first use
// by deploy/pg-test-server.sh, shared by concurrent test processes, stopped by the script's
// reaper a few seconds after the last one exits), and fresh databases on it.
#pragma once

#include <string>

namespace warmup::storage::testing {

// The server's maintenance URL (database `postgres`). Throws std::runtime_error saying
// what to install when the server cannot be started: callers FAIL with it.
const std::string& pg_server_url();

// A new database (a copy of a template already migrated to the latest schema, or an
// empty one), and its URL.
std::string create_pg_database(bool migrated = true);
void drop_pg_database(const std::string& url);

// Runs SQL on the database at `url`; returns the first column of the first row ("" if
// none or NULL).
std::string pg_exec(const std::string& url, const std::string& sql);

}  // namespace warmup::storage::testing
