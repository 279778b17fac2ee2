// migrations_sqlite.hpp: the ordered schema migrations of the SQLite store.
#pragma once

#include <span>
#include <string_view>

namespace warmup::storage {

// One schema step: `sql` (several statements) runs in one transaction together with the
// schema_version row that records it, so a crash leaves either all of it or none.
struct migration {
  int version = 0;            // 1, 2, ... in order; the last equals latest_schema_version()
  std::string_view purpose;   // for error messages and the schema_version row
  std::string_view sql;
};

std::span<const migration> sqlite_migrations();

}  // namespace warmup::storage
