// sqlite_store.cpp: the embedded SQLite backend of the store: one connection, cached
// prepared statements, WAL, versioned migrations, epoch-fenced batched writes.
#include "storage/migrations_sqlite.hpp"
#include "storage/store.hpp"
#include "warmup/random.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

namespace warmup::storage {

namespace {

// 5 s: long enough to ride out a node's batch commit when the CLI reads or writes next
// to it, short enough that a stuck lock surfaces as an error instead of a hang.
constexpr int busy_timeout_ms = 5000;

// The store's own bookkeeping stamps (schema_version.applied_at, mailbox updated_at on a
// state change) use the wall clock: they are records for people, not engine time.
time_ms wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t clamp_to_i64(std::size_t n) {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(n, max));
}

// The UTC day containing `t`, floored (a time before 1970 that is not a whole day belongs to
// the day before). The registry's day column (schema step 5) is this, computed in 64 bits
// as the migration's SQL computes it.
std::int64_t floor_utc_day(time_ms t) {
  auto d = t / ms_per_day;
  if (t % ms_per_day < 0)
    --d;
  return d;
}

day_number utc_day_of(time_ms t) {
  return static_cast<day_number>(floor_utc_day(t));
}

// Slot times as int64 little-endian, 8 bytes per slot: compact, and the same bytes on
// every machine that reads the file.
std::string encode_slot_times(const std::vector<time_ms>& times) {
  std::string bytes(times.size() * 8, '\0');
  for (std::size_t i = 0; i < times.size(); ++i) {
    auto v = static_cast<std::uint64_t>(times[i]);
    for (int b = 0; b < 8; ++b)
      bytes[i * 8 + static_cast<std::size_t>(b)] = static_cast<char>((v >> (8 * b)) & 0xFF);
  }
  return bytes;
}

std::vector<time_ms> decode_slot_times(const void* data, int size) {
  std::vector<time_ms> times;
  if (data == nullptr || size <= 0)
    return times;
  auto bytes = static_cast<const unsigned char*>(data);
  auto n = static_cast<std::size_t>(size) / 8;
  times.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t v = 0;
    for (int b = 7; b >= 0; --b)
      v = (v << 8) | bytes[i * 8 + static_cast<std::size_t>(b)];
    times[i] = static_cast<time_ms>(v);
  }
  return times;
}

// The intent keys of one day, each with its row id: what the writer checks an intent's key
// against (schema step 6 dropped the unique key index, whose random leaf writes were half of
// an intent's cost) and where an outcome or intents() finds the intent's row.
// Open addressing with linear probing over packed (mailbox << 32 | slot) keys, and beside each
// key its row id as a 32-bit offset from the day's first one: 12 bytes a position, at most 80%
// of the positions used and grown by half, so 15 to 22.5 bytes a key (a std::unordered_map of
// structs costs ~50 and a pointer chase per probe). 100,000 mailboxes sending 40 a day hold
// ~4M keys a live day, ~75 MB.
class intent_day_keys {
public:
  // The row of a key whose id does not fit in the offset (a day whose rows span 4G ids): the
  // key is known to exist, its row is looked up by SQL.
  static constexpr std::int64_t unknown_row = -1;

  // Adds the key and its row; false (nothing changed) when the key is present already.
  bool insert(mailbox_id m, std::uint32_t slot, std::int64_t row) {
    last_row_ = std::max(last_row_, row);
    auto key = pack(m, slot);
    if (key == free_position) {
      if (all_ones_offset_)
        return false;
      all_ones_offset_ = offset_of(row);
    } else {
      if (keys_.empty())
        grow();
      auto i = position_of(key);
      if (keys_[i] == key)
        return false;
      if ((size_ + 1) * 5 > keys_.size() * 4) {
        grow();
        i = position_of(key);
      }
      keys_[i] = key;
      offsets_[i] = offset_of(row);
    }
    ++size_;
    max_slot_ = std::max(max_slot_, slot);
    return true;
  }

  // The key's row id (unknown_row when it did not fit); nullopt when the key is absent.
  std::optional<std::int64_t> find(mailbox_id m, std::uint32_t slot) const {
    auto key = pack(m, slot);
    std::uint32_t offset = 0;
    if (key == free_position) {
      if (!all_ones_offset_)
        return std::nullopt;
      offset = *all_ones_offset_;
    } else {
      if (keys_.empty())
        return std::nullopt;
      auto i = position_of(key);
      if (keys_[i] != key)
        return std::nullopt;
      offset = offsets_[i];
    }
    return offset == no_offset ? unknown_row : first_row_ + offset;
  }

  std::size_t size() const { return size_; }
  std::size_t bytes() const {
    return keys_.capacity() * sizeof(std::uint64_t) + offsets_.capacity() * sizeof(std::uint32_t);
  }
  // The highest slot held: intents() probes a mailbox's slots up to it.
  std::uint32_t max_slot() const { return max_slot_; }
  // The highest row id seen. Rows are never deleted and SQLite gives a new row an id above
  // every existing one, so the rows another connection adds later all lie above it.
  std::int64_t last_row() const { return last_row_; }

  // The sequence number of the last write call that used the day (the writer keeps the few
  // most recently used days).
  std::uint64_t used = 0;

  // A key as the table holds it (status() sorts due slots by it).
  static std::uint64_t pack(mailbox_id m, std::uint32_t slot) {
    return (std::uint64_t{m} << 32) | slot;
  }

private:
  static constexpr std::uint64_t free_position = ~std::uint64_t{0};
  static constexpr std::uint32_t no_offset = ~std::uint32_t{0};

  // murmur3's finaliser: packed keys differ in few bits; linear probing needs them spread.
  static std::uint64_t mix(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
  }
  // The position holding `key`, or the free one where it would go.
  std::size_t position_of(std::uint64_t key) const {
    __extension__ using wide = unsigned __int128;
    // Capacities are not powers of two (growth by half): the hash is scaled to the range.
    auto i = static_cast<std::size_t>((wide{mix(key)} * keys_.size()) >> 64);
    while (keys_[i] != key && keys_[i] != free_position)
      i = i + 1 == keys_.size() ? 0 : i + 1;
    return i;
  }
  void grow() {
    auto old_keys = std::move(keys_);
    auto old_offsets = std::move(offsets_);
    auto capacity = std::max<std::size_t>(16, old_keys.size() + old_keys.size() / 2);
    keys_.assign(capacity, free_position);
    offsets_.assign(capacity, 0);
    for (std::size_t j = 0; j < old_keys.size(); ++j)
      if (old_keys[j] != free_position) {
        auto i = position_of(old_keys[j]);
        keys_[i] = old_keys[j];
        offsets_[i] = old_offsets[j];
      }
  }
  std::uint32_t offset_of(std::int64_t row) {
    if (first_row_ == unknown_row)
      first_row_ = row;
    if (row < first_row_ || row - first_row_ >= std::int64_t{no_offset})
      return no_offset;
    return static_cast<std::uint32_t>(row - first_row_);
  }

  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> offsets_;
  std::size_t size_ = 0;
  std::int64_t first_row_ = unknown_row;  // row ids SQLite assigns are positive
  std::int64_t last_row_ = 0;
  std::uint32_t max_slot_ = 0;
  // The one key equal to the free marker (mailbox and slot 0xFFFFFFFF) is held aside.
  std::optional<std::uint32_t> all_ones_offset_;
};

// The registry's key: a 64-bit hash of the Message-ID (warmup::stable_hash, XXH64 seed 0:
// stored on disk, never change it), as SQLite's signed integer.
std::int64_t message_hash(std::string_view message_id) {
  return static_cast<std::int64_t>(stable_hash(message_id));
}

// warmup_message_hash(text): message_hash in SQL, for the migration that keys the
// registry by it (and for a person inspecting the file with the store's own binary).
void sql_message_hash(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = sqlite3_value_text(argv[0]);
  auto n = sqlite3_value_bytes(argv[0]);
  if (text == nullptr) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_int64(ctx, message_hash(std::string_view(
                              reinterpret_cast<const char*>(text), static_cast<std::size_t>(n))));
}

std::optional<health_band> parse_health_band(std::string_view s) {
  for (auto b : {health_band::healthy, health_band::watch, health_band::throttle,
                 health_band::pause, health_band::block})
    if (to_string(b) == s)
      return b;
  return std::nullopt;
}

// --- SQL ---------------------------------------------------------------------------
// Each text is a named constant: its content keys the prepared-statement cache.

constexpr std::string_view sql_begin_write = "BEGIN IMMEDIATE";
constexpr std::string_view sql_begin_read = "BEGIN";
constexpr std::string_view sql_commit = "COMMIT";
constexpr std::string_view sql_rollback = "ROLLBACK";

constexpr std::string_view sql_has_version_table =
  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";
constexpr std::string_view sql_create_version_table =
  "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
  "purpose TEXT NOT NULL, applied_at INTEGER NOT NULL)";
constexpr std::string_view sql_read_version =
  "SELECT coalesce(max(version), 0) FROM schema_version";
constexpr std::string_view sql_record_version =
  "INSERT INTO schema_version (version, purpose, applied_at) VALUES (?, ?, ?)";

// The column order here is the order of bind_mailbox / read_mailbox.
#define WARMUP_MAILBOX_COLUMNS                                                          \
  "email, display_name, provider, organisation, timezone, transport, state, "         \
  "created_day, ramp_start, ramp_step, ramp_ceiling, ramp_variance, "                  \
  "ramp_weekdays_only, ramp_weekend_factor, window_start_minute, window_end_minute, "  \
  "window_min_gap_minutes, read_rate, important_rate, star_rate, reply_rate, "         \
  "rescue_rate, max_thread_turns, ramp_preset, ramp_day, throttle_percent, "           \
  "cooldown_until, last_completed, health_band, paused_by_health, created_at, "        \
  "updated_at, smtp_host, smtp_port, smtp_security, imap_host, imap_port, "            \
  "imap_security, login_username, auth_method, oauth_client_id, token_url, ca_file, "  \
  "tls_verify, sealed_secret"

constexpr std::string_view sql_insert_mailbox =
  "INSERT INTO mailboxes (domain, " WARMUP_MAILBOX_COLUMNS ") VALUES (?, "
  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr std::string_view sql_select_mailbox_prefix =
  "SELECT id, " WARMUP_MAILBOX_COLUMNS " FROM mailboxes";
