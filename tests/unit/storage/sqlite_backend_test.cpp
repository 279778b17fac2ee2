// sqlite_backend_test.cpp: runs the store contract on SQLite (a temp file per test) and
// checks what only SQLite has: WAL, pragmas, migration list, read-only opens, errors.
#include "storage/migrations_sqlite.hpp"
#include "store_contract.hpp"
#include "warmup/random.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace warmup::storage::testing {

namespace {

namespace fs = std::filesystem;

// A fresh directory per test, holding store.db and its -wal/-shm companions.
std::string make_temp_store_path() {
  auto pattern = (fs::temp_directory_path() / "warmup-storage-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed for " + pattern);
  return (fs::path(pattern) / "store.db").string();
}

void remove_temp_store(const std::string& path) {
  std::error_code ignored;
  fs::remove_all(fs::path(path).parent_path(), ignored);
}

// A mailbox row as the version 1 binary wrote it (its own column list); VALUES follow.
constexpr const char* insert_v1_mailbox =
  "INSERT INTO mailboxes (email, domain, display_name, provider, organisation, "
  "timezone, transport, state, created_day, ramp_start, ramp_step, ramp_ceiling, "
  "ramp_variance, ramp_weekdays_only, ramp_weekend_factor, window_start_minute, "
  "window_end_minute, window_min_gap_minutes, read_rate, important_rate, star_rate, "
  "reply_rate, rescue_rate, max_thread_turns, ramp_preset, ramp_day, "
  "throttle_percent, cooldown_until, last_completed, health_band, paused_by_health, "
  "created_at, updated_at) VALUES ";

// Two mailboxes of one organisation (a@a.test, b@a.test) as the version 1 binary wrote them.
const std::string insert_two_v1_mailboxes =
  std::string(insert_v1_mailbox)
  + "('a@a.test', 'a.test', 'A', 'gmail', 'a.test', 'UTC', 'sandbox', 'active', 1, 3, "
    "2.0, 40, 0.2, 0, 0.3, 480, 1110, 12, 0.9, 0.15, 0.08, 0.35, 1.0, 4, 'standard', 5, "
    "100, 0, 4, 'healthy', 0, 10, 20), "
    "('b@a.test', 'a.test', 'B', 'gmail', 'a.test', 'UTC', 'sandbox', 'active', 1, 3, "
    "2.0, 40, 0.2, 0, 0.3, 480, 1110, 12, 0.9, 0.15, 0.08, 0.35, 1.0, 4, 'standard', 5, "
    "100, 0, 4, 'healthy', 0, 10, 20);";

// warmup_message_hash(text) as the store registers it (schema step 4 calls it), so that raw
// SQL can run the steps as an older binary did.
void raw_message_hash(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = sqlite3_value_text(argv[0]);
  auto n = static_cast<std::size_t>(sqlite3_value_bytes(argv[0]));
  sqlite3_result_int64(ctx, static_cast<std::int64_t>(stable_hash(
                              std::string_view(reinterpret_cast<const char*>(text), n))));
}

// Raw SQL on the file, behind the store's back.
void exec_raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_create_function_v2(db, "warmup_message_hash", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                             nullptr, raw_message_hash, nullptr, nullptr, nullptr);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  if (rc != SQLITE_OK)
    throw std::runtime_error("raw SQL failed: " + msg);
}

// The first column of the first row, as text ("" when there is none).
std::string query_raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK
      && sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// The registry as these tests read it: each entry with its placement ('unknown', not rescued,
// no placed_at when never placed). Since schema step 5 placements live in their own table.
const std::string placed_registry =
  "(SELECT r.*, coalesce(p.placement, 'unknown') AS placement, coalesce(p.rescued, 0) AS "
  "rescued, p.placed_at AS placed_at FROM message_registry r LEFT JOIN message_placements p "
  "ON p.id = r.id)";

store_backend sqlite_backend() {
  store_backend b;
  b.name = "sqlite";
  b.create_location = make_temp_store_path;
  b.destroy_location = remove_temp_store;
  b.open = [](const std::string& path, bool read_only) { return open_sqlite(path, read_only); };
  b.force_schema_version = [](const std::string& path, int version) {
    exec_raw(path, "INSERT INTO schema_version (version, purpose, applied_at) VALUES ("
                     + std::to_string(version) + ", 'from a newer binary', 0)");
  };
  return b;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(sqlite, store_contract, ::testing::Values(sqlite_backend()),
                         backend_name);

namespace {

// SQLite-only checks, each on its own temp file.
class sqlite_store_test : public ::testing::Test {
protected:
  void SetUp() override { path = make_temp_store_path(); }
  void TearDown() override { remove_temp_store(path); }
  std::string path;
};

bool mentions(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

TEST_F(sqlite_store_test, migration_list_is_ordered_and_ends_at_the_latest_version) {
  auto steps = sqlite_migrations();
  ASSERT_FALSE(steps.empty());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(steps[i].purpose.empty());
    EXPECT_FALSE(steps[i].sql.empty());
  }
  EXPECT_EQ(steps.back().version, store::latest_schema_version());
}

TEST_F(sqlite_store_test, opens_in_wal_mode_and_records_each_migration_once) {
  auto s = open_sqlite(path);
  EXPECT_EQ(query_raw(path, "PRAGMA journal_mode"), "wal");
  s->migrate();
  s.reset();
  s = open_sqlite(path);
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM schema_version"),
            std::to_string(sqlite_migrations().size()));
  EXPECT_EQ(query_raw(path, "SELECT max(version) FROM schema_version"),
            std::to_string(store::latest_schema_version()));
}

TEST_F(sqlite_store_test, foreign_keys_are_enforced_and_errors_say_what_and_where) {
  auto s = open_sqlite(path);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch b;
  b.epoch = 1;
  send_intent in;
  in.key = {424242, 20000, 0};  // no such mailbox
  in.message_id = "<fk@warmup.test>";
  b.intents.push_back(in);
  try {
    s->apply(b);
    FAIL() << "an intent of an unknown mailbox must be refused";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, path)) << e.what();
    EXPECT_TRUE(mentions(e, "insert send intent")) << e.what();
    EXPECT_TRUE(mentions(e, "FOREIGN KEY")) << e.what();
  }
  // The failed batch rolled back and the connection is usable.
  EXPECT_TRUE(s->pending_intents().empty());
  EXPECT_FALSE(s->apply(write_batch{}).stale_epoch);
}

