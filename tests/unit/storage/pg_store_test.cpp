// pg_store_test.cpp: what only the PostgreSQL store has: migrations under an advisory
// lock, leases and heartbeats by the DB clock, a connection pool shared by threads,
// passwords kept out of errors; and open_store's choice of backend.
#include "pg_test_server.hpp"

#include "storage/migrations_pg.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

namespace warmup::storage::testing {

namespace {

constexpr day_number day0 = 20000;
constexpr time_ms day0_start = static_cast<time_ms>(day0) * ms_per_day;

bool mentions(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

// A fresh database per test: migrated (the default) or empty.
class pg_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      url = create_pg_database(migrated_database());
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  void TearDown() override {
    if (!url.empty())
      drop_pg_database(url);
  }
  virtual bool migrated_database() const { return true; }
  std::unique_ptr<store> open(lease_clock clock = lease_clock::database) {
    postgres_options o;
    o.leases = clock;
    return open_postgres(url, o);
  }
  // The DB clock, in ms since the Unix epoch.
  time_ms db_now() {
    return std::stoll(pg_exec(url, "SELECT (floor(extract(epoch FROM now()) * 1000))::bigint"));
  }
  std::string url;
};

class pg_empty_database_test : public pg_store_test {
protected:
  bool migrated_database() const override { return false; }
};

mailbox_record mailbox(const std::string& email) {
  mailbox_record r;
  r.settings.email = email;
  r.settings.provider = "gmail";
  r.settings.organisation = std::string(email_domain(email));
  return r;
}

send_intent intent(mailbox_id m, std::uint32_t slot, mailbox_id to) {
  send_intent in;
  in.key = {m, day0, slot};
  in.to = to;
  in.message_id = "<" + to_string(in.key) + "@pg.test>";
  in.planned_at = day0_start + slot;
  in.recorded_at = day0_start + slot + 1;
  return in;
}

// --- migrations --------------------------------------------------------------------------

TEST(pg_migrations, list_is_ordered_and_ends_at_the_latest_version) {
  auto steps = postgres_migrations();
  ASSERT_FALSE(steps.empty());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(steps[i].purpose.empty());
    EXPECT_FALSE(steps[i].sql.empty());
  }
  EXPECT_EQ(steps.back().version, store::latest_schema_version());
}

TEST_F(pg_empty_database_test, a_fresh_database_is_migrated_once_and_reopening_adds_nothing) {
  EXPECT_EQ(pg_exec(url, "SELECT to_regclass('schema_version') IS NULL"), "t");
  {
    auto s = open();
    EXPECT_EQ(s->schema_version(), store::latest_schema_version());
    s->migrate();
    s->put_meta("k", "v");
  }
  auto s = open();
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM schema_version"),
            std::to_string(postgres_migrations().size()));
  EXPECT_EQ(pg_exec(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                         "schema_version"),
            "1,2,3,4,5,6");
  EXPECT_EQ(s->get_meta("k"), "v");
}