constexpr std::string_view sql_get_mailbox =
  "SELECT id, " WARMUP_MAILBOX_COLUMNS " FROM mailboxes WHERE id = ?";
constexpr std::string_view sql_find_mailbox =
  "SELECT id, " WARMUP_MAILBOX_COLUMNS " FROM mailboxes WHERE email = ?";
#undef WARMUP_MAILBOX_COLUMNS
constexpr std::string_view sql_update_mailbox =
  "UPDATE mailboxes SET display_name = ?, provider = ?, organisation = ?, timezone = ?, "
  "ramp_start = ?, ramp_step = ?, ramp_ceiling = ?, ramp_variance = ?, ramp_weekdays_only = ?, "
  "ramp_weekend_factor = ?, window_start_minute = ?, window_end_minute = ?, "
  "window_min_gap_minutes = ?, read_rate = ?, important_rate = ?, star_rate = ?, reply_rate = ?, "
  "rescue_rate = ?, max_thread_turns = ?, ramp_preset = ?, updated_at = ?, smtp_host = ?, "
  "smtp_port = ?, smtp_security = ?, imap_host = ?, imap_port = ?, imap_security = ?, "
  "login_username = ?, auth_method = ?, oauth_client_id = ?, token_url = ?, ca_file = ?, "
  "tls_verify = ?, sealed_secret = ? WHERE id = ?";
constexpr std::string_view sql_set_state =
  "UPDATE mailboxes SET state = ?, updated_at = max(updated_at, ?) WHERE id = ?";

constexpr std::string_view sql_acquire_lease =
  "INSERT INTO shard_leases (shard, owner, epoch, expires_at) VALUES (?1, ?2, 1, ?3 + ?4) "
  "ON CONFLICT (shard) DO UPDATE SET owner = excluded.owner, epoch = epoch + 1, "
  "expires_at = excluded.expires_at WHERE expires_at <= ?3 OR owner = excluded.owner "
  "RETURNING epoch";
constexpr std::string_view sql_renew_lease =
  "UPDATE shard_leases SET expires_at = ?4 + ?5 "
  "WHERE shard = ?1 AND owner = ?2 AND epoch = ?3 AND expires_at > ?4";
constexpr std::string_view sql_release_lease =
  "UPDATE shard_leases SET expires_at = 0 WHERE shard = ? AND owner = ? AND epoch = ?";
constexpr std::string_view sql_get_lease =
  "SELECT owner, epoch, expires_at FROM shard_leases WHERE shard = ?";
constexpr std::string_view sql_lease_epoch =
  "SELECT epoch FROM shard_leases WHERE shard = ?";
// Changes whenever another connection commits: the cached lease epochs are then reread.
constexpr std::string_view sql_data_version = "PRAGMA data_version";

// No conflict clause: since schema step 6 no index knows the key; the writer inserts only
// a key its day's key table does not hold (see intent_day_keys).
constexpr std::string_view sql_insert_intent =
  "INSERT INTO send_intents (mailbox, day, slot, to_mailbox, message_id, planned_at, "
  "recorded_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')";
// An outcome, once recorded, is final: a later `skipped` for the same key (a late slot
// re-planned after a resume) must never overwrite a `sent`. The row is found by its id,
// held in the writer's key table.
constexpr std::string_view sql_record_outcome =
  "UPDATE send_intents SET status = ?, outcome_at = ?, detail = ? "
  "WHERE id = ? AND status = 'pending'";
// The same for a key whose row id the key table could not hold: the day's part of the
// (day, id, mailbox, slot) index is scanned. Never taken in practice (see unknown_row).
constexpr std::string_view sql_record_outcome_by_key =
  "UPDATE send_intents SET status = ?, outcome_at = ?, detail = ? "
  "WHERE id = (SELECT id FROM send_intents WHERE day = ? AND mailbox = ? AND slot = ?) "
  "AND status = 'pending'";
// A day's keys with their rows after a given id, in id order, from the (day, id, mailbox,
// slot) index alone: loads a day's key table (after 0) and brings it up to date after
// another connection's commit (after the last row it holds).
constexpr std::string_view sql_intent_keys_after =
  "SELECT id, mailbox, slot FROM send_intents WHERE day = ? AND id > ? ORDER BY id";
// The registry index is (day, id_hash), day = the UTC day of sent_at (schema step 5). The
// hash is not unique (two Message-IDs may share one): a Message-ID is registered once per
// day by comparing its text among the rows of its day and hash. Across days uniqueness
// rests on Message-IDs being random (make_message_id); a lookup without the day returns
// the newest day's entry.
constexpr std::string_view sql_insert_registry =
  "INSERT INTO message_registry (day, id_hash, message_id, from_mailbox, to_mailbox, thread, "
  "turn, sent_at, subject, in_reply_to, reference_ids) "
  "SELECT ?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE NOT EXISTS "
  "(SELECT 1 FROM message_registry WHERE day = ?11 AND id_hash = ?1 AND message_id = ?2)";
// A placement that names its message's sent_at finds the row with one seek in that day's
// part of the index.
constexpr std::string_view sql_registry_row_on_day =
  "SELECT id FROM message_registry WHERE day = ? AND id_hash = ? AND message_id = ?";
// A message's last placement replaces the one before.
constexpr std::string_view sql_record_placement =
  "INSERT INTO message_placements (id, placement, rescued, placed_at) VALUES (?, ?, ?, ?) "
  "ON CONFLICT (id) DO UPDATE SET placement = excluded.placement, "
  "rescued = excluded.rescued, placed_at = excluded.placed_at";
constexpr std::string_view sql_add_stats =
  "INSERT INTO day_stats (mailbox, day, planned, sent, inbox, spam, missing, bounces, "
  "replies, received, rescued, skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
  "ON CONFLICT (day, mailbox) DO UPDATE SET planned = planned + excluded.planned, "
  "sent = sent + excluded.sent, inbox = inbox + excluded.inbox, "
  "spam = spam + excluded.spam, missing = missing + excluded.missing, "
  "bounces = bounces + excluded.bounces, replies = replies + excluded.replies, "
  "received = received + excluded.received, rescued = rescued + excluded.rescued, "
  "skipped = skipped + excluded.skipped";
// A removed mailbox stays removed: a shard's late ramp write must not revive it.
constexpr std::string_view sql_update_ramp =
  "UPDATE mailboxes SET ramp_day = ?, throttle_percent = ?, cooldown_until = ?, "
  "last_completed = ?, health_band = ?, paused_by_health = ?, "
  // The user's choices (paused, removed) are changed only by the user (the CLI); the
  // engine owns active / throttled / disconnected.
  "state = CASE WHEN state IN ('removed', 'paused') THEN state ELSE ? END, "
  "updated_at = max(updated_at, ?) WHERE id = ?";
constexpr std::string_view sql_put_plan =
  "INSERT INTO plans (day, mailbox, target, slot_times) VALUES (?, ?, ?, ?) "
  "ON CONFLICT (day, mailbox) DO UPDATE SET target = excluded.target, "
  "slot_times = excluded.slot_times";

// One mailbox's intents of a day. Without a key table for the day (a reader, or a day the
// writer does not hold) the day's part of the (day, id, mailbox, slot) index is scanned for
// the mailbox's ids (no table row is read for the other mailboxes); with one, the rows are
// read by id.
#define WARMUP_INTENT_COLUMNS                                                           \
  "mailbox, day, slot, to_mailbox, message_id, planned_at, recorded_at, status, "      \
  "outcome_at, detail"
constexpr std::string_view sql_intents_of =
  "SELECT " WARMUP_INTENT_COLUMNS " FROM send_intents WHERE id IN "
  "(SELECT id FROM send_intents WHERE day = ?1 AND mailbox = ?2) ORDER BY slot";
constexpr std::string_view sql_intent_by_id =
  "SELECT " WARMUP_INTENT_COLUMNS " FROM send_intents WHERE id = ?";
#undef WARMUP_INTENT_COLUMNS
// Every key of a range of days, from the index alone (start-up's days_between).
constexpr std::string_view sql_intent_keys_between =
  "SELECT mailbox, day, slot FROM send_intents WHERE day BETWEEN ? AND ?";
constexpr std::string_view sql_first_intent_day = "SELECT min(day) FROM send_intents";
constexpr std::string_view sql_last_intent_day = "SELECT max(day) FROM send_intents";
constexpr std::string_view sql_pending_intents =
  "SELECT mailbox, day, slot, to_mailbox, message_id, planned_at, recorded_at "
  "FROM send_intents WHERE status = 'pending' ORDER BY mailbox, day, slot";
// Day stats are keyed (day, mailbox): one seek per day (see stats()).
constexpr std::string_view sql_stats_of =
  "SELECT day, planned, sent, inbox, spam, missing, bounces, replies, received, rescued, "
  "skipped FROM day_stats WHERE day = ? AND mailbox = ?";
constexpr std::string_view sql_first_stats_day = "SELECT min(day) FROM day_stats";
constexpr std::string_view sql_last_stats_day = "SELECT max(day) FROM day_stats";
// The days the registry holds, newest first, one index seek each: the last day, then the
// day before a given one (gaps cost nothing).
constexpr std::string_view sql_last_registry_day =
  "SELECT day FROM message_registry ORDER BY day DESC LIMIT 1";
constexpr std::string_view sql_registry_day_before =
  "SELECT day FROM message_registry WHERE day < ? ORDER BY day DESC LIMIT 1";
constexpr std::string_view sql_find_message_on_day =
  "SELECT id, message_id, from_mailbox, to_mailbox, thread, turn, sent_at, subject, "
  "in_reply_to, reference_ids FROM message_registry "
  "WHERE day = ? AND id_hash = ? AND message_id = ?";
constexpr std::string_view sql_count_messages = "SELECT count(*) FROM message_registry";
constexpr std::string_view sql_get_plan =
  "SELECT target, slot_times FROM plans WHERE day = ? AND mailbox = ?";

constexpr std::string_view sql_mailboxes_by_state =
  "SELECT state, count(*) FROM mailboxes GROUP BY state";
constexpr std::string_view sql_sent_between =
  "SELECT count(*), count(DISTINCT mailbox) FROM send_intents "
  "WHERE status = 'sent' AND outcome_at >= ? AND outcome_at < ?";