TEST_F(sqlite_store_test, placements_store_rescued_and_placed_at) {
  auto s = open_sqlite(path);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch b;
  registry_entry e;
  e.message_id = "<r@warmup.test>";
  b.registry.push_back(e);
  b.placements.push_back({"<r@warmup.test>", placement::spam, true, 12345});
  ASSERT_FALSE(s->apply(b).stale_epoch);
  EXPECT_EQ(query_raw(path, "SELECT placement || ',' || rescued || ',' || placed_at "
                            "FROM " + placed_registry),
            "spam,1,12345");
}

TEST_F(sqlite_store_test, read_only_open_of_a_missing_file_names_the_path) {
  try {
    open_sqlite(path, true);
    FAIL() << "a missing store must not be created read-only";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, path)) << e.what();
    EXPECT_TRUE(mentions(e, "read-only")) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(sqlite_store_test, read_only_open_of_a_store_without_schema_says_so) {
  exec_raw(path, "CREATE TABLE unrelated (x)");
  try {
    open_sqlite(path, true);
    FAIL() << "a store without schema must be refused read-only";
  } catch (const schema_too_new&) {
    FAIL() << "wrong error type";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, "no warmup schema")) << e.what();
    EXPECT_TRUE(mentions(e, path)) << e.what();
  }
  // And it did not migrate: the table is still missing.
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM sqlite_master WHERE name = 'mailboxes'"),
            "0");
}

TEST_F(sqlite_store_test, read_only_open_works_after_the_writer_closed) {
  {
    auto w = open_sqlite(path);
    w->put_meta("k", "v");
  }
  auto r = open_sqlite(path, true);
  EXPECT_EQ(r->get_meta("k"), "v");
  EXPECT_NO_THROW(r->migrate());  // a check only on a read-only store
  try {
    r->put_meta("k", "w");
    FAIL() << "a read-only store must refuse writes";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, "read-only")) << e.what();
    EXPECT_TRUE(mentions(e, "write meta value")) << e.what();
  }
}

TEST_F(sqlite_store_test, lost_version_rows_are_refused_not_guessed) {
  { open_sqlite(path); }
  // Tables exist but the bookkeeping says version 0: neither open may guess.
  exec_raw(path, "DELETE FROM schema_version");
  EXPECT_THROW(open_sqlite(path, true), store_error);
  try {
    open_sqlite(path);
    FAIL() << "re-running migration 1 over existing tables must fail";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, "migrate to schema version 1")) << e.what();
  }
}

// A store written by the previous binary (schema 1) upgrades in place: its mailboxes
// get an unconfigured account and no secret, and the node registry appears.
TEST_F(sqlite_store_test, a_version_1_store_migrates_to_the_latest_and_keeps_its_mailboxes) {
  auto v1 = sqlite_migrations()[0];
  ASSERT_EQ(v1.version, 1);
  exec_raw(path, std::string(v1.sql)
                   + "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, purpose TEXT "
                     "NOT NULL, applied_at INTEGER NOT NULL);"
                     "INSERT INTO schema_version VALUES (1, 'v1', 0);");
  exec_raw(path,
           std::string(insert_v1_mailbox) + "('old@a.test', 'a.test', 'Old', 'gmail', 'a.test', "
           "'UTC', 'sandbox', 'active', 1, 3, 2.0, 40, 0.2, 0, 0.3, 480, 1110, 12, 0.9, 0.15, "
           "0.08, 0.35, 1.0, 4, 'standard', 5, 100, 0, 4, 'healthy', 0, 10, 20)");
  EXPECT_THROW(open_sqlite(path, true), store_error);  // read-only cannot upgrade
  auto s = open_sqlite(path);
  EXPECT_EQ(s->schema_version(), store::latest_schema_version());
  auto old = s->find_mailbox("old@a.test");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->ramp.ramp_day, 5);
  EXPECT_TRUE(old->account == mail_account{});
  EXPECT_TRUE(old->sealed_secret.empty());
  EXPECT_TRUE(s->register_node({"n1", "h:1", 1, 1, 0}));
  EXPECT_EQ(s->list_nodes().size(), 1u);
}

// The steps up to `version` as an older binary ran them, behind the store's back.
void create_schema_up_to(const std::string& path, int version) {
  std::string sql = "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, purpose TEXT "
                    "NOT NULL, applied_at INTEGER NOT NULL);";
  for (const auto& step : sqlite_migrations()) {
    if (step.version > version)
      break;
    sql += std::string(step.sql) + "INSERT INTO schema_version VALUES ("
           + std::to_string(step.version) + ", 'old', 0);";
  }
  exec_raw(path, sql);
}

std::string hash_text(const std::string& message_id) {
  return std::to_string(static_cast<std::int64_t>(stable_hash(message_id)));
}

