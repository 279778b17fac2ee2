// migrations_pg.hpp: the ordered schema migrations of the PostgreSQL store.
#pragma once

#include "storage/migrations_sqlite.hpp"  // struct migration

#include <cstdint>
#include <span>

namespace warmup::storage {

// Same numbering as SQLite's list (one schema version sequence for both backends).
std::span<const migration> postgres_migrations();

// The pg_advisory_xact_lock key that serialises migrations of one database: the bytes
// of "warmupdb" as a big-endian integer, so it is recognisable in pg_locks.
constexpr std::int64_t postgres_migration_lock_key = 0x7761726d75706462;

}  // namespace warmup::storage