constexpr std::string_view sql_placed_between =
  "SELECT placement, count(*) FROM message_placements "
  "WHERE placed_at >= ? AND placed_at < ? GROUP BY placement";
constexpr std::string_view sql_plans_between =
  "SELECT day, mailbox, slot_times FROM plans WHERE day BETWEEN ? AND ?";
constexpr std::string_view sql_plan_records_between =
  "SELECT day, mailbox, target, slot_times FROM plans WHERE day BETWEEN ? AND ?";

// A restarted node registers a higher generation; an older one cannot overwrite it.
constexpr std::string_view sql_register_node =
  "INSERT INTO nodes (id, address, generation, capacity, heartbeat_at) "
  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET address = excluded.address, "
  "generation = excluded.generation, capacity = excluded.capacity, "
  "heartbeat_at = max(heartbeat_at, excluded.heartbeat_at) "
  "WHERE excluded.generation >= generation";
constexpr std::string_view sql_heartbeat =
  "UPDATE nodes SET heartbeat_at = max(heartbeat_at, ?) WHERE id = ? AND generation = ?";
constexpr std::string_view sql_list_nodes =
  "SELECT id, address, generation, capacity, heartbeat_at FROM nodes ORDER BY id";

constexpr std::string_view sql_put_meta =
  "INSERT INTO meta (key, value) VALUES (?, ?) "
  "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
constexpr std::string_view sql_get_meta = "SELECT value FROM meta WHERE key = ?";

// --- connection --------------------------------------------------------------------

class sqlite_store;

// One use of a cached prepared statement: binds left to right, steps, and always resets
// (and unbinds, so no borrowed text outlives the call) when it goes out of scope.
class statement_use {
public:
  statement_use(const sqlite_store& owner, sqlite3_stmt* stmt, const char* purpose)
    : owner_(owner), stmt_(stmt), purpose_(purpose) {}
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  ~statement_use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // Applies `bind` (a group of binds shared by several statements) within a chain.
  template <class F>
  statement_use& then(F&& bind) {
    return bind(*this);
  }
  statement_use& i64(std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, ++next_, v));
    return *this;
  }
  statement_use& real(double v) {
    check(sqlite3_bind_double(stmt_, ++next_, v));
    return *this;
  }
  statement_use& text(std::string_view v) {
    // Never null: an empty std::string_view may carry a null pointer, which binds NULL.
    check(sqlite3_bind_text(stmt_, ++next_, v.empty() ? "" : v.data(),
                            static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  statement_use& blob(std::string_view v) {
    check(v.empty() ? sqlite3_bind_zeroblob(stmt_, ++next_, 0)
                    : sqlite3_bind_blob(stmt_, ++next_, v.data(), static_cast<int>(v.size()),
                                        SQLITE_STATIC));
    return *this;
  }
  // A later bind with an explicit index (for statements that reuse ?N).
  statement_use& at(int index) {
    next_ = index - 1;
    return *this;
  }

  // True while there is a row; false when done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    fail(rc);
  }
  // Raw step for callers that handle a specific error themselves.
  int step_rc() { return sqlite3_step(stmt_); }
  void run() {
    while (step()) {
    }
  }

  std::int64_t col_i64(int c) const { return sqlite3_column_int64(stmt_, c); }
  double col_real(int c) const { return sqlite3_column_double(stmt_, c); }
  bool col_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::string col_text(int c) const {
    auto p = sqlite3_column_text(stmt_, c);
    auto n = sqlite3_column_bytes(stmt_, c);
    return p == nullptr ? std::string{} : std::string(reinterpret_cast<const char*>(p),
                                                       static_cast<std::size_t>(n));
  }
  std::string col_blob(int c) const {
    auto p = sqlite3_column_blob(stmt_, c);
    auto n = sqlite3_column_bytes(stmt_, c);
    return p == nullptr ? std::string{} : std::string(static_cast<const char*>(p),
                                                       static_cast<std::size_t>(n));
  }
  std::vector<time_ms> col_slot_times(int c) const {
    auto p = sqlite3_column_blob(stmt_, c);
    return decode_slot_times(p, sqlite3_column_bytes(stmt_, c));
  }

  [[noreturn]] void fail(int rc) const;
  const char* purpose() const { return purpose_; }

private:
  void check(int rc) const {
    if (rc != SQLITE_OK)
      fail(rc);
  }

  const sqlite_store& owner_;
  sqlite3_stmt* stmt_;
  const char* purpose_;
  int next_ = 0;
};

// The user-owned ramp, window and engagement settings, in the column order the mailbox
// insert and update share.
statement_use& bind_settings(statement_use& q, const mailbox_settings& s) {
  return q.i64(s.ramp.start)
    .real(s.ramp.step)
    .i64(s.ramp.ceiling)
    .real(s.ramp.variance)
    .i64(s.ramp.weekdays_only ? 1 : 0)
    .real(s.ramp.weekend_factor)
    .i64(s.window.start_minute)
    .i64(s.window.end_minute)
    .i64(s.window.min_gap_minutes)
    .real(s.engagement.read_rate)
    .real(s.engagement.important_rate)
    .real(s.engagement.star_rate)
    .real(s.engagement.reply_rate)
    .real(s.engagement.rescue_rate)
    .i64(s.engagement.max_thread_turns);
}

// The account columns and the sealed secret, in the order the insert and update share.
statement_use& bind_account(statement_use& q, const mailbox_record& r) {
  return q.text(r.account.smtp.host)
    .i64(r.account.smtp.port)
    .text(to_string(r.account.smtp.security))
    .text(r.account.imap.host)
    .i64(r.account.imap.port)
    .text(to_string(r.account.imap.security))
    .text(r.account.username)
    .text(to_string(r.account.auth))
    .text(r.account.oauth_client_id)
    .text(r.account.token_url)
    .text(r.account.ca_file)
    .i64(r.account.tls_verify ? 1 : 0)
    .blob(r.sealed_secret);
}

class sqlite_store final : public store {
public:
  sqlite_store(std::string path, bool read_only);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  void migrate() override;
  int schema_version() override;

  mailbox_id add_mailbox(const mailbox_record& r) override;
  bool update_mailbox(const mailbox_record& r) override;
  std::vector<mailbox_id> add_mailboxes(const std::vector<mailbox_record>& rs) override;
  std::optional<mailbox_record> get_mailbox(mailbox_id id) override;
  std::optional<mailbox_record> find_mailbox(const std::string& email) override;
  std::vector<mailbox_record> list_mailboxes(const mailbox_filter& f) override;
  std::uint64_t count_mailboxes(const mailbox_filter& f) override;
  std::vector<mailbox_stamp> mailbox_stamps() override;
  bool set_mailbox_state(mailbox_id id, mailbox_state s) override;
  bool remove_mailbox(mailbox_id id) override;

  std::optional<epoch_t> acquire_lease(shard_id s, const std::string& owner, time_ms now,
                                       time_ms ttl) override;
  bool renew_lease(shard_id s, const std::string& owner, epoch_t epoch, time_ms now,
                   time_ms ttl) override;
  void release_lease(shard_id s, const std::string& owner, epoch_t epoch) override;
  std::optional<lease> get_lease(shard_id s) override;

  bool register_node(const node_info& n) override;
  bool heartbeat(const std::string& node_id, std::uint64_t generation) override;
  std::vector<node_info> list_nodes() override;

  batch_result apply(const write_batch& b) override;
  std::vector<batch_result> apply_many(const std::vector<write_batch>& batches) override;

  std::vector<intent_row> intents(mailbox_id m, day_number from_day,
                                  day_number to_day) override;
  std::vector<send_intent> pending_intents() override;
  std::vector<day_stats> stats(mailbox_id m, day_number from_day, day_number to_day) override;
  std::optional<registry_entry> find_message(const std::string& message_id) override;
  std::uint64_t count_messages() override;
  std::optional<plan_record> plan(mailbox_id m, day_number day) override;
  day_rows days_between(day_number from_day, day_number to_day) override;
  status_summary status(time_ms now, time_ms overdue_grace) override;
  intent_key_memory intent_keys_held() const override;

  void put_meta(const std::string& key, const std::string& value) override;
  std::optional<std::string> get_meta(const std::string& key) override;

  // Called by open_sqlite on a read-only store: the CLI must not read a store it does not
  // understand, and cannot create or upgrade one.
  void require_current_schema();

  [[noreturn]] void fail(const char* purpose, int rc) const;

private:
  friend class transaction;

  // Writes the batches in one transaction, each fenced on its own (a stale one is skipped
  // whole). The rows of all accepted batches are written kind by kind (intents, outcomes,
  // registry, placements, ramps, plans, day stats), each kind sorted by its key: pages are
  // then visited in order (a B-tree page is dirtied once however many rows of the call it
  // takes, and the next row's page is usually the one in cache), and a placement or an
  // outcome finds the registry entry or intent of any batch of the same call. Rows with
  // equal keys keep their call order (stable sorts), so "first registration wins",
  // "first outcome wins" and "last plan wins" hold as before.
  std::vector<batch_result> write_batches(std::span<const write_batch> batches,
                                          const char* purpose);
  // The shard's lease epoch at this moment of the write transaction (nullopt: no lease).
  std::optional<epoch_t> lease_epoch(shard_id s);
  // What this connection keeps of the file (lease epochs, intent key tables) is valid only
  // while no other connection has committed: called in each transaction before that state is
  // used, it drops the epochs and brings the key tables up to date when PRAGMA data_version
  // says another connection wrote.
  void notice_other_connections(const char* purpose);
  // The key table of `day`, loaded from the index the first time (in a write transaction,
  // after notice_other_connections), marked used by the current write call.
  intent_day_keys& intent_day(std::int64_t day);
  // Adds the day's rows above keys.last_row() to `keys`.
  void read_intent_keys_after(std::int64_t day, intent_day_keys& keys, const char* purpose);
  // After a commit: the key tables of all but the few most recently used days are dropped
  // (the live local days are at most three; an old day touched by a late outcome is loaded
  // again if it comes back).
  void keep_recent_intent_days();
  // intents() of one day from its key table; false (nothing added) when the table cannot
  // answer (slots too many to probe, a row id it could not hold).
  bool read_intents_from_keys(mailbox_id m, std::int64_t day, const intent_day_keys& keys,
                              std::vector<intent_row>& out);
  void forget_cached_state() noexcept;
  void write_intents(std::span<const write_batch> batches, const std::vector<std::size_t>& ok,
                     std::vector<batch_result>& results);
  void write_outcomes(std::span<const write_batch> batches, const std::vector<std::size_t>& ok);
  void write_registry(std::span<const write_batch> batches, const std::vector<std::size_t>& ok);
  void write_placements(std::span<const write_batch> batches,
                        const std::vector<std::size_t>& ok);
  // The registry row of a Message-ID whose day is unknown (or not where it was expected):
  // the days present are probed newest first, `skip_day` (already tried) excepted, and the
  // first day holding the text wins; the entry is read into `entry` when given. Cost: two
  // index seeks per day present (next day, then (day, hash)), ~1-2 us each in cache, so a
  // Message-ID that is not registered costs O(days present): ~60 seeks after a month, ~730
  // after a year. Runs in the caller's transaction.
  std::optional<std::int64_t> registry_row_by_probe(std::int64_t hash,
                                                    const std::string& message_id,
                                                    std::optional<std::int64_t> skip_day,
                                                    registry_entry* entry);
  void write_ramps(std::span<const write_batch> batches, const std::vector<std::size_t>& ok);
  void write_plans(std::span<const write_batch> batches, const std::vector<std::size_t>& ok);
  // Day statistics of the accepted batches, summed per (day, mailbox) and written once (a
  // send adds to the same row several times: planned, sent, then inbox or spam).
  void write_stats(std::span<const write_batch> batches, const std::vector<std::size_t>& ok);

  void configure_connection();
  void close_connection() noexcept;
  statement_use use(std::string_view sql, const char* purpose);
  // The cached statement itself, for loops that use it once per row.
  sqlite3_stmt* prepared(std::string_view sql, const char* purpose);
  void exec_script(const std::string& sql, const char* purpose);
  std::int64_t changes() const { return sqlite3_changes64(db_); }
  mailbox_record read_mailbox(const statement_use& q) const;
  void read_intents_of_day(mailbox_id m, std::int64_t day, std::vector<intent_row>& out);
  // An intent row from sql_intents_of / sql_intent_by_id's columns.
  intent_row intent_row_columns(statement_use& q) const;
  std::optional<std::pair<std::int64_t, std::int64_t>>
  days_present(std::string_view sql_first_day, std::string_view sql_last_day,
               day_number from_day, day_number to_day, const char* purpose);
  std::string mailbox_where(const mailbox_filter& f) const;
  void bind_mailbox_filter(statement_use& q, const mailbox_filter& f) const;

  std::string path_;
  bool read_only_;
  sqlite3* db_ = nullptr;
  // Keys view the texts in sql_texts_ (a deque never moves its elements), so a lookup
  // per row in a batch costs a hash, not an allocation.
  std::deque<std::string> sql_texts_;
  std::unordered_map<std::string_view, sqlite3_stmt*> statements_;
  // Lease epochs as last read, so that a small intent commit does not reread one per
  // shard. Valid while no other connection has committed (PRAGMA data_version unchanged,
  // checked inside each write transaction) and cleared by this connection's own lease
  // writes; a shard without a lease is cached as nullopt.
  std::unordered_map<shard_id, std::optional<epoch_t>> epochs_;
  // The intent keys of the days this connection's writes used recently, complete as of
  // data_version_ (plus this connection's own commits). A write or an outcome of a day not
  // held loads it; a rolled back write drops them all.
  std::map<std::int64_t, intent_day_keys> intent_days_;
  std::uint64_t write_calls_ = 0;
  // PRAGMA data_version when the epochs and the key tables were last made current.
  std::int64_t data_version_ = -1;
};

void statement_use::fail(int rc) const {
  owner_.fail(purpose_, rc);
}

// A transaction that rolls back unless committed. Writers take the write lock up front
// (BEGIN IMMEDIATE): upgrading a read transaction later can fail with SQLITE_BUSY in a
// way busy_timeout cannot wait out.
class transaction {
public:
  transaction(sqlite_store& s, bool write, const char* purpose) : store_(s), purpose_(purpose) {
    store_.use(write ? sql_begin_write : sql_begin_read, purpose).run();
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (!done_ && sqlite3_get_autocommit(store_.db_) == 0)
      sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    store_.use(sql_commit, purpose_).run();
    done_ = true;
  }
  void rollback() {
    store_.use(sql_rollback, purpose_).run();
    done_ = true;
  }

private:
  sqlite_store& store_;
  const char* purpose_;
  bool done_ = false;
};

sqlite_store::sqlite_store(std::string path, bool read_only)
  : path_(std::move(path)), read_only_(read_only) {
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "SQLite store '" + path_ + "': cannot open"
                      + (read_only ? " read-only" : "") + ": "
                      + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    if (read_only)
      msg += " (a read-only open needs an existing store: start the node once first)";
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw store_error(msg);
  }
  try {
    configure_connection();
  } catch (...) {
    close_connection();  // the destructor does not run for a throwing constructor
    throw;
  }
}