// A version 3 store with registry entries (placed and not), day stats and intents (pending
// and finished) upgrades to version 4 (and on to the latest) with nothing lost: every read
// finds what it found, placements and duplicate registrations behave as before, pending
// intents are the same.
TEST_F(sqlite_store_test, a_version_3_store_with_rows_migrates_to_4_and_keeps_every_row) {
  create_schema_up_to(path, 3);
  exec_raw(path,
           insert_two_v1_mailboxes
             + "INSERT INTO message_registry (message_id, from_mailbox, to_mailbox, thread, turn, "
           "sent_at, subject, in_reply_to, reference_ids, placement, rescued, placed_at) VALUES "
           "('<one@a.test>', 1, 2, 11, 1, 100, 'Hello', '', '', 'inbox', 0, 150), "
           "('<two@a.test>', 2, 1, 11, 2, 200, 'Re: Hello', '<one@a.test>', '<one@a.test>', "
           "'unknown', 0, NULL);"
           "INSERT INTO day_stats (mailbox, day, sent, inbox) VALUES (1, 20000, 3, 2), "
           "(1, 20002, 1, 0), (2, 20001, 5, 4);"
           "INSERT INTO send_intents (mailbox, day, slot, to_mailbox, message_id, planned_at, "
           "recorded_at, status, outcome_at, detail) VALUES "
           "(1, 20000, 0, 2, '<one@a.test>', 1, 2, 'sent', 3, ''), "
           "(2, 20001, 0, 1, '<two@a.test>', 4, 5, 'pending', NULL, NULL), "
           "(1, 20001, 1, 2, '<three@a.test>', 6, 7, 'pending', NULL, NULL);");
  auto s = open_sqlite(path);
  EXPECT_EQ(s->schema_version(), store::latest_schema_version());
  EXPECT_EQ(s->count_messages(), 2u);
  auto two = s->find_message("<two@a.test>");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->from, 2u);
  EXPECT_EQ(two->turn, 2);
  EXPECT_EQ(two->subject, "Re: Hello");
  EXPECT_EQ(two->references, "<one@a.test>");
  EXPECT_FALSE(s->find_message("<three@a.test>"));
  // The placement of the first survived; the stored key is the hash of its text.
  EXPECT_EQ(query_raw(path, "SELECT placement || ',' || placed_at || ',' || id_hash FROM "
                            + placed_registry + " WHERE message_id = '<one@a.test>'"),
            "inbox,150," + hash_text("<one@a.test>"));
  auto st = s->stats(1, 19999, 20005);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].day, 20000);
  EXPECT_EQ(st[0].sent, 3u);
  EXPECT_EQ(st[0].inbox, 2u);
  EXPECT_EQ(st[1].day, 20002);
  EXPECT_EQ(s->stats(2, 20001, 20001).at(0).sent, 5u);
  auto pending = s->pending_intents();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, (slot_key{1, 20001, 1}));
  EXPECT_EQ(pending[1].key, (slot_key{2, 20001, 0}));

  // Writes on the migrated rows: a placement finds an old entry, a duplicate registration
  // is ignored, stats add to the old rows, an outcome completes an old pending intent.
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch b;
  registry_entry dup;
  dup.message_id = "<two@a.test>";
  dup.from = 1;
  dup.subject = "not this one";
  b.registry.push_back(dup);
  b.placements.push_back({"<two@a.test>", placement::spam, true, 250});
  day_stats more;
  more.day = 20000;
  more.sent = 1;
  b.stats.push_back({1, more});
  b.outcomes.push_back({{2, 20001, 0}, intent_status::sent, 300, ""});
  ASSERT_FALSE(s->apply(b).stale_epoch);
  EXPECT_EQ(s->count_messages(), 2u);
  EXPECT_EQ(s->find_message("<two@a.test>")->subject, "Re: Hello");
  EXPECT_EQ(query_raw(path, "SELECT placement || ',' || rescued || ',' || placed_at FROM "
                            + placed_registry + " WHERE message_id = '<two@a.test>'"),
            "spam,1,250");
  EXPECT_EQ(s->stats(1, 20000, 20000).at(0).sent, 4u);
  ASSERT_EQ(s->pending_intents().size(), 1u);
  EXPECT_EQ(s->pending_intents()[0].key, (slot_key{1, 20001, 1}));
}

// Two Message-IDs with one hash (forced behind the store's back: a real XXH64 collision is
// not at hand): lookups, placements and registrations compare the text, so neither
// Message-ID ever sees the other's entry.
TEST_F(sqlite_store_test, a_hash_collision_never_returns_or_updates_the_other_entry) {
  { open_sqlite(path); }
  const std::string real = "<real@warmup.test>";
  exec_raw(path, "INSERT INTO message_registry (day, id_hash, message_id, from_mailbox, "
                 "to_mailbox, thread, turn, sent_at, subject, in_reply_to, reference_ids) "
                 "VALUES (0, " + hash_text(real) + ", '<impostor@warmup.test>', 7, 7, 0, 1, 0, "
                 "'impostor', '', '')");
  auto s = open_sqlite(path);
  EXPECT_FALSE(s->find_message(real));  // same hash, other text
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch b;
  b.placements.push_back({real, placement::inbox, false, 10});  // no entry of its own yet
  ASSERT_FALSE(s->apply(b).stale_epoch);
  EXPECT_EQ(query_raw(path, "SELECT placement FROM " + placed_registry), "unknown");
  write_batch reg;
  registry_entry e;
  e.message_id = real;
  e.from = 1;
  e.subject = "real";
  reg.registry.push_back(e);     // registered although its hash is taken
  reg.registry.push_back(e);     // a duplicate in the same batch is ignored
  reg.placements.push_back({real, placement::spam, false, 20});
  ASSERT_FALSE(s->apply(reg).stale_epoch);
  EXPECT_EQ(s->count_messages(), 2u);
  auto found = s->find_message(real);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->subject, "real");
  EXPECT_EQ(query_raw(path, "SELECT group_concat(message_id || ':' || placement, ' ') FROM "
                            "(SELECT * FROM " + placed_registry + " ORDER BY id)"),
            "<impostor@warmup.test>:unknown " + real + ":spam");
}

// The plan SQLite picks for `sql` on the file (EXPLAIN QUERY PLAN's detail lines, joined).
std::string query_plan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr)
      == SQLITE_OK)
    while (sqlite3_step(stmt) == SQLITE_ROW)
      out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3))) + "; ";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

constexpr time_ms registry_day0 = static_cast<time_ms>(20000) * ms_per_day;

registry_entry registered(const std::string& id, time_ms sent_at, const std::string& subject) {
  registry_entry e;
  e.message_id = id;
  e.from = 1;
  e.to = 2;
  e.sent_at = sent_at;
  e.subject = subject;
  return e;
}

placement_update placed_at(const std::string& id, placement where, time_ms at, time_ms sent_at) {
  placement_update p;
  p.message_id = id;
  p.where = where;
  p.at = at;
  p.sent_at = sent_at;
  return p;
}

// "<placement>,<placed_at>" of the registry row with that text on that day ("" when none).
std::string placement_of(const std::string& path, const std::string& id, std::int64_t day) {
  return query_raw(path, "SELECT placement || ',' || coalesce(placed_at, '-') FROM "
                         + placed_registry + " WHERE message_id = '" + id + "' AND day = "
                         + std::to_string(day));
}