// A database left at version 2 by an older binary, with finished and pending intents over
// several days: version 3 keeps every row and outcome, start-up still finds exactly the
// pending intents (through the day counts the step builds), and new outcomes land.
TEST_F(pg_empty_database_test, a_v2_database_with_pending_and_finished_intents_migrates_to_v3) {
  pg_exec(url, "CREATE TABLE schema_version (version integer PRIMARY KEY, purpose text NOT "
               "NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& step : postgres_migrations()) {
    if (step.version > 2)
      break;
    pg_exec(url, std::string(step.sql));
    pg_exec(url, "INSERT INTO schema_version (version, purpose) VALUES ("
                   + std::to_string(step.version) + ", 'v" + std::to_string(step.version) + "')");
  }
  // (day, mailbox, slot, status, outcome_at): 7 and 8 are pending, on different days.
  pg_exec(url, "INSERT INTO send_intents (day, mailbox, slot, to_mailbox, message_id, "
               "planned_at, recorded_at, status, outcome_at, detail) VALUES "
               "(" + std::to_string(day0 - 9) + ", 7, 0, 8, '<a@t>', 1, 2, 'sent', 3, ''), "
               "(" + std::to_string(day0 - 9) + ", 8, 0, 7, '<b@t>', 1, 2, 'failed', 4, 'no'), "
               "(" + std::to_string(day0 - 1) + ", 7, 1, 8, '<c@t>', 5, 6, 'pending', NULL, NULL), "
               "(" + std::to_string(day0) + ", 8, 1, 7, '<d@t>', 7, 8, 'pending', NULL, NULL), "
               "(" + std::to_string(day0) + ", 7, 2, 8, '<e@t>', " + std::to_string(day0_start + 5)
               + ", " + std::to_string(day0_start + 6) + ", 'sent', "
               + std::to_string(day0_start + 7) + ", '')");
  auto s = open();   // migrates
  EXPECT_EQ(s->schema_version(), store::latest_schema_version());
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents"), "5");
  auto pending = s->pending_intents();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, (slot_key{7, day0 - 1, 1}));
  EXPECT_EQ(pending[0].message_id, "<c@t>");
  EXPECT_EQ(pending[1].key, (slot_key{8, day0, 1}));
  auto old_rows = s->intents(8, day0 - 9, day0);
  ASSERT_EQ(old_rows.size(), 2u);
  ASSERT_TRUE(old_rows[0].outcome.has_value());
  EXPECT_EQ(old_rows[0].outcome->status, intent_status::failed);
  EXPECT_EQ(old_rows[0].outcome->at, 4);
  EXPECT_EQ(old_rows[0].outcome->detail, "no");
  EXPECT_FALSE(old_rows[1].outcome.has_value());
  EXPECT_EQ(s->status(day0_start + ms_per_hour, 0).sends_today, 1u);

  // An outcome for a migrated pending intent lands; one for a finished intent does not.
  auto epoch = *s->acquire_lease(0, "node-a", 0, ms_per_day);
  write_batch b;
  b.shard = 0;
  b.epoch = epoch;
  b.outcomes.push_back({{7, day0 - 1, 1}, intent_status::skipped, 99, "reconciled"});
  b.outcomes.push_back({{7, day0 - 9, 0}, intent_status::bounced, 99, "late"});
  ASSERT_FALSE(s->apply(b).stale_epoch);
  pending = s->pending_intents();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].key, (slot_key{8, day0, 1}));
  auto first = s->intents(7, day0 - 9, day0 - 9);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(first[0].outcome.has_value());
  EXPECT_EQ(first[0].outcome->status, intent_status::sent);
}

TEST_F(pg_empty_database_test, read_only_open_of_an_empty_database_says_there_is_no_schema) {
  postgres_options o;
  o.read_only = true;
  try {
    open_postgres(url, o);
    FAIL() << "a read-only open must not create a schema";
  } catch (const schema_too_new&) {
    FAIL() << "wrong error type";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, "no warmup schema")) << e.what();
  }
  EXPECT_EQ(pg_exec(url, "SELECT to_regclass('mailboxes') IS NULL"), "t");
}

// Three nodes starting at once against an empty database: they queue on the advisory
// lock, one applies every step, the others find the schema current. Each version is
// recorded once and no open fails (a second CREATE TABLE would).
TEST_F(pg_empty_database_test, three_concurrent_openers_migrate_exactly_once) {
  constexpr int openers = 3;
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::vector<std::string> errors(openers);
  std::vector<std::thread> threads;
  for (int i = 0; i < openers; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < openers)
        std::this_thread::yield();
      try {
        auto s = open();
        if (s->schema_version() != store::latest_schema_version())
          ++failures;
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
        ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0) << errors[0] << " | " << errors[1] << " | " << errors[2];
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM schema_version"),
            std::to_string(postgres_migrations().size()));
  EXPECT_EQ(pg_exec(url, "SELECT count(DISTINCT version) FROM schema_version"),
            std::to_string(postgres_migrations().size()));
  // All steps came from one transaction (one opener did the work).
  EXPECT_EQ(pg_exec(url, "SELECT count(DISTINCT applied_at) FROM schema_version"), "1");
}