void sqlite_store::configure_connection() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  if (int rc = sqlite3_create_function_v2(db_, "warmup_message_hash", 1,
                                          SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                          sql_message_hash, nullptr, nullptr, nullptr);
      rc != SQLITE_OK)
    fail("register warmup_message_hash", rc);
  if (!read_only_) {
    // WAL: readers (the CLI) never block the node's writer and vice versa. NORMAL sync in
    // WAL mode: a committed transaction is in the WAL file before COMMIT returns, so it
    // survives the process being killed; only an OS crash can lose the last commits.
    auto mode = use("PRAGMA journal_mode = WAL", "switch to WAL journal mode");
    if (!mode.step())
      fail("switch to WAL journal mode", SQLITE_ERROR);
    auto got = mode.col_text(0);
    if (got != "wal" && got != "memory")
      throw store_error("SQLite store '" + path_ + "': WAL journal mode refused (mode is '"
                        + got + "'); the file system may not support shared memory");
  }
  // cache_size 64 MiB: the hot part of the key indexes stays in memory at 100k mailboxes.
  // wal_autocheckpoint ~40 MiB: a checkpoint (the only fsync under NORMAL) per many
  // batches instead of every few, each page copied once however often it changed;
  // journal_size_limit gives the WAL file's space back after a checkpoint.
  exec_script("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
              "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000; "
              "PRAGMA journal_size_limit = 67108864;",
              "set connection pragmas");
}

sqlite_store::~sqlite_store() {
  close_connection();
}

void sqlite_store::close_connection() noexcept {
  for (auto& [sql, stmt] : statements_)
    sqlite3_finalize(stmt);
  statements_.clear();
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

void sqlite_store::fail(const char* purpose, int rc) const {
  std::string msg = "SQLite store '" + path_ + "': " + purpose + " failed: ";
  // sqlite3_errmsg names the failing constraint or lock, never bound values.
  msg += db_ != nullptr && sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_)
                                                              : sqlite3_errstr(rc);
  if ((rc & 0xFF) == SQLITE_BUSY)
    msg += " (another process held the lock longer than "
           + std::to_string(busy_timeout_ms / 1000) + " s)";
  else if ((rc & 0xFF) == SQLITE_READONLY && read_only_)
    msg += " (the store was opened read-only)";
  throw store_error(msg);
}

statement_use sqlite_store::use(std::string_view sql, const char* purpose) {
  return statement_use(*this, prepared(sql, purpose), purpose);
}

sqlite3_stmt* sqlite_store::prepared(std::string_view sql, const char* purpose) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK)
      fail(purpose, rc);
    const auto& owned = sql_texts_.emplace_back(sql);
    it = statements_.emplace(std::string_view{owned}, stmt).first;
  }
  return it->second;
}

void sqlite_store::exec_script(const std::string& sql, const char* purpose) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    fail(purpose, rc);
}

// --- schema --------------------------------------------------------------------------

int sqlite_store::schema_version() {
  {
    auto q = use(sql_has_version_table, "look for the schema_version table");
    if (!q.step() || q.col_i64(0) == 0)
      return 0;
  }
  auto q = use(sql_read_version, "read the schema version");
  return q.step() ? static_cast<int>(q.col_i64(0)) : 0;
}

void sqlite_store::require_current_schema() {
  int have = schema_version();
  int latest = latest_schema_version();
  if (have > latest)
    throw schema_too_new("SQLite store '" + path_ + "' has schema version "
                         + std::to_string(have) + " but this warmup binary understands up to "
                         + std::to_string(latest) + ": upgrade the warmup binary");
  if (have == 0)
    throw store_error("SQLite store '" + path_
                      + "' has no warmup schema (not created yet): start the node or run "
                        "a command that opens the store for writing first");
  if (have < latest)
    throw store_error("SQLite store '" + path_ + "' has schema version "
                      + std::to_string(have) + ", older than this binary's "
                      + std::to_string(latest)
                      + ": a read-only open cannot upgrade it; start the node to migrate");
}

void sqlite_store::migrate() {
  if (read_only_) {
    require_current_schema();
    return;
  }
  auto steps = sqlite_migrations();
  int latest = latest_schema_version();
  if (steps.empty() || steps.back().version != latest)
    throw store_error("SQLite store: migration list ends at version "
                      + std::to_string(steps.empty() ? 0 : steps.back().version)
                      + " but latest_schema_version() is " + std::to_string(latest));
  int have = schema_version();
  if (have > latest)
    require_current_schema();  // throws schema_too_new with both versions
  for (const auto& step : steps) {
    if (step.version <= have)
      continue;
    std::string purpose = "migrate to schema version " + std::to_string(step.version) + " ("
                          + std::string(step.purpose) + ")";
    transaction tx(*this, true, "begin a migration");
    exec_script(std::string(sql_create_version_table), "create the schema_version table");
    // Another process may have migrated while we waited for the write lock.
    if (schema_version() >= step.version) {
      tx.rollback();
      continue;
    }
    exec_script(std::string(step.sql), purpose.c_str());
    use(sql_record_version, "record the schema version")
      .i64(step.version)
      .text(step.purpose)
      .i64(wall_clock_ms())
      .run();
    tx.commit();
  }
}

// --- mailboxes -----------------------------------------------------------------------