// A version 4 store (registry keyed by hash only) upgrades to 5 with each entry's day taken
// from its sent_at, floored for times before 1970, and every entry stays findable: by
// find_message, by a placement naming sent_at and by one without it.
TEST_F(sqlite_store_test, a_version_4_registry_migrates_to_5_with_days_and_stays_findable) {
  create_schema_up_to(path, 4);
  auto row = [](const std::string& id, time_ms sent_at, const std::string& subject) {
    return "(" + hash_text(id) + ", '" + id + "', 1, 2, 7, 1, " + std::to_string(sent_at)
           + ", '" + subject + "', '', '')";
  };
  exec_raw(path, "INSERT INTO message_registry (id_hash, message_id, from_mailbox, to_mailbox, "
                 "thread, turn, sent_at, subject, in_reply_to, reference_ids) VALUES "
                 + row("<a@t>", registry_day0 + 5, "a") + ", "
                 + row("<b@t>", registry_day0 + ms_per_day - 1, "b") + ", "
                 + row("<c@t>", registry_day0 + 3 * ms_per_day, "c") + ", "
                 + row("<d@t>", -1, "d") + ", "
                 + row("<e@t>", -ms_per_day, "e") + ", "
                 + row("<f@t>", 0, "f") + ";"
                 "UPDATE message_registry SET placement = 'spam', placed_at = 77 "
                 "WHERE message_id = '<c@t>';");
  auto s = open_sqlite(path);
  EXPECT_EQ(s->schema_version(), store::latest_schema_version());
  EXPECT_EQ(s->count_messages(), 6u);
  EXPECT_EQ(query_raw(path, "SELECT group_concat(message_id || '=' || day, ' ') FROM "
                            "(SELECT * FROM message_registry ORDER BY id)"),
            "<a@t>=20000 <b@t>=20000 <c@t>=20003 <d@t>=-1 <e@t>=-1 <f@t>=0");
  EXPECT_EQ(query_raw(path, "SELECT group_concat(name, ' ') FROM (SELECT name FROM "
                            "sqlite_master WHERE tbl_name IN ('message_registry', "
                            "'message_placements') AND type = 'index' ORDER BY name)"),
            "message_placements_by_placed_at message_registry_by_day_hash");
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM message_placements"), "1");
  for (std::string id : {"<a@t>", "<b@t>", "<c@t>", "<d@t>", "<e@t>", "<f@t>"}) {
    auto got = s->find_message(id);
    ASSERT_TRUE(got) << id;
    EXPECT_EQ(got->subject, id.substr(1, 1));
  }
  EXPECT_EQ(s->find_message("<c@t>")->sent_at, registry_day0 + 3 * ms_per_day);
  EXPECT_EQ(placement_of(path, "<c@t>", 20003), "spam,77");  // kept

  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch b;
  b.placements.push_back(placed_at("<a@t>", placement::inbox, 100, registry_day0 + 5));
  b.placements.push_back(placed_at("<d@t>", placement::spam, 101, -1));
  b.placements.push_back(placed_at("<b@t>", placement::inbox, 102, 0));  // day unknown
  b.placements.push_back(placed_at("<e@t>", placement::spam, 103, 0));
  ASSERT_FALSE(s->apply(b).stale_epoch);
  EXPECT_EQ(placement_of(path, "<a@t>", 20000), "inbox,100");
  EXPECT_EQ(placement_of(path, "<d@t>", -1), "spam,101");
  EXPECT_EQ(placement_of(path, "<b@t>", 20000), "inbox,102");
  EXPECT_EQ(placement_of(path, "<e@t>", -1), "spam,103");
  EXPECT_EQ(placement_of(path, "<f@t>", 0), "unknown,-");
  // New registrations land on their day beside the migrated ones.
  write_batch r;
  r.registry.push_back(registered("<g@t>", registry_day0 + 3 * ms_per_day + 9, "g"));
  r.registry.push_back(registered("<a@t>", registry_day0 + 6, "a again"));  // same day: kept once
  ASSERT_FALSE(s->apply(r).stale_epoch);
  EXPECT_EQ(s->count_messages(), 7u);
  EXPECT_EQ(s->find_message("<a@t>")->subject, "a");
  EXPECT_EQ(query_raw(path, "SELECT day FROM message_registry WHERE message_id = '<g@t>'"),
            "20003");
}

// A placement whose sent_at names another day than the registered one (a sender's clock
// off, a caller passing another time) still lands, through the probe of the days, and
// changes no other entry.
TEST_F(sqlite_store_test, a_placement_naming_another_day_still_finds_its_entry) {
  auto s = open_sqlite(path);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch r;
  r.registry.push_back(registered("<x@t>", registry_day0 + 10, "x"));
  r.registry.push_back(registered("<y@t>", registry_day0 + ms_per_day + 10, "y"));
  r.registry.push_back(registered("<z@t>", registry_day0 + 2 * ms_per_day, "z"));
  ASSERT_FALSE(s->apply(r).stale_epoch);
  write_batch b;
  // One day late, one day early, and a day no entry has at all.
  b.placements.push_back(placed_at("<x@t>", placement::spam, 50, registry_day0 + ms_per_day));
  b.placements.push_back(placed_at("<y@t>", placement::inbox, 51, registry_day0));
  b.placements.push_back(placed_at("<z@t>", placement::inbox, 52, registry_day0 + 40 * ms_per_day));
  b.placements.push_back(placed_at("<nobody@t>", placement::inbox, 53, registry_day0));
  ASSERT_FALSE(s->apply(b).stale_epoch);
  EXPECT_EQ(placement_of(path, "<x@t>", 20000), "spam,50");
  EXPECT_EQ(placement_of(path, "<y@t>", 20001), "inbox,51");
  EXPECT_EQ(placement_of(path, "<z@t>", 20002), "inbox,52");
  EXPECT_EQ(s->count_messages(), 3u);
  // In one call the last placement of a message wins, whether or not it named the day.
  write_batch twice;
  twice.placements.push_back(placed_at("<x@t>", placement::inbox, 60, 0));
  twice.placements.push_back(placed_at("<x@t>", placement::spam, 61, registry_day0 + 10));
  twice.placements.push_back(placed_at("<y@t>", placement::spam, 62, registry_day0 + ms_per_day));
  twice.placements.push_back(placed_at("<y@t>", placement::inbox, 63, 0));
  ASSERT_FALSE(s->apply(twice).stale_epoch);
  EXPECT_EQ(placement_of(path, "<x@t>", 20000), "spam,61");
  EXPECT_EQ(placement_of(path, "<y@t>", 20001), "inbox,63");
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM message_placements"), "3");
  auto st = s->status(registry_day0 + 1000, 0);  // placed_at 50..63 fall in day 0 (1970)
  EXPECT_EQ(st.inbox_today, 0u);
  st = s->status(100, 0);
  EXPECT_EQ(st.inbox_today, 2u);   // y, z
  EXPECT_EQ(st.spam_today, 1u);    // x
}

