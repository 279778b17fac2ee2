// open_store.hpp: picks the store backend from the configured database URL.
#pragma once

#include "storage/store.hpp"

#include <memory>
#include <string>

namespace warmup::storage {

// Opens (and, unless read-only, migrates) the node's store:
//   ""                                   SQLite at <data_dir>/warmup.db
//   postgres://... or postgresql://...   PostgreSQL (leases by the DB clock)
//   anything else                        store_error naming the scheme
// `read_only` is for the CLI next to a running node: it never creates or migrates.
std::unique_ptr<store> open_store(const std::string& database_url, const std::string& data_dir,
                                  bool read_only = false);

// The SQLite file open_store uses for `data_dir`.
std::string sqlite_path_in(const std::string& data_dir);

// `url` with its password replaced by "***" (user:pass@ in the authority and a
// `password=` query parameter), for messages and logs. A URL without one is unchanged.
std::string redact_url(const std::string& url);

// The password in `url` ("" when none), percent-decoded: what must never reach a message.
std::string password_of(const std::string& url);

}  // namespace warmup::storage