mailbox_record sqlite_store::read_mailbox(const statement_use& q) const {
  mailbox_record r;
  auto& s = r.settings;
  int c = 0;
  s.id = static_cast<mailbox_id>(q.col_i64(c++));
  s.email = q.col_text(c++);
  s.display_name = q.col_text(c++);
  s.provider = q.col_text(c++);
  s.organisation = q.col_text(c++);
  s.timezone = q.col_text(c++);
  auto transport = q.col_text(c++);
  auto state = q.col_text(c++);
  s.created_day = static_cast<day_number>(q.col_i64(c++));
  s.ramp.start = static_cast<int>(q.col_i64(c++));
  s.ramp.step = q.col_real(c++);
  s.ramp.ceiling = static_cast<int>(q.col_i64(c++));
  s.ramp.variance = q.col_real(c++);
  s.ramp.weekdays_only = q.col_i64(c++) != 0;
  s.ramp.weekend_factor = q.col_real(c++);
  s.window.start_minute = static_cast<int>(q.col_i64(c++));
  s.window.end_minute = static_cast<int>(q.col_i64(c++));
  s.window.min_gap_minutes = static_cast<int>(q.col_i64(c++));
  s.engagement.read_rate = q.col_real(c++);
  s.engagement.important_rate = q.col_real(c++);
  s.engagement.star_rate = q.col_real(c++);
  s.engagement.reply_rate = q.col_real(c++);
  s.engagement.rescue_rate = q.col_real(c++);
  s.engagement.max_thread_turns = static_cast<int>(q.col_i64(c++));
  r.ramp_preset = q.col_text(c++);
  r.ramp.ramp_day = static_cast<int>(q.col_i64(c++));
  r.ramp.throttle_percent = static_cast<int>(q.col_i64(c++));
  r.ramp.cooldown_until = static_cast<day_number>(q.col_i64(c++));
  r.ramp.last_completed = static_cast<day_number>(q.col_i64(c++));
  auto band = q.col_text(c++);
  r.ramp.paused_by_health = q.col_i64(c++) != 0;
  r.created_at = q.col_i64(c++);
  r.updated_at = q.col_i64(c++);
  auto& a = r.account;
  a.smtp.host = q.col_text(c++);
  a.smtp.port = static_cast<std::uint16_t>(q.col_i64(c++));
  auto smtp_security = q.col_text(c++);
  a.imap.host = q.col_text(c++);
  a.imap.port = static_cast<std::uint16_t>(q.col_i64(c++));
  auto imap_security = q.col_text(c++);
  a.username = q.col_text(c++);
  auto auth = q.col_text(c++);
  a.oauth_client_id = q.col_text(c++);
  a.token_url = q.col_text(c++);
  a.ca_file = q.col_text(c++);
  a.tls_verify = q.col_i64(c++) != 0;
  r.sealed_secret = q.col_blob(c++);

  auto bad = [&](const char* what, const std::string& value) {
    return store_error("SQLite store '" + path_ + "': mailbox " + std::to_string(s.id)
                       + " has an unknown " + what + " '" + value + "'");
  };
  auto t = parse_transport_kind(transport);
  if (!t)
    throw bad("transport", transport);
  s.transport = *t;
  auto st = parse_mailbox_state(state);
  if (!st)
    throw bad("state", state);
  s.state = *st;
  auto b = parse_health_band(band);
  if (!b)
    throw bad("health band", band);
  r.ramp.band = *b;
  auto ss = parse_mail_security(smtp_security);
  if (!ss)
    throw bad("SMTP security", smtp_security);
  a.smtp.security = *ss;
  auto is = parse_mail_security(imap_security);
  if (!is)
    throw bad("IMAP security", imap_security);
  a.imap.security = *is;
  auto am = parse_auth_method(auth);
  if (!am)
    throw bad("auth method", auth);
  a.auth = *am;
  return r;
}

mailbox_id sqlite_store::add_mailbox(const mailbox_record& r) {
  const auto& s = r.settings;
  if (s.email.empty())
    throw store_error("SQLite store '" + path_ + "': add mailbox: the email is empty");
  const char* purpose = "add mailbox";
  auto q = use(sql_insert_mailbox, purpose);
  q.text(email_domain(s.email))
    .text(s.email)
    .text(s.display_name)
    .text(s.provider)
    .text(s.organisation)
    .text(s.timezone)
    .text(to_string(s.transport))
    .text(to_string(s.state))
    .i64(s.created_day)
    .then([&](statement_use& u) -> statement_use& { return bind_settings(u, s); })
    .text(r.ramp_preset)
    .i64(r.ramp.ramp_day)
    .i64(r.ramp.throttle_percent)
    .i64(r.ramp.cooldown_until)
    .i64(r.ramp.last_completed)
    .text(to_string(r.ramp.band))
    .i64(r.ramp.paused_by_health ? 1 : 0)
    .i64(r.created_at)
    .i64(r.updated_at)
    .then([&](statement_use& u) -> statement_use& { return bind_account(u, r); });
  int rc = q.step_rc();
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    throw duplicate_mailbox("SQLite store '" + path_ + "': mailbox " + s.email
                            + " exists already (emails are compared case-insensitively)");
  if (rc != SQLITE_DONE)
    q.fail(rc);
  auto id = sqlite3_last_insert_rowid(db_);
  if (id <= 0 || id >= static_cast<std::int64_t>(no_mailbox))
    throw store_error("SQLite store '" + path_ + "': add mailbox: id space exhausted");
  return static_cast<mailbox_id>(id);
}

bool sqlite_store::update_mailbox(const mailbox_record& r) {
  const auto& s = r.settings;
  auto q = use(sql_update_mailbox, "update mailbox");
  q.text(s.display_name)
    .text(s.provider)
    .text(s.organisation)
    .text(s.timezone)
    .then([&](statement_use& u) -> statement_use& { return bind_settings(u, s); })
    .text(r.ramp_preset)
    .i64(r.updated_at)
    .then([&](statement_use& u) -> statement_use& { return bind_account(u, r); })
    .i64(s.id);
  int rc = q.step_rc();
  if (rc != SQLITE_DONE)
    q.fail(rc);
  return sqlite3_changes(db_) > 0;
}

// One transaction: a commit per mailbox made a 100k-mailbox demo start take minutes.
std::vector<mailbox_id> sqlite_store::add_mailboxes(const std::vector<mailbox_record>& rs) {
  std::vector<mailbox_id> ids;
  ids.reserve(rs.size());
  transaction tx(*this, true, "begin adding mailboxes");
  for (const auto& r : rs)
    ids.push_back(add_mailbox(r));
  tx.commit();
  return ids;
}

std::optional<mailbox_record> sqlite_store::get_mailbox(mailbox_id id) {
  auto q = use(sql_get_mailbox, "get mailbox by id");
  q.i64(id);
  if (!q.step())
    return std::nullopt;
  return read_mailbox(q);
}

std::optional<mailbox_record> sqlite_store::find_mailbox(const std::string& email) {
  auto q = use(sql_find_mailbox, "find mailbox by email");
  q.text(email);
  if (!q.step())
    return std::nullopt;
  return read_mailbox(q);
}

// A filter names `state` explicitly, or else hides removed mailboxes unless asked.
std::string sqlite_store::mailbox_where(const mailbox_filter& f) const {
  std::string where = " WHERE 1 = 1";
  if (f.state)
    where += " AND state = ?";
  else if (!f.include_removed)
    where += " AND state <> 'removed'";
  if (f.provider)
    where += " AND provider = ?";
  if (f.domain)
    where += " AND domain = ?";
  return where;
}

void sqlite_store::bind_mailbox_filter(statement_use& q, const mailbox_filter& f) const {
  if (f.state)
    q.text(to_string(*f.state));
  if (f.provider)
    q.text(*f.provider);
  if (f.domain)
    q.text(*f.domain);
}

std::vector<mailbox_record> sqlite_store::list_mailboxes(const mailbox_filter& f) {
  auto sql = std::string(sql_select_mailbox_prefix) + mailbox_where(f)
             + " ORDER BY id LIMIT ? OFFSET ?";
  auto q = use(sql, "list mailboxes");
  bind_mailbox_filter(q, f);
  q.i64(clamp_to_i64(f.limit)).i64(clamp_to_i64(f.offset));
  std::vector<mailbox_record> out;
  while (q.step())
    out.push_back(read_mailbox(q));
  return out;
}

std::uint64_t sqlite_store::count_mailboxes(const mailbox_filter& f) {
  auto q = use("SELECT count(*) FROM mailboxes" + mailbox_where(f), "count mailboxes");
  bind_mailbox_filter(q, f);
  return q.step() ? static_cast<std::uint64_t>(q.col_i64(0)) : 0;
}

std::vector<store::mailbox_stamp> sqlite_store::mailbox_stamps() {
  auto q = use("SELECT id, state, updated_at FROM mailboxes ORDER BY id", "list mailbox stamps");
  std::vector<mailbox_stamp> out;
  while (q.step()) {
    auto state = parse_mailbox_state(q.col_text(1));
    if (!state)
      throw store_error("mailbox " + std::to_string(q.col_i64(0)) + " has an unknown state '"
                        + q.col_text(1) + "'");
    out.push_back({static_cast<mailbox_id>(q.col_i64(0)), *state, q.col_i64(2)});
  }
  return out;
}

bool sqlite_store::set_mailbox_state(mailbox_id id, mailbox_state s) {
  use(sql_set_state, "set mailbox state").text(to_string(s)).i64(wall_clock_ms()).i64(id).run();
  return changes() > 0;
}

bool sqlite_store::remove_mailbox(mailbox_id id) {
  use(sql_set_state, "remove mailbox")
    .text(to_string(mailbox_state::removed))
    .i64(wall_clock_ms())
    .i64(id)
    .run();
  return changes() > 0;
}

// --- leases --------------------------------------------------------------------------

// One statement each, so two nodes racing for a shard serialise on the write lock and
// exactly one of them sees its acquire succeed.
std::optional<epoch_t> sqlite_store::acquire_lease(shard_id s, const std::string& owner,
                                                   time_ms now, time_ms ttl) {
  epochs_.erase(s);
  auto q = use(sql_acquire_lease, "acquire shard lease");
  q.i64(s).text(owner).i64(now).i64(ttl);
  if (!q.step())
    return std::nullopt;
  auto epoch = static_cast<epoch_t>(q.col_i64(0));
  q.run();  // finish the statement so the upsert's implicit transaction commits now
  return epoch;
}