// Two Message-IDs with one hash on one day (forced: the impostor holds the real one's hash):
// the day's index seek compares the text, so a placement by sent_at, one without it and
// find_message each reach only their own entry; and a second registration of the same
// text on that day is refused.
TEST_F(sqlite_store_test, a_hash_collision_within_a_day_never_reaches_the_other_entry) {
  { open_sqlite(path); }
  const std::string real = "<real@warmup.test>";
  const time_ms sent = registry_day0 + 4 * ms_per_hour;
  exec_raw(path, "INSERT INTO message_registry (day, id_hash, message_id, from_mailbox, "
                 "to_mailbox, thread, turn, sent_at, subject, in_reply_to, reference_ids) "
                 "VALUES (20000, " + hash_text(real) + ", '<impostor@warmup.test>', 7, 7, 0, 1, "
                 + std::to_string(sent) + ", 'impostor', '', '')");
  auto s = open_sqlite(path);
  EXPECT_FALSE(s->find_message(real));
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch early;
  early.placements.push_back(placed_at(real, placement::inbox, 10, sent));  // not registered
  early.placements.push_back(placed_at(real, placement::inbox, 11, 0));
  ASSERT_FALSE(s->apply(early).stale_epoch);
  EXPECT_EQ(query_raw(path, "SELECT placement FROM " + placed_registry), "unknown");

  write_batch reg;
  reg.registry.push_back(registered(real, sent + 1, "real"));
  reg.registry.push_back(registered(real, sent + 2, "real twice"));  // same day: refused
  ASSERT_FALSE(s->apply(reg).stale_epoch);
  EXPECT_EQ(s->count_messages(), 2u);
  EXPECT_EQ(s->find_message(real)->subject, "real");

  write_batch by_day;
  by_day.placements.push_back(placed_at(real, placement::spam, 20, sent + 1));
  ASSERT_FALSE(s->apply(by_day).stale_epoch);
  EXPECT_EQ(query_raw(path, "SELECT group_concat(message_id || ':' || placement, ' ') FROM "
                            "(SELECT * FROM " + placed_registry + " ORDER BY id)"),
            "<impostor@warmup.test>:unknown " + real + ":spam");
  write_batch no_day;
  no_day.placements.push_back(placed_at(real, placement::inbox, 30, 0));
  ASSERT_FALSE(s->apply(no_day).stale_epoch);
  EXPECT_EQ(query_raw(path, "SELECT group_concat(message_id || ':' || placement, ' ') FROM "
                            "(SELECT * FROM " + placed_registry + " ORDER BY id)"),
            "<impostor@warmup.test>:unknown " + real + ":inbox");
}

// find_message knows no day: it probes the days present newest first (gaps included) and
// finds an entry on any of them. The same text on two days (uniqueness across days rests on
// Message-IDs being random) is two entries; the newest is the one found and placed.
TEST_F(sqlite_store_test, find_message_probes_every_day_present_newest_first) {
  auto s = open_sqlite(path);
  EXPECT_FALSE(s->find_message("<none@t>"));  // an empty registry
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  write_batch r;
  const std::vector<int> days = {-3, 0, 1, 2, 9, 30};   // gaps on purpose
  for (auto d : days)
    r.registry.push_back(registered("<day" + std::to_string(d) + "@t>",
                                    registry_day0 + d * ms_per_day + 7, "on " + std::to_string(d)));
  r.registry.push_back(registered("<twice@t>", registry_day0 + 1 * ms_per_day, "older"));
  r.registry.push_back(registered("<twice@t>", registry_day0 + 9 * ms_per_day, "newer"));
  ASSERT_FALSE(s->apply(r).stale_epoch);
  EXPECT_EQ(s->count_messages(), days.size() + 2);
  for (auto d : days) {
    auto got = s->find_message("<day" + std::to_string(d) + "@t>");
    ASSERT_TRUE(got) << d;
    EXPECT_EQ(got->subject, "on " + std::to_string(d));
    EXPECT_EQ(got->sent_at, registry_day0 + d * ms_per_day + 7);
  }
  EXPECT_FALSE(s->find_message("<day5@t>"));
  EXPECT_EQ(s->find_message("<twice@t>")->subject, "newer");
  write_batch b;
  b.placements.push_back(placed_at("<twice@t>", placement::spam, 5, 0));
  ASSERT_FALSE(s->apply(b).stale_epoch);
  EXPECT_EQ(placement_of(path, "<twice@t>", 20009), "spam,5");
  EXPECT_EQ(placement_of(path, "<twice@t>", 20001), "unknown,-");
  // A read-only connection (the CLI) walks the days the same way.
  EXPECT_EQ(open_sqlite(path, true)->find_message("<day-3@t>")->subject, "on -3");
}

// The point of step 5: registration and a placement naming its day reach the registry
// through the (day, id_hash) index, never by a scan; "placed today" reads an index range.
TEST_F(sqlite_store_test, registry_writes_seek_the_day_and_hash_index) {
  { open_sqlite(path); }
  EXPECT_NE(query_plan(path, "SELECT id FROM message_registry WHERE day = 1 AND id_hash = 2 "
                             "AND message_id = 'x'")
              .find("message_registry_by_day_hash (day=? AND id_hash=?)"),
            std::string::npos);
  EXPECT_NE(query_plan(path, "SELECT placement, count(*) FROM message_placements WHERE "
                             "placed_at >= 1 AND placed_at < 2 GROUP BY placement")
              .find("COVERING INDEX message_placements_by_placed_at (placed_at>? AND "
                    "placed_at<?)"),
            std::string::npos);
  EXPECT_NE(query_plan(path, "SELECT 1 FROM message_registry WHERE day = 1 AND id_hash = 2 "
                             "AND message_id = 'x'")
              .find("message_registry_by_day_hash (day=? AND id_hash=?)"),
            std::string::npos);
  EXPECT_NE(query_plan(path, "SELECT day FROM message_registry WHERE day < 5 ORDER BY day "
                             "DESC LIMIT 1")
              .find("COVERING INDEX message_registry_by_day_hash (day<?)"),
            std::string::npos);
}

// In one call, a placement finds the registry entry and an outcome the intent of another
// batch, whatever the order of the batches (rows are written kind by kind).
TEST_F(sqlite_store_test, a_call_writes_registry_before_placements_and_intents_before_outcomes) {
  auto s = open_sqlite(path);
  mailbox_record r;
  r.settings.email = "x@a.test";
  auto m = s->add_mailbox(r);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  ASSERT_EQ(s->acquire_lease(1, "n", 0, 1000), epoch_t{1});
  std::vector<write_batch> call(2);
  call[0].shard = 0;
  call[0].placements.push_back({"<later@a.test>", placement::inbox, false, 5});
  call[0].outcomes.push_back({{m, 20000, 0}, intent_status::sent, 6, ""});
  call[1].shard = 1;
  registry_entry e;
  e.message_id = "<later@a.test>";
  call[1].registry.push_back(e);
  send_intent in;
  in.key = {m, 20000, 0};
  in.message_id = "<later@a.test>";
  call[1].intents.push_back(in);
  auto results = s->apply_many(call);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].stale_epoch);
  EXPECT_EQ(results[1].intent_inserted, std::vector<bool>{true});
  EXPECT_EQ(query_raw(path, "SELECT placement FROM " + placed_registry), "inbox");
  EXPECT_TRUE(s->pending_intents().empty());
}

