// pg_backend_test.cpp: runs the store contract, unchanged, on PostgreSQL (a fresh database
// per test, copied from a migrated template) with leases on the caller's clock, the
// semantics the contract's hand-picked instants check.
#include "pg_test_server.hpp"
#include "store_contract.hpp"

namespace warmup::storage::testing {

namespace {

store_backend postgres_backend() {
  store_backend b;
  b.name = "postgres";
  b.create_location = [] {
    try {
      return create_pg_database();
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      throw;
    }
  };
  b.destroy_location = [](const std::string& url) {
    if (!url.empty())
      drop_pg_database(url);
  };
  b.open = [](const std::string& url, bool read_only) {
    postgres_options o;
    o.leases = lease_clock::caller;
    o.read_only = read_only;
    return open_postgres(url, o);
  };
  b.force_schema_version = [](const std::string& url, int version) {
    pg_exec(url, "INSERT INTO schema_version (version, purpose) VALUES ("
                   + std::to_string(version) + ", 'from a newer binary')");
  };
  return b;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(postgres, store_contract, ::testing::Values(postgres_backend()),
                         backend_name);

}  // namespace warmup::storage::testing