bool sqlite_store::renew_lease(shard_id s, const std::string& owner, epoch_t epoch,
                               time_ms now, time_ms ttl) {
  epochs_.erase(s);
  use(sql_renew_lease, "renew shard lease")
    .i64(s)
    .text(owner)
    .i64(static_cast<std::int64_t>(epoch))
    .i64(now)
    .i64(ttl)
    .run();
  return changes() == 1;
}

void sqlite_store::release_lease(shard_id s, const std::string& owner, epoch_t epoch) {
  epochs_.erase(s);
  use(sql_release_lease, "release shard lease")
    .i64(s)
    .text(owner)
    .i64(static_cast<std::int64_t>(epoch))
    .run();
}

std::optional<lease> sqlite_store::get_lease(shard_id s) {
  auto q = use(sql_get_lease, "get shard lease");
  q.i64(s);
  if (!q.step())
    return std::nullopt;
  return lease{s, q.col_text(0), static_cast<epoch_t>(q.col_i64(1)), q.col_i64(2)};
}

// --- node registry -------------------------------------------------------------------

bool sqlite_store::register_node(const node_info& n) {
  use(sql_register_node, "register node")
    .text(n.id)
    .text(n.address)
    .i64(static_cast<std::int64_t>(n.generation))
    .i64(n.capacity)
    .i64(wall_clock_ms())
    .run();
  return changes() == 1;
}

bool sqlite_store::heartbeat(const std::string& node_id, std::uint64_t generation) {
  use(sql_heartbeat, "record node heartbeat")
    .i64(wall_clock_ms())
    .text(node_id)
    .i64(static_cast<std::int64_t>(generation))
    .run();
  return changes() == 1;
}

std::vector<node_info> sqlite_store::list_nodes() {
  auto q = use(sql_list_nodes, "list nodes");
  std::vector<node_info> out;
  while (q.step())
    out.push_back(node_info{q.col_text(0), q.col_text(1),
                            static_cast<std::uint64_t>(q.col_i64(2)),
                            static_cast<std::uint32_t>(q.col_i64(3)), q.col_i64(4)});
  return out;
}

// --- batched writes ------------------------------------------------------------------

batch_result sqlite_store::apply(const write_batch& b) {
  return std::move(write_batches(std::span(&b, 1), "begin write batch").front());
}

std::vector<batch_result> sqlite_store::apply_many(const std::vector<write_batch>& batches) {
  // One transaction for many shards' batches (group commit): a commit costs WAL frames
  // and syncs, rows are cheap.
  return write_batches(batches, "begin grouped write batches");
}

std::optional<epoch_t> sqlite_store::lease_epoch(shard_id s) {
  auto [known, fresh] = epochs_.try_emplace(s);
  if (fresh) {
    auto q = use(sql_lease_epoch, "check the shard lease epoch");
    q.i64(s);
    if (q.step())
      known->second = static_cast<epoch_t>(q.col_i64(0));
  }
  return known->second;
}

std::vector<batch_result> sqlite_store::write_batches(std::span<const write_batch> batches,
                                                      const char* purpose) {
  std::vector<batch_result> results(batches.size());
  transaction tx(*this, true, purpose);
  ++write_calls_;
  // Fencing: a writer must hold the shard's lease at the batch's epoch; checked inside
  // the write transaction, so a concurrent acquire cannot slip in between. Another
  // connection's commit (a lease taken by another process, an intent it wrote) invalidates
  // the cached epochs and extends the key tables.
  try {
    notice_other_connections("check the shard lease epoch");
  } catch (...) {
    forget_cached_state();
    throw;
  }
  std::vector<std::size_t> ok;
  ok.reserve(batches.size());
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto& b = batches[i];
    results[i].intent_inserted.assign(b.intents.size(), false);
    auto epoch = lease_epoch(b.shard);
    if (!epoch || *epoch != b.epoch)
      results[i].stale_epoch = true;  // nothing of this batch is written
    else
      ok.push_back(i);
  }
  try {
    write_intents(batches, ok, results);
    write_outcomes(batches, ok);
    write_registry(batches, ok);
    write_placements(batches, ok);
    write_ramps(batches, ok);
    write_plans(batches, ok);
    write_stats(batches, ok);
    tx.commit();
  } catch (...) {
    // Rolled back (a failed COMMIT too): the key tables hold keys of rows that are not in
    // the file, and what was read of the leases inside it may have been the transaction's
    // own doing (never, today). Both are read again when next needed.
    forget_cached_state();
    throw;
  }
  keep_recent_intent_days();
  return results;
}

void sqlite_store::forget_cached_state() noexcept {
  epochs_.clear();
  intent_days_.clear();
  data_version_ = -1;
}

void sqlite_store::notice_other_connections(const char* purpose) {
  std::int64_t version = -1;
  {
    auto q = use(sql_data_version, purpose);
    if (q.step())
      version = q.col_i64(0);
  }
  if (version == data_version_ && version >= 0)
    return;
  epochs_.clear();
  // Catching up is one index seek per day held when nothing was added to it (a lease
  // renewal, a CLI edit), so a busy second connection costs the writer little.
  for (auto& [day, keys] : intent_days_)
    read_intent_keys_after(day, keys, "bring the intent keys up to date");
  data_version_ = version;
}

intent_day_keys& sqlite_store::intent_day(std::int64_t day) {
  auto [it, fresh] = intent_days_.try_emplace(day);
  if (fresh) {
    try {
      read_intent_keys_after(day, it->second, "load the intent keys of a day");
    } catch (...) {
      intent_days_.erase(it);
      throw;
    }
  }
  it->second.used = write_calls_;
  return it->second;
}

void sqlite_store::read_intent_keys_after(std::int64_t day, intent_day_keys& keys,
                                          const char* purpose) {
  auto q = use(sql_intent_keys_after, purpose);
  q.i64(day).i64(keys.last_row());
  while (q.step())
    keys.insert(static_cast<mailbox_id>(q.col_i64(1)), static_cast<std::uint32_t>(q.col_i64(2)),
                q.col_i64(0));
}

void sqlite_store::keep_recent_intent_days() {
  // Local days run from UTC-12 to UTC+14, so three are live at once; one more keeps a
  // day's table across the hours it is barely used instead of loading it again.
  constexpr std::size_t kept_days = 4;
  while (intent_days_.size() > kept_days) {
    auto oldest_use = std::min_element(intent_days_.begin(), intent_days_.end(),
                                       [](const auto& a, const auto& b) {
                                         return a.second.used < b.second.used;
                                       });
    intent_days_.erase(oldest_use);
  }
}

store::intent_key_memory sqlite_store::intent_keys_held() const {
  intent_key_memory m;
  for (const auto& [day, keys] : intent_days_) {
    ++m.days;
    m.keys += keys.size();
    m.bytes += keys.bytes();
  }
  return m;
}

void sqlite_store::write_intents(std::span<const write_batch> batches,
                                 const std::vector<std::size_t>& ok,
                                 std::vector<batch_result>& results) {
  // In call order, unsorted: rows are appended in id order and the (day, id, ...) index at
  // each day's end whatever the order, and the first of two intents with one key must win.
  const char* purpose = "insert send intent";
  sqlite3_stmt* stmt = nullptr;
  intent_day_keys* keys = nullptr;
  std::int64_t keys_day = 0;
  for (auto i : ok)
    for (std::size_t j = 0; j < batches[i].intents.size(); ++j) {
      const auto& in = batches[i].intents[j];
      if (keys == nullptr || keys_day != in.key.day) {
        keys = &intent_day(in.key.day);   // std::map: loading another day moves none
        keys_day = in.key.day;
      }
      if (keys->find(in.key.mailbox, in.key.slot))
        continue;   // the key exists (in the file, or earlier in this call): not inserted
      if (stmt == nullptr)
        stmt = prepared(sql_insert_intent, purpose);
      statement_use(*this, stmt, purpose)
        .i64(in.key.mailbox)
        .i64(in.key.day)
        .i64(in.key.slot)
        .i64(in.to)
        .text(in.message_id)
        .i64(in.planned_at)
        .i64(in.recorded_at)
        .run();
      keys->insert(in.key.mailbox, in.key.slot, sqlite3_last_insert_rowid(db_));
      results[i].intent_inserted[j] = true;
    }
}

void sqlite_store::write_outcomes(std::span<const write_batch> batches,
                                  const std::vector<std::size_t>& ok) {
  struct row {
    std::int64_t id;
    std::size_t call_order;
    const send_outcome* o;
  };
  std::vector<row> rows;
  std::vector<const send_outcome*> by_key;   // row id not held (see unknown_row)
  for (auto i : ok)
    for (const auto& o : batches[i].outcomes) {
      // An outcome of a day not held (a late reconciliation) loads that day's keys.
      auto id = intent_day(o.key.day).find(o.key.mailbox, o.key.slot);
      if (!id)
        continue;   // no intent with this key: nothing to complete, as before
      if (*id == intent_day_keys::unknown_row)
        by_key.push_back(&o);
      else
        rows.push_back({*id, rows.size(), &o});
    }
  // Row order, so pages are visited once and in order; a key's outcomes in call order, so
  // the first one wins (the next finds the row no longer pending).
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    return std::pair(a.id, a.call_order) < std::pair(b.id, b.call_order);
  });
  const char* purpose = "record send outcome";
  if (!rows.empty()) {
    auto stmt = prepared(sql_record_outcome, purpose);
    for (const auto& r : rows)
      statement_use(*this, stmt, purpose)
        .text(to_string(r.o->status))
        .i64(r.o->at)
        .text(r.o->detail)
        .i64(r.id)
        .run();
  }
  for (const auto* o : by_key)
    use(sql_record_outcome_by_key, purpose)
      .text(to_string(o->status))
      .i64(o->at)
      .text(o->detail)
      .i64(o->key.day)
      .i64(o->key.mailbox)
      .i64(o->key.slot)
      .run();
}

