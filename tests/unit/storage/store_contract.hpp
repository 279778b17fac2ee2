// store_contract.hpp: the backend-independent store test suite's fixture: every TEST_P
// in store_contract_test.cpp runs against each backend instantiated for it.
#pragma once

#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace warmup::storage::testing {

// What a backend supplies to run the contract suite (SQLite now, PostgreSQL next):
// a fresh location per test, a way to open it, and one backdoor the interface lacks.
struct store_backend {
  std::string name;
  // Makes a new, empty, unique location (a file path, a database schema, ...).
  std::function<std::string()> create_location;
  std::function<void(const std::string& location)> destroy_location;
  // Opens (and, unless read-only, migrates) the store at `location`.
  std::function<std::unique_ptr<store>(const std::string& location, bool read_only)> open;
  // Records schema version `version` behind the store's back (a newer binary's store).
  std::function<void(const std::string& location, int version)> force_schema_version;
};

class store_contract : public ::testing::TestWithParam<store_backend> {
protected:
  void SetUp() override;
  void TearDown() override;

  // The test's store factory: each call opens another connection to the same location.
  std::function<std::unique_ptr<store>()> factory;
  std::unique_ptr<store> open_read_only() const;
  store& db() { return *db_; }
  // Closes the fixture's own connection (before fork, or to reopen).
  void close() { db_.reset(); }
  void reopen() { db_ = factory(); }

  std::string location;
  std::unique_ptr<store> db_;
};

std::string backend_name(const ::testing::TestParamInfo<store_backend>& info);
// Test names print the backend's name, not its bytes.
void PrintTo(const store_backend& backend, std::ostream* os);

}  // namespace warmup::storage::testing