TEST_F(pg_store_test, a_newer_schema_is_refused_by_writable_and_read_only_opens) {
  pg_exec(url, "INSERT INTO schema_version (version, purpose) VALUES (99, 'future')");
  try {
    open();
    FAIL() << "schema 99 must be refused";
  } catch (const schema_too_new& e) {
    EXPECT_TRUE(mentions(e, "99")) << e.what();
    EXPECT_TRUE(mentions(e, "upgrade the warmup binary")) << e.what();
  }
  postgres_options ro;
  ro.read_only = true;
  EXPECT_THROW(open_postgres(url, ro), schema_too_new);
}

// --- leases and the DB clock ---------------------------------------------------------------

TEST_F(pg_store_test, leases_expire_by_the_db_clock_and_a_steal_increments_the_epoch) {
  auto s = open(lease_clock::database);
  // Long enough that a loaded machine (CI runs suites side by side) cannot let the lease
  // lapse between two statements; the renewal below shortens it to wait for its expiry.
  constexpr time_ms ttl = 30'000;
  constexpr time_ms short_ttl = 300;
  auto before = db_now();
  // The caller's `now` is ignored: 0 here, absurd values below.
  ASSERT_EQ(s->acquire_lease(5, "node-a", 0, ttl), epoch_t{1});
  auto l = s->get_lease(5);
  ASSERT_TRUE(l);
  EXPECT_GE(l->expires_at, before + ttl);
  EXPECT_LE(l->expires_at, db_now() + ttl);
  // A node whose clock runs far ahead cannot steal a live lease.
  EXPECT_FALSE(s->acquire_lease(5, "node-b", time_ms{1} << 60, ttl));
  EXPECT_FALSE(s->renew_lease(5, "node-a", 2, 0, ttl));  // wrong epoch
  EXPECT_FALSE(s->renew_lease(5, "node-b", 1, 0, ttl));  // not the owner
  auto renewed_at = db_now();
  EXPECT_TRUE(s->renew_lease(5, "node-a", 1, 0, short_ttl));
  EXPECT_GE(s->get_lease(5)->expires_at, renewed_at + short_ttl);

  // The owner stops renewing: once the DB clock passes expires_at the lease is free.
  auto expires = s->get_lease(5)->expires_at;
  while (db_now() <= expires)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // A node whose clock runs behind cannot keep an expired lease alive.
  EXPECT_FALSE(s->renew_lease(5, "node-a", 1, 0, ttl));
  ASSERT_EQ(s->acquire_lease(5, "node-b", 0, 60'000), epoch_t{2});
  EXPECT_EQ(s->get_lease(5)->owner, "node-b");
  EXPECT_FALSE(s->acquire_lease(5, "node-a", 0, ttl));

  // The old owner's write is fenced off whole; the new owner's goes through.
  auto m = s->add_mailbox(mailbox("m@pg.test"));
  write_batch stale;
  stale.shard = 5;
  stale.epoch = 1;
  stale.intents.push_back(intent(m, 0, m));
  stale.stats.push_back({m, day_stats{day0, 1}});
  stale.plans.push_back({m, day0, 1, {day0_start}});
  stale.ramps.push_back({m, ramp_state{9}, mailbox_state::throttled});
  registry_entry e;
  e.message_id = "<stale@pg.test>";
  stale.registry.push_back(e);
  auto r = s->apply(stale);
  EXPECT_TRUE(r.stale_epoch);
  EXPECT_EQ(r.intent_inserted, std::vector<bool>{false});
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents"), "0");
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM day_stats"), "0");
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM plans"), "0");
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM message_registry"), "0");
  EXPECT_EQ(s->get_mailbox(m)->ramp.ramp_day, 0);
  stale.epoch = 2;
  r = s->apply(stale);
  EXPECT_FALSE(r.stale_epoch);
  EXPECT_EQ(r.intent_inserted, std::vector<bool>{true});
  EXPECT_EQ(s->get_mailbox(m)->ramp.ramp_day, 9);

  // Released: free at once, epoch kept until the next acquire.
  s->release_lease(5, "node-b", 2);
  EXPECT_EQ(s->get_lease(5)->epoch, 2u);
  EXPECT_EQ(s->acquire_lease(5, "node-c", 0, ttl), epoch_t{3});
}

TEST_F(pg_store_test, heartbeats_are_stamped_by_the_db_clock) {
  auto s = open();
  auto before = db_now();
  ASSERT_TRUE(s->register_node({"n1", "10.0.0.1:4242", 3, 2, 0}));
  auto first = s->list_nodes().at(0).heartbeat_at;
  EXPECT_GE(first, before);
  EXPECT_LE(first, db_now());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(s->heartbeat("n1", 3));
  auto second = s->list_nodes().at(0).heartbeat_at;
  EXPECT_GT(second, first);
  EXPECT_FALSE(s->heartbeat("n1", 2));
  EXPECT_EQ(s->list_nodes().at(0).heartbeat_at, second);
}

// --- writes --------------------------------------------------------------------------------

// apply_many merges batches into multi-row statements; the result must equal applying
// them one by one, also when an outcome arrives in an earlier batch than its intent.
TEST_F(pg_store_test, apply_many_matches_one_by_one_when_an_outcome_precedes_its_intent) {
  auto s = open(lease_clock::caller);
  ASSERT_EQ(s->acquire_lease(0, "n", 0, time_ms{1} << 60), epoch_t{1});
  auto m = s->add_mailbox(mailbox("m@pg.test"));
  std::vector<write_batch> batches(3);
  for (auto& b : batches)
    b.epoch = 1;
  batches[0].outcomes.push_back({{m, day0, 0}, intent_status::sent, day0_start + 1, ""});
  batches[0].placements.push_back({"<late@pg.test>", placement::inbox, false, day0_start + 2});
  batches[1].intents.push_back(intent(m, 0, m));
  registry_entry e;
  e.message_id = "<late@pg.test>";
  batches[1].registry.push_back(e);
  batches[2].outcomes.push_back({{m, day0, 0}, intent_status::failed, day0_start + 3, "421"});
  batches[2].outcomes.push_back({{m, day0, 0}, intent_status::sent, day0_start + 4, ""});
  auto results = s->apply_many(batches);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].intent_inserted, std::vector<bool>{true});
  auto rows = s->intents(m, day0, day0);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(rows[0].outcome);
  // Batch 0's outcome found no intent; batch 2's first outcome is final.
  EXPECT_EQ(rows[0].outcome->status, intent_status::failed);
  EXPECT_EQ(rows[0].outcome->detail, "421");
  EXPECT_EQ(s->status(day0_start + 10, 0).inbox_today, 0u);  // the early placement missed
}