// The lease epochs a connection caches are dropped when another connection commits: a
// lease taken over by another process fences this one's next batch.
TEST_F(sqlite_store_test, a_lease_taken_by_another_connection_fences_the_cached_epoch) {
  auto a = open_sqlite(path);
  ASSERT_EQ(a->acquire_lease(3, "a", 0, 1000), epoch_t{1});
  write_batch b;
  b.shard = 3;
  b.epoch = 1;
  b.placements.push_back({"<none@a.test>", placement::inbox, false, 1});
  ASSERT_FALSE(a->apply(b).stale_epoch);  // epoch 1 now cached by `a`
  ASSERT_FALSE(a->apply(b).stale_epoch);
  {
    auto other = open_sqlite(path);
    ASSERT_EQ(other->acquire_lease(3, "b", 2000, 1000), epoch_t{2});  // a's lease expired
  }
  EXPECT_TRUE(a->apply(b).stale_epoch);
  b.epoch = 2;
  EXPECT_FALSE(a->apply(b).stale_epoch);
  // And its own acquire is seen at once.
  ASSERT_EQ(a->acquire_lease(3, "b", 2000, 1000), epoch_t{3});
  EXPECT_TRUE(a->apply(b).stale_epoch);
}

// --- send intents without a key index (schema step 6) ---------------------------------
// The key (mailbox, day, slot) is kept unique by the writer's in-memory key tables, so these
// tests check that the file never gets a second row for a key, whatever the tables saw.

constexpr day_number intent_day0 = 20000;

// `count` mailboxes added to a fresh store at `s`, shards 0 and 1 leased at epoch 1.
std::vector<mailbox_id> add_intent_mailboxes(store& s, std::size_t count) {
  std::vector<mailbox_record> rs(count);
  for (std::size_t i = 0; i < count; ++i)
    rs[i].settings.email = "m" + std::to_string(i) + "@a.test";
  auto ids = s.add_mailboxes(rs);
  if (s.acquire_lease(0, "n", 0, 1000) != epoch_t{1} || s.acquire_lease(1, "n", 0, 1000) != epoch_t{1})
    throw std::runtime_error("lease not acquired at epoch 1");
  return ids;
}

send_intent intent_of(mailbox_id m, day_number day, std::uint32_t slot,
                      const std::string& tag = "") {
  send_intent in;
  in.key = {m, day, slot};
  in.to = m;
  in.message_id = "<" + std::to_string(m) + "." + std::to_string(day) + "." + std::to_string(slot)
                  + tag + "@a.test>";
  in.planned_at = static_cast<time_ms>(day) * ms_per_day + slot;
  in.recorded_at = in.planned_at + 1;
  return in;
}

write_batch intents_batch(shard_id shard, std::vector<send_intent> intents) {
  write_batch b;
  b.shard = shard;
  b.intents = std::move(intents);
  return b;
}

// How many rows of send_intents share a key with another row (0 when the key is unique).
std::string duplicate_key_rows(const std::string& path) {
  return query_raw(path, "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM "
                         "send_intents GROUP BY mailbox, day, slot HAVING n > 1)");
}

TEST_F(sqlite_store_test, an_intent_key_in_the_file_or_earlier_in_the_call_is_refused) {
  auto s = open_sqlite(path);
  auto m = add_intent_mailboxes(*s, 2);
  ASSERT_EQ(s->apply(intents_batch(0, {intent_of(m[0], intent_day0, 0)})).intent_inserted,
            std::vector<bool>{true});
  // One call, two batches: a key in the file, a key twice in one batch, a key in two.
  std::vector<write_batch> call;
  call.push_back(intents_batch(0, {intent_of(m[0], intent_day0, 0, "again"),
                                   intent_of(m[0], intent_day0, 1),
                                   intent_of(m[0], intent_day0, 1, "again")}));
  call.push_back(intents_batch(1, {intent_of(m[0], intent_day0, 1, "third"),
                                   intent_of(m[1], intent_day0, 1),
                                   intent_of(m[0], intent_day0 + 1, 0)}));
  auto results = s->apply_many(call);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].intent_inserted, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(results[1].intent_inserted, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "4");
  EXPECT_EQ(duplicate_key_rows(path), "0");
  // The first intent of a key is the one kept.
  auto rows = s->intents(m[0], intent_day0, intent_day0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].intent.message_id, intent_of(m[0], intent_day0, 0).message_id);
  EXPECT_EQ(rows[1].intent.message_id, intent_of(m[0], intent_day0, 1).message_id);
}

// A restarted process loads a day's keys from the file the first time it writes that day,
// an old day as well as today.
TEST_F(sqlite_store_test, keys_written_before_a_reopen_are_refused_after_it) {
  std::vector<mailbox_id> m;
  {
    auto s = open_sqlite(path);
    m = add_intent_mailboxes(*s, 2);
    ASSERT_FALSE(s->apply(intents_batch(0, {intent_of(m[0], intent_day0, 3),
                                            intent_of(m[1], intent_day0 - 30, 7)}))
                   .stale_epoch);
  }
  auto s = open_sqlite(path);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{2});
  auto b = intents_batch(0, {intent_of(m[0], intent_day0, 3, "again"),
                             intent_of(m[1], intent_day0 - 30, 7, "again"),
                             intent_of(m[0], intent_day0, 4)});
  b.epoch = 2;
  EXPECT_EQ(s->apply(b).intent_inserted, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "3");
  EXPECT_EQ(duplicate_key_rows(path), "0");
}