void sqlite_store::write_registry(std::span<const write_batch> batches,
                                  const std::vector<std::size_t>& ok) {
  struct row {
    std::int64_t day;
    std::int64_t hash;
    const registry_entry* e;
  };
  std::vector<row> rows;
  for (auto i : ok)
    for (const auto& e : batches[i].registry)
      rows.push_back({floor_utc_day(e.sent_at), message_hash(e.message_id), &e});
  if (rows.empty())
    return;
  // The index order, (day, id_hash).
  std::stable_sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    return std::pair(a.day, a.hash) < std::pair(b.day, b.hash);
  });
  const char* purpose = "register message id";
  auto stmt = prepared(sql_insert_registry, purpose);
  for (const auto& r : rows)
    statement_use(*this, stmt, purpose)
      .i64(r.hash)
      .text(r.e->message_id)
      .i64(r.e->from)
      .i64(r.e->to)
      .i64(static_cast<std::int64_t>(r.e->thread))
      .i64(r.e->turn)
      .i64(r.e->sent_at)
      .text(r.e->subject)
      .text(r.e->in_reply_to)
      .text(r.e->references)
      .i64(r.day)
      .run();
}

void sqlite_store::write_placements(std::span<const write_batch> batches,
                                    const std::vector<std::size_t>& ok) {
  struct row {
    std::optional<std::int64_t> day;   // of sent_at; nullopt: unknown (sent_at == 0)
    std::int64_t hash;
    std::size_t call_order;
    const placement_update* p;
  };
  std::vector<row> rows;
  for (auto i : ok)
    for (const auto& p : batches[i].placements)
      rows.push_back({p.sent_at != 0 ? std::optional<std::int64_t>(floor_utc_day(p.sent_at))
                                     : std::nullopt,
                      message_hash(p.message_id), rows.size(), &p});
  if (rows.empty())
    return;
  // The index order, (day, id_hash); unknown days first.
  std::stable_sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    return std::pair(a.day, a.hash) < std::pair(b.day, b.hash);
  });
  const char* purpose = "record placement";
  // First the registry rows, in the registry index's order.
  struct placed_row {
    std::int64_t id;
    std::size_t call_order;
    const placement_update* p;
  };
  std::vector<placed_row> found;
  found.reserve(rows.size());
  auto on_day = prepared(sql_registry_row_on_day, purpose);
  for (const auto& r : rows) {
    const auto& p = *r.p;
    std::optional<std::int64_t> id;
    if (r.day) {
      statement_use q(*this, on_day, purpose);
      q.i64(*r.day).i64(r.hash).text(p.message_id);
      if (q.step())
        id = q.col_i64(0);
    }
    // sent_at unknown, or the entry is on another day (a sender's clock or a caller that
    // passed another time): found by probing the days, as find_message does.
    if (!id)
      id = registry_row_by_probe(r.hash, p.message_id, r.day, nullptr);
    if (id)
      found.push_back({*id, r.call_order, &p});   // else not registered: nothing to place
  }
  // Then the placements in row id order; a message's placements in call order (whatever
  // sent_at each named), so the last one wins.
  std::sort(found.begin(), found.end(), [](const placed_row& a, const placed_row& b) {
    return std::pair(a.id, a.call_order) < std::pair(b.id, b.call_order);
  });
  auto stmt = prepared(sql_record_placement, purpose);
  for (const auto& f : found)
    statement_use(*this, stmt, purpose)
      .i64(f.id)
      .text(to_string(f.p->where))
      .i64(f.p->rescued ? 1 : 0)
      .i64(f.p->at)
      .run();
}

std::optional<std::int64_t>
sqlite_store::registry_row_by_probe(std::int64_t hash, const std::string& message_id,
                                    std::optional<std::int64_t> skip_day,
                                    registry_entry* entry) {
  const char* purpose = "find message id";
  auto last_day = prepared(sql_last_registry_day, purpose);
  auto day_before = prepared(sql_registry_day_before, purpose);
  auto on_day = prepared(sql_find_message_on_day, purpose);
  std::optional<std::int64_t> day;
  {
    statement_use q(*this, last_day, purpose);
    if (q.step())
      day = q.col_i64(0);
  }
  while (day) {
    if (day != skip_day) {
      statement_use q(*this, on_day, purpose);
      q.i64(*day).i64(hash).text(message_id);
      if (q.step()) {
        if (entry != nullptr) {
          entry->message_id = q.col_text(1);
          entry->from = static_cast<mailbox_id>(q.col_i64(2));
          entry->to = static_cast<mailbox_id>(q.col_i64(3));
          entry->thread = static_cast<std::uint64_t>(q.col_i64(4));
          entry->turn = static_cast<int>(q.col_i64(5));
          entry->sent_at = q.col_i64(6);
          entry->subject = q.col_text(7);
          entry->in_reply_to = q.col_text(8);
          entry->references = q.col_text(9);
        }
        return q.col_i64(0);
      }
    }
    statement_use q(*this, day_before, purpose);
    q.i64(*day);
    if (q.step())
      day = q.col_i64(0);
    else
      day.reset();
  }
  return std::nullopt;
}

void sqlite_store::write_ramps(std::span<const write_batch> batches,
                               const std::vector<std::size_t>& ok) {
  std::vector<const ramp_update*> rows;
  for (auto i : ok)
    for (const auto& r : batches[i].ramps)
      rows.push_back(&r);
  if (rows.empty())
    return;
  std::stable_sort(rows.begin(), rows.end(), [](const ramp_update* a, const ramp_update* b) {
    return a->mailbox < b->mailbox;
  });
  auto stamp = wall_clock_ms();
  const char* purpose = "update ramp state";
  auto stmt = prepared(sql_update_ramp, purpose);
  for (const auto* r : rows)
    statement_use(*this, stmt, purpose)
      .i64(r->ramp.ramp_day)
      .i64(r->ramp.throttle_percent)
      .i64(r->ramp.cooldown_until)
      .i64(r->ramp.last_completed)
      .text(to_string(r->ramp.band))
      .i64(r->ramp.paused_by_health ? 1 : 0)
      .text(to_string(r->state))
      .i64(stamp)
      .i64(r->mailbox)
      .run();
}

void sqlite_store::write_plans(std::span<const write_batch> batches,
                               const std::vector<std::size_t>& ok) {
  std::vector<const plan_record*> rows;
  for (auto i : ok)
    for (const auto& p : batches[i].plans)
      rows.push_back(&p);
  if (rows.empty())
    return;
  std::stable_sort(rows.begin(), rows.end(), [](const plan_record* a, const plan_record* b) {
    return std::pair(a->day, a->mailbox) < std::pair(b->day, b->mailbox);
  });
  const char* purpose = "store day plan";
  auto stmt = prepared(sql_put_plan, purpose);
  std::string bytes;
  for (const auto* p : rows) {
    bytes = encode_slot_times(p->slot_times);
    statement_use(*this, stmt, purpose)
      .i64(p->day)
      .i64(p->mailbox)
      .i64(p->target)
      .blob(bytes)
      .run();
  }
}

void sqlite_store::write_stats(std::span<const write_batch> batches,
                               const std::vector<std::size_t>& ok) {
  // Keyed as the table is: (day, mailbox).
  std::map<std::pair<day_number, mailbox_id>, day_stats> sums;
  for (auto i : ok)
    for (const auto& d : batches[i].stats) {
      auto [row, added] = sums.try_emplace({d.delta.day, d.mailbox}, d.delta);
      if (!added)
        row->second += d.delta;
    }
  if (sums.empty())
    return;
  const char* purpose = "add day stats";
  auto stmt = prepared(sql_add_stats, purpose);
  for (const auto& [key, d] : sums)
    statement_use(*this, stmt, purpose)
      .i64(key.second)
      .i64(key.first)
      .i64(d.planned)
      .i64(d.sent)
      .i64(d.inbox)
      .i64(d.spam)
      .i64(d.missing)
      .i64(d.bounces)
      .i64(d.replies)
      .i64(d.received)
      .i64(d.rescued)
      .i64(d.skipped)
      .run();
}

// --- reads ---------------------------------------------------------------------------

// [from_day, to_day] clamped to the days a table has rows for (its min and max day), so a
// wide range costs no empty seeks; nullopt when the table is empty.
std::optional<std::pair<std::int64_t, std::int64_t>>
sqlite_store::days_present(std::string_view sql_first_day, std::string_view sql_last_day,
                           day_number from_day, day_number to_day, const char* purpose) {
  std::int64_t first = from_day;
  std::int64_t last = to_day;
  {
    auto q = use(sql_first_day, purpose);
    if (!q.step() || q.col_null(0))
      return std::nullopt;
    first = std::max(first, q.col_i64(0));
  }
  {
    auto q = use(sql_last_day, purpose);
    if (q.step() && !q.col_null(0))
      last = std::min(last, q.col_i64(0));
  }
  return std::make_pair(first, last);
}

std::vector<intent_row> sqlite_store::intents(mailbox_id m, day_number from_day,
                                              day_number to_day) {
  std::vector<intent_row> out;
  transaction tx(*this, false, "begin intents read");
  auto days = days_present(sql_first_intent_day, sql_last_intent_day, from_day, to_day,
                           "find the intent days");
  if (!days)
    return out;
  if (!intent_days_.empty())
    notice_other_connections("bring the intent keys up to date");
  for (auto day = days->first; day <= days->second; ++day) {
    auto held = intent_days_.find(day);
    if (held == intent_days_.end() || !read_intents_from_keys(m, day, held->second, out))
      read_intents_of_day(m, day, out);
  }
  tx.commit();
  return out;
}

// A send intent from a row whose first columns are mailbox, day, slot, to_mailbox,
// message_id, planned_at, recorded_at (sql_intents_of, sql_pending_intents).
send_intent intent_columns(statement_use& q) {
  send_intent in;
  in.key = {static_cast<mailbox_id>(q.col_i64(0)), static_cast<day_number>(q.col_i64(1)),
            static_cast<std::uint32_t>(q.col_i64(2))};
  in.to = static_cast<mailbox_id>(q.col_i64(3));
  in.message_id = q.col_text(4);
  in.planned_at = q.col_i64(5);
  in.recorded_at = q.col_i64(6);
  return in;
}