// The store gateway and the console's reader call one store from several threads.
TEST_F(pg_store_test, one_store_serves_concurrent_threads_through_its_pool) {
  postgres_options o;
  o.leases = lease_clock::caller;
  o.max_connections = 3;
  auto s = open_postgres(url, o);
  constexpr int threads = 6;
  constexpr std::uint32_t per_thread = 40;
  std::vector<mailbox_id> ms;
  for (int t = 0; t < threads; ++t) {
    ms.push_back(s->add_mailbox(mailbox("t" + std::to_string(t) + "@pg.test")));
    ASSERT_EQ(s->acquire_lease(static_cast<shard_id>(t), "n", 0, time_ms{1} << 60), epoch_t{1});
  }
  std::atomic<int> errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        for (std::uint32_t slot = 0; slot < per_thread; slot += 4) {
          write_batch b;
          b.shard = static_cast<shard_id>(t);
          b.epoch = 1;
          for (std::uint32_t k = slot; k < slot + 4; ++k)
            b.intents.push_back(intent(ms[static_cast<std::size_t>(t)], k, ms[0]));
          b.stats.push_back({ms[static_cast<std::size_t>(t)], day_stats{day0, 4}});
          if (s->apply(b).stale_epoch)
            ++errors;
          s->status(day0_start, 0);  // a reader in between
        }
      } catch (...) {
        ++errors;
      }
    });
  for (auto& t : pool)
    t.join();
  EXPECT_EQ(errors.load(), 0);
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(s->intents(ms[static_cast<std::size_t>(t)], day0, day0).size(), per_thread);
    EXPECT_EQ(s->stats(ms[static_cast<std::size_t>(t)], day0, day0).at(0).planned, per_thread);
  }
  EXPECT_LE(std::stoi(pg_exec(url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                   "application_name = 'warmup' AND datname = current_database()")),
            3);
}