// An outcome finds its intent through the key table, loaded after a reopen, and completes it
// only while it is pending.
TEST_F(sqlite_store_test, an_outcome_completes_only_a_pending_intent_also_after_a_reopen) {
  std::vector<mailbox_id> m;
  {
    auto s = open_sqlite(path);
    m = add_intent_mailboxes(*s, 1);
    auto b = intents_batch(0, {intent_of(m[0], intent_day0, 0), intent_of(m[0], intent_day0, 1),
                               intent_of(m[0], intent_day0, 2)});
    b.outcomes.push_back({{m[0], intent_day0, 0}, intent_status::sent, 10, ""});
    b.outcomes.push_back({{m[0], intent_day0, 0}, intent_status::failed, 11, "later"});
    ASSERT_FALSE(s->apply(b).stale_epoch);
  }
  auto s = open_sqlite(path);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{2});
  write_batch b;
  b.epoch = 2;
  b.outcomes.push_back({{m[0], intent_day0, 0}, intent_status::skipped, 20, ""});
  b.outcomes.push_back({{m[0], intent_day0, 1}, intent_status::bounced, 21, "550"});
  b.outcomes.push_back({{m[0], intent_day0, 1}, intent_status::skipped, 22, ""});
  b.outcomes.push_back({{m[0], intent_day0, 9}, intent_status::sent, 23, ""});   // no intent
  ASSERT_FALSE(s->apply(b).stale_epoch);
  auto rows = s->intents(m[0], intent_day0, intent_day0);
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].outcome);
  EXPECT_EQ(rows[0].outcome->status, intent_status::sent);
  EXPECT_EQ(rows[0].outcome->at, 10);
  ASSERT_TRUE(rows[1].outcome);
  EXPECT_EQ(rows[1].outcome->status, intent_status::bounced);
  EXPECT_EQ(rows[1].outcome->detail, "550");
  EXPECT_FALSE(rows[2].outcome);
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "3");
}

// Another connection (another process on the same file) that inserts an intent: the writer's
// key table catches up when PRAGMA data_version changes, so it refuses that key and its reads
// return that row.
TEST_F(sqlite_store_test, an_intent_written_by_another_connection_is_refused_and_read) {
  auto a = open_sqlite(path);
  auto m = add_intent_mailboxes(*a, 1);
  ASSERT_EQ(a->apply(intents_batch(0, {intent_of(m[0], intent_day0, 0)})).intent_inserted,
            std::vector<bool>{true});   // a holds the day's keys now
  ASSERT_EQ(a->intents(m[0], intent_day0, intent_day0).size(), 1u);
  {
    auto other = open_sqlite(path);
    ASSERT_EQ(other->apply(intents_batch(1, {intent_of(m[0], intent_day0, 1, "other")}))
                .intent_inserted,
              std::vector<bool>{true});
  }
  auto rows = a->intents(m[0], intent_day0, intent_day0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].intent.message_id, intent_of(m[0], intent_day0, 1, "other").message_id);
  {
    auto other = open_sqlite(path);
    ASSERT_EQ(other->apply(intents_batch(1, {intent_of(m[0], intent_day0, 2, "other")}))
                .intent_inserted,
              std::vector<bool>{true});
  }
  EXPECT_EQ(a->apply(intents_batch(0, {intent_of(m[0], intent_day0, 1),
                                       intent_of(m[0], intent_day0, 2),
                                       intent_of(m[0], intent_day0, 3)}))
              .intent_inserted,
            (std::vector<bool>{false, false, true}));
  EXPECT_EQ(duplicate_key_rows(path), "0");
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "4");
}

// A write that fails after inserting an intent is rolled back: the key it put in the table
// is forgotten with it, so the intent is inserted when it comes again.
TEST_F(sqlite_store_test, a_rolled_back_write_forgets_the_keys_it_inserted) {
  auto s = open_sqlite(path);
  auto m = add_intent_mailboxes(*s, 1);
  auto b = intents_batch(0, {intent_of(m[0], intent_day0, 0), intent_of(m[0] + 100, intent_day0, 0)});
  EXPECT_THROW(s->apply(b), store_error);   // the second names no mailbox (foreign key)
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "0");
  EXPECT_EQ(s->apply(intents_batch(0, {intent_of(m[0], intent_day0, 0)})).intent_inserted,
            std::vector<bool>{true});
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "1");
}