intent_row sqlite_store::intent_row_columns(statement_use& q) const {
  intent_row row;
  auto& in = row.intent;
  in = intent_columns(q);
  auto status_name = q.col_text(7);
  auto status = parse_intent_status(status_name);
  if (!status)
    throw store_error("SQLite store '" + path_ + "': send intent " + to_string(in.key)
                      + " has an unknown status '" + status_name + "'");
  if (*status != intent_status::pending)
    row.outcome = send_outcome{in.key, *status, q.col_i64(8), q.col_text(9)};
  return row;
}

void sqlite_store::read_intents_of_day(mailbox_id m, std::int64_t day,
                                       std::vector<intent_row>& out) {
  auto q = use(sql_intents_of, "read send intents");
  q.i64(day).i64(m);
  while (q.step())
    out.push_back(intent_row_columns(q));
}

bool sqlite_store::read_intents_from_keys(mailbox_id m, std::int64_t day,
                                          const intent_day_keys& keys,
                                          std::vector<intent_row>& out) {
  // A plan has a few dozen slots; probing each possible one is ~50 ns. A day with a slot
  // number far beyond that (none the engine makes) is read by the index scan instead.
  constexpr std::uint32_t most_probed_slots = 4096;
  if (keys.max_slot() >= most_probed_slots)
    return false;
  std::vector<std::int64_t> ids;
  for (std::uint32_t slot = 0; slot <= keys.max_slot() && keys.size() > 0; ++slot)
    if (auto id = keys.find(m, slot)) {
      if (*id == intent_day_keys::unknown_row)
        return false;
      ids.push_back(*id);
    }
  const char* purpose = "read send intents";
  auto stmt = prepared(sql_intent_by_id, purpose);
  std::vector<intent_row> rows;
  rows.reserve(ids.size());
  for (auto id : ids) {
    statement_use q(*this, stmt, purpose);
    q.i64(id);
    if (!q.step() || q.col_i64(0) != m || q.col_i64(1) != day)
      return false;   // the table disagrees with the file (never expected): ask the file
    rows.push_back(intent_row_columns(q));
  }
  std::move(rows.begin(), rows.end(), std::back_inserter(out));
  return true;
}

std::vector<send_intent> sqlite_store::pending_intents() {
  auto q = use(sql_pending_intents, "read pending send intents");
  std::vector<send_intent> out;
  while (q.step()) {
    out.push_back(intent_columns(q));
  }
  return out;
}

// One index range scan for the intents and one for the plans, instead of the default's
// intents() and plan() per mailbox; the same rows in the same order (by mailbox, then day,
// then slot), as every row's mailbox exists (foreign keys).
store::day_rows sqlite_store::days_between(day_number from_day, day_number to_day) {
  day_rows out;
  transaction tx(*this, false, "begin reading the days' intents and plans");
  {
    auto q = use(sql_intent_keys_between, "read the intent keys of days");
    q.i64(from_day).i64(to_day);
    while (q.step())
      out.intent_keys.push_back({static_cast<mailbox_id>(q.col_i64(0)),
                                 static_cast<day_number>(q.col_i64(1)),
                                 static_cast<std::uint32_t>(q.col_i64(2))});
  }
  std::sort(out.intent_keys.begin(), out.intent_keys.end());
  {
    auto q = use(sql_plan_records_between, "read the plans of days");
    q.i64(from_day).i64(to_day);
    while (q.step())
      out.plans.push_back({static_cast<mailbox_id>(q.col_i64(1)),
                           static_cast<day_number>(q.col_i64(0)),
                           static_cast<int>(q.col_i64(2)), q.col_slot_times(3)});
  }
  std::sort(out.plans.begin(), out.plans.end(), [](const plan_record& a, const plan_record& b) {
    return std::pair(a.mailbox, a.day) < std::pair(b.mailbox, b.day);
  });
  tx.commit();
  return out;
}

std::vector<day_stats> sqlite_store::stats(mailbox_id m, day_number from_day,
                                           day_number to_day) {
  std::vector<day_stats> out;
  transaction tx(*this, false, "begin day stats read");
  auto days = days_present(sql_first_stats_day, sql_last_stats_day, from_day, to_day,
                           "find the days with stats");
  if (!days)
    return out;
  for (auto day = days->first; day <= days->second; ++day) {
    auto q = use(sql_stats_of, "read day stats");
    q.i64(day).i64(m);
    if (!q.step())
      continue;
    day_stats d;
    auto u = [&](int c) { return static_cast<std::uint32_t>(q.col_i64(c)); };
    d.day = static_cast<day_number>(q.col_i64(0));
    d.planned = u(1);
    d.sent = u(2);
    d.inbox = u(3);
    d.spam = u(4);
    d.missing = u(5);
    d.bounces = u(6);
    d.replies = u(7);
    d.received = u(8);
    d.rescued = u(9);
    d.skipped = u(10);
    out.push_back(d);
  }
  tx.commit();
  return out;
}

// The day is not known here: the days present are probed newest first (see
// registry_row_by_probe for the cost), in one read transaction so that the walk sees one
// snapshot of the registry.
std::optional<registry_entry> sqlite_store::find_message(const std::string& message_id) {
  transaction tx(*this, false, "begin message id lookup");
  registry_entry e;
  auto id = registry_row_by_probe(message_hash(message_id), message_id, std::nullopt, &e);
  tx.commit();
  if (!id)
    return std::nullopt;
  return e;
}

std::uint64_t sqlite_store::count_messages() {
  auto q = use(sql_count_messages, "count registered messages");
  return q.step() ? static_cast<std::uint64_t>(q.col_i64(0)) : 0;
}

std::optional<plan_record> sqlite_store::plan(mailbox_id m, day_number day) {
  auto q = use(sql_get_plan, "read day plan");
  q.i64(day).i64(m);
  if (!q.step())
    return std::nullopt;
  return plan_record{m, day, static_cast<int>(q.col_i64(0)), q.col_slot_times(1)};
}

status_summary sqlite_store::status(time_ms now, time_ms overdue_grace) {
  status_summary s;
  s.now = now;
  const day_number today = utc_day_of(now);
  const time_ms lo = static_cast<time_ms>(today) * ms_per_day;
  const time_ms hi = lo + ms_per_day;
  const time_ms due_before = std::min(hi, now - overdue_grace);

  // One read transaction: every figure comes from the same snapshot.
  transaction tx(*this, false, "begin status read");
  {
    auto q = use(sql_mailboxes_by_state, "count mailboxes by state");
    while (q.step()) {
      auto state = parse_mailbox_state(q.col_text(0));
      auto n = static_cast<std::uint64_t>(q.col_i64(1));
      if (state != mailbox_state::removed)
        s.total_mailboxes += n;
      if (state == mailbox_state::active || state == mailbox_state::throttled)
        s.active_mailboxes += n;
    }
  }
  {
    auto q = use(sql_sent_between, "count sends today");
    q.i64(lo).i64(hi);
    if (q.step()) {
      s.sends_today = static_cast<std::uint64_t>(q.col_i64(0));
      s.active_mailboxes_today = static_cast<std::uint64_t>(q.col_i64(1));
    }
  }
  {
    auto q = use(sql_placed_between, "count placements today");
    q.i64(lo).i64(hi);
    while (q.step()) {
      auto where = parse_placement(q.col_text(0));
      auto n = static_cast<std::uint64_t>(q.col_i64(1));
      if (where == placement::inbox)
        s.inbox_today += n;
      else if (where == placement::spam)
        s.spam_today += n;
    }
    if (s.inbox_today + s.spam_today > 0)
      s.inbox_rate_today = static_cast<double>(s.inbox_today)
                           / static_cast<double>(s.inbox_today + s.spam_today);
  }
  {
    // Local days of every time zone that can overlap this UTC day. First the due slots of
    // each day's plans, as packed keys.
    std::map<std::int64_t, std::vector<std::uint64_t>> due_by_day;
    std::uint64_t due_total = 0;
    auto q = use(sql_plans_between, "read plans around today");
    q.i64(today - 1).i64(today + 1);
    while (q.step()) {
      auto times = q.col_slot_times(2);
      auto mailbox = static_cast<mailbox_id>(q.col_i64(1));
      std::vector<std::uint64_t>* due = nullptr;
      for (std::size_t slot = 0; slot < times.size(); ++slot) {
        auto t = times[slot];
        if (t < lo || t >= hi)
          continue;
        ++s.planned_today;
        if (t >= due_before)
          continue;
        if (due == nullptr)
          due = &due_by_day[q.col_i64(0)];
        due->push_back(intent_day_keys::pack(mailbox, static_cast<std::uint32_t>(slot)));
        ++due_total;
      }
    }
    // Then which of them have an intent: the writer's key table when it holds the day, else
    // one scan of the day's part of the (day, id, mailbox, slot) index (a reader such as the
    // CLI or the console), each key looked up among the sorted due ones.
    if (!intent_days_.empty())
      notice_other_connections("bring the intent keys up to date");
    std::uint64_t recorded = 0;
    for (auto& [day, due] : due_by_day) {
      if (auto held = intent_days_.find(day); held != intent_days_.end()) {
        for (auto key : due)
          recorded += held->second.find(static_cast<mailbox_id>(key >> 32),
                                        static_cast<std::uint32_t>(key))
                        .has_value();
        continue;
      }
      std::sort(due.begin(), due.end());
      auto k = use(sql_intent_keys_after, "read the intent keys of a day");
      k.i64(day).i64(0);
      while (k.step())
        recorded += std::binary_search(
          due.begin(), due.end(),
          intent_day_keys::pack(static_cast<mailbox_id>(k.col_i64(1)),
                                static_cast<std::uint32_t>(k.col_i64(2))));
    }
    s.overdue = due_total - std::min(recorded, due_total);
  }
  tx.commit();
  return s;
}

// --- meta ----------------------------------------------------------------------------

void sqlite_store::put_meta(const std::string& key, const std::string& value) {
  use(sql_put_meta, "write meta value").text(key).text(value).run();
}

std::optional<std::string> sqlite_store::get_meta(const std::string& key) {
  auto q = use(sql_get_meta, "read meta value");
  q.text(key);
  if (!q.step())
    return std::nullopt;
  return q.col_text(0);
}

}  // namespace

std::unique_ptr<store> open_sqlite(const std::string& path, bool read_only) {
  auto s = std::make_unique<sqlite_store>(path, read_only);
  if (read_only)
    s->require_current_schema();
  else
    s->migrate();
  return s;
}

}  // namespace warmup::storage