// --- URLs and secrets ----------------------------------------------------------------------

TEST(pg_urls, redact_url_hides_passwords_and_keeps_the_rest) {
  EXPECT_EQ(redact_url("postgres://u:s3cret@db.example:5432/warmup"),
            "postgres://u:***@db.example:5432/warmup");
  EXPECT_EQ(redact_url("postgresql://u@db/warmup?sslmode=require&password=pw%21x"),
            "postgresql://u@db/warmup?sslmode=require&password=***");
  EXPECT_EQ(redact_url("postgresql://db/warmup"), "postgresql://db/warmup");
  EXPECT_EQ(redact_url(""), "");
  EXPECT_EQ(password_of("postgres://u:p%40ss@h/d"), "p@ss");
  EXPECT_EQ(password_of("postgres://u@h/d?password=x%20y"), "x y");
  EXPECT_EQ(password_of("postgres://u@h/d"), "");
}

TEST(pg_urls, connection_errors_name_the_redacted_url_never_the_password) {
  // Nothing listens on port 1.
  try {
    open_postgres("postgresql://warmup:Tr0ub4dor-pw@127.0.0.1:1/warmup?connect_timeout=2");
    FAIL() << "nothing listens on port 1";
  } catch (const store_error& e) {
    EXPECT_FALSE(mentions(e, "Tr0ub4dor-pw")) << e.what();
    EXPECT_TRUE(mentions(e, "warmup:***@127.0.0.1:1")) << e.what();
  }
}

TEST_F(pg_store_test, server_errors_never_carry_the_password) {
  // Trust authentication ignores the password; the database name is wrong.
  auto bad = url.substr(0, url.find("://") + 3) + "postgres:hunter2-secret@"
             + url.substr(url.find('@') + 1) + "_missing";
  try {
    open_postgres(bad);
    FAIL() << "the database does not exist";
  } catch (const store_error& e) {
    EXPECT_FALSE(mentions(e, "hunter2-secret")) << e.what();
    EXPECT_TRUE(mentions(e, "does not exist")) << e.what();
  }
}

TEST_F(pg_store_test, open_store_picks_the_backend_by_scheme) {
  auto pg = open_store("postgres" + url.substr(url.find("://")), "/nonexistent", false);
  EXPECT_EQ(pg->schema_version(), store::latest_schema_version());
  pg->put_meta("backend", "pg");
  EXPECT_EQ(pg_exec(url, "SELECT value FROM meta WHERE key = 'backend'"), "pg");
  auto ro = open_store(url, "/nonexistent", true);
  EXPECT_THROW(ro->put_meta("k", "v"), store_error);

  auto dir = std::filesystem::temp_directory_path() / ("warmup-open-store-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  {
    auto lite = open_store("", dir.string());
    lite->put_meta("backend", "sqlite");
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "warmup.db"));
  EXPECT_EQ(open_store("", dir.string(), true)->get_meta("backend"), "sqlite");
  std::filesystem::remove_all(dir);

  try {
    open_store("mysql://root:pw-xyz@localhost/warmup", "/tmp");
    FAIL() << "mysql is not a backend";
  } catch (const store_error& e) {
    EXPECT_TRUE(mentions(e, "'mysql'")) << e.what();
    EXPECT_FALSE(mentions(e, "pw-xyz")) << e.what();
  }
  EXPECT_THROW(open_store("warmup.db", "/tmp"), store_error);
}

}  // namespace
}  // namespace warmup::storage::testing