// A version 5 store with intents (pending and finished, several days) upgrades to 6 with every
// row kept; its keys are refused afterwards, its pending intents complete, and its schema is
// a fresh store's.
TEST_F(sqlite_store_test, a_version_5_store_with_intents_migrates_to_6_and_refuses_their_keys) {
  create_schema_up_to(path, 5);
  exec_raw(path,
           insert_two_v1_mailboxes
             + "INSERT INTO send_intents (mailbox, day, slot, to_mailbox, message_id, planned_at, "
           "recorded_at, status, outcome_at, detail) VALUES "
           "(1, 20000, 0, 2, '<one@a.test>', 1, 2, 'sent', 3, ''), "
           "(2, 20001, 0, 1, '<two@a.test>', 4, 5, 'pending', NULL, NULL), "
           "(1, 20001, 1, 2, '<three@a.test>', 6, 7, 'failed', 8, '421'), "
           "(1, 20001, 2, 2, '<four@a.test>', 9, 10, 'pending', NULL, NULL);");
  auto s = open_sqlite(path);
  EXPECT_EQ(s->schema_version(), 6);
  const std::string index_names =
    "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE tbl_name = "
    "'send_intents' AND type = 'index' ORDER BY name)";
  EXPECT_EQ(query_raw(path, index_names),
            "send_intents_by_day send_intents_pending send_intents_sent");
  auto day1 = s->intents(1, 20000, 20001);
  ASSERT_EQ(day1.size(), 3u);
  EXPECT_EQ(day1[0].intent.message_id, "<one@a.test>");
  EXPECT_EQ(day1[0].outcome->status, intent_status::sent);
  EXPECT_EQ(day1[1].outcome->detail, "421");
  EXPECT_FALSE(day1[2].outcome);
  ASSERT_EQ(s->pending_intents().size(), 2u);

  ASSERT_EQ(s->acquire_lease(0, "n", 0, 1000), epoch_t{1});
  auto b = intents_batch(0, {intent_of(1, 20000, 0), intent_of(2, 20001, 0), intent_of(1, 20001, 2),
                             intent_of(2, 20001, 1)});
  b.outcomes.push_back({{2, 20001, 0}, intent_status::sent, 30, ""});
  b.outcomes.push_back({{1, 20000, 0}, intent_status::skipped, 31, ""});
  auto r = s->apply(b);
  EXPECT_EQ(r.intent_inserted, (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM send_intents"), "5");
  EXPECT_EQ(duplicate_key_rows(path), "0");
  EXPECT_EQ(s->intents(2, 20001, 20001).at(0).outcome->status, intent_status::sent);
  EXPECT_EQ(s->intents(1, 20000, 20000).at(0).outcome->at, 3);   // sent stays sent
  ASSERT_EQ(s->pending_intents().size(), 2u);   // (1, 20001, 2) and the new (2, 20001, 1)

  // A fresh store has the same send_intents table and indexes as the migrated one.
  const std::string fresh_path = make_temp_store_path();
  { open_sqlite(fresh_path); }
  const std::string shape = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master "
                            "WHERE tbl_name = 'send_intents' ORDER BY name)";
  EXPECT_EQ(query_raw(fresh_path, shape), query_raw(path, shape));
  EXPECT_EQ(query_raw(fresh_path, index_names), query_raw(path, index_names));
  remove_temp_store(fresh_path);
}

// The key table costs at most 22.5 bytes a key (12 bytes a position, at most 80% used, grown
// by half), and the writer keeps only the few most recently used days; a day dropped is
// loaded again when it comes back, its keys still refused.
TEST_F(sqlite_store_test, the_key_tables_are_compact_and_only_the_recent_days_are_kept) {
  auto s = open_sqlite(path);
  auto m = add_intent_mailboxes(*s, 500);
  constexpr std::uint32_t slots = 40;
  for (std::uint32_t slot = 0; slot < slots; ++slot) {
    std::vector<send_intent> in;
    for (auto id : m)
      in.push_back(intent_of(id, intent_day0, slot));
    ASSERT_FALSE(s->apply(intents_batch(0, std::move(in))).stale_epoch);
  }
  auto held = s->intent_keys_held();
  EXPECT_EQ(held.days, 1u);
  EXPECT_EQ(held.keys, m.size() * slots);
  EXPECT_LE(held.bytes * 2, held.keys * 45) << held.bytes << " bytes for " << held.keys;
  EXPECT_GE(held.bytes, held.keys * 12);

  for (day_number d = intent_day0 + 1; d <= intent_day0 + 5; ++d)
    ASSERT_FALSE(s->apply(intents_batch(0, {intent_of(m[0], d, 0)})).stale_epoch);
  held = s->intent_keys_held();
  EXPECT_EQ(held.days, 4u);
  EXPECT_EQ(held.keys, 4u);   // day0's 20,000 keys were dropped
  EXPECT_EQ(s->apply(intents_batch(0, {intent_of(m[7], intent_day0, 5, "again"),
                                       intent_of(m[7], intent_day0, slots)}))
              .intent_inserted,
            (std::vector<bool>{false, true}));
  EXPECT_EQ(duplicate_key_rows(path), "0");
}

// What the writer answers from its key tables, a reader (that holds none) answers from the
// file alike: intents of each mailbox and day, status, and days_between as the interface's
// default (intents() and plan() per mailbox) would.
TEST_F(sqlite_store_test, readers_and_the_writer_answer_intents_status_and_days_alike) {
  auto s = open_sqlite(path);
  auto m = add_intent_mailboxes(*s, 6);
  const time_ms now = static_cast<time_ms>(intent_day0) * ms_per_day + 12 * ms_per_hour;
  write_batch b;
  for (std::size_t i = 0; i < m.size(); ++i)
    for (day_number d = intent_day0 - 1; d <= intent_day0 + 1; ++d) {
      plan_record p{m[i], d, 6, {}};
      for (std::uint32_t slot = 0; slot < 6; ++slot)
        p.slot_times.push_back(now - 5 * ms_per_hour + slot * ms_per_hour);
      b.plans.push_back(p);
      for (std::uint32_t slot = 0; slot < 6; ++slot)
        if ((i + slot + static_cast<std::size_t>(d)) % 3 != 0) {
          b.intents.push_back(intent_of(m[i], d, (slot * 5) % 6));
          if (slot % 2 == 0)
            b.outcomes.push_back({{m[i], d, (slot * 5) % 6}, intent_status::sent,
                                  now - ms_per_hour + slot, ""});
        }
    }
  ASSERT_FALSE(s->apply(b).stale_epoch);
  auto reader = open_sqlite(path, true);
  for (auto id : m)
    for (day_number d = intent_day0 - 2; d <= intent_day0 + 2; ++d) {
      auto mine = s->intents(id, d, d);
      auto theirs = reader->intents(id, d, d);
      ASSERT_EQ(mine.size(), theirs.size()) << id << " " << d;
      for (std::size_t k = 0; k < mine.size(); ++k) {
        EXPECT_EQ(mine[k].intent.key, theirs[k].intent.key);
        EXPECT_EQ(mine[k].intent.message_id, theirs[k].intent.message_id);
        EXPECT_EQ(mine[k].outcome.has_value(), theirs[k].outcome.has_value());
        if (k > 0) {
          EXPECT_LT(mine[k - 1].intent.key.slot, mine[k].intent.key.slot);
        }
      }
    }
  auto mine = s->status(now, 5 * ms_per_minute);
  auto theirs = reader->status(now, 5 * ms_per_minute);
  EXPECT_GT(mine.overdue, 0u);
  EXPECT_EQ(mine.overdue, theirs.overdue);
  EXPECT_EQ(mine.planned_today, theirs.planned_today);
  EXPECT_EQ(mine.sends_today, theirs.sends_today);
  auto rows = s->days_between(intent_day0 - 1, intent_day0);
  auto expected = s->store::days_between(intent_day0 - 1, intent_day0);
  EXPECT_EQ(rows.intent_keys, expected.intent_keys);
  ASSERT_EQ(rows.plans.size(), expected.plans.size());
  for (std::size_t k = 0; k < rows.plans.size(); ++k) {
    EXPECT_EQ(rows.plans[k].mailbox, expected.plans[k].mailbox);
    EXPECT_EQ(rows.plans[k].day, expected.plans[k].day);
    EXPECT_EQ(rows.plans[k].slot_times, expected.plans[k].slot_times);
  }
  EXPECT_EQ(reader->days_between(intent_day0 - 1, intent_day0).intent_keys, expected.intent_keys);
}

// Loading or catching up a day's keys reads the (day, id, mailbox, slot) index alone.
TEST_F(sqlite_store_test, a_day_of_intent_keys_is_one_range_of_the_day_index) {
  { open_sqlite(path); }
  EXPECT_NE(query_plan(path, "SELECT id, mailbox, slot FROM send_intents WHERE day = 1 AND "
                             "id > 0 ORDER BY id")
              .find("COVERING INDEX send_intents_by_day (day=? AND id>?)"),
            std::string::npos)
    << query_plan(path, "SELECT id, mailbox, slot FROM send_intents WHERE day = 1 AND id > 0 "
                        "ORDER BY id");
}

TEST_F(sqlite_store_test, opening_a_non_database_file_fails_with_the_path) {
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not a database, just some text that is long enough to matter\n", f);
    std::fclose(f);
  }
  try {
    open_sqlite(path);
    FAIL() << "a text file is not a store";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, path)) << e.what();
  }
}

}  // namespace
}  // namespace warmup::storage::testing
