// pg_bulk_write_test.cpp: intents and outcomes written in bulk through apply_many on
// PostgreSQL: big batches after statistics that show no pending intent, keys that exist
// already (the plain insert's fallback), stale epochs, and concurrent writers of a key.
#include "pg_test_server.hpp"

#include "storage/store.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <future>
#include <thread>

namespace warmup::storage::testing {

namespace {

constexpr day_number day0 = 20000;
constexpr time_ms day0_start = static_cast<time_ms>(day0) * ms_per_day;
constexpr std::uint32_t boxes = 50;

class pg_bulk_write : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      url = create_pg_database();
      db = open_postgres(url);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    std::vector<mailbox_record> rs;
    for (std::uint32_t i = 0; i < boxes; ++i) {
      mailbox_record r;
      r.settings.email = "out" + std::to_string(i) + "@example.test";
      r.settings.provider = "gmail";
      r.settings.timezone = "UTC";
      rs.push_back(r);
    }
    ids = db->add_mailboxes(rs);
    epoch = *db->acquire_lease(0, "node-a", 0, ms_per_day);
  }
  void TearDown() override {
    db.reset();
    if (!url.empty())
      drop_pg_database(url);
  }
  // The i-th send of the test: spread over every mailbox, as a shard's sends are.
  slot_key key(std::uint32_t i) const { return {ids[i % boxes], day0, i / boxes}; }
  write_batch batch() const {
    write_batch b;
    b.shard = 0;
    b.epoch = epoch;
    return b;
  }
  void add_intents(write_batch& b, std::uint32_t first, std::uint32_t n) const {
    for (std::uint32_t i = first; i < first + n; ++i)
      b.intents.push_back({key(i), ids[(i + 1) % boxes], "<out-" + std::to_string(i) + "@t>",
                           day0_start + i, day0_start + i});
  }
  std::optional<send_outcome> outcome_of(const slot_key& k) {
    for (const auto& r : db->intents(k.mailbox, k.day, k.day))
      if (r.intent.key == k)
        return r.outcome;
    ADD_FAILURE() << "no intent " << to_string(k);
    return std::nullopt;
  }
  std::string url;
  std::unique_ptr<store> db;
  std::vector<mailbox_id> ids;
  epoch_t epoch = 0;
};

// True once a session of the test database waits for a lock (at most 4 s of polling): the
// batch under test reached the other writer's row.
bool a_session_waits_for_a_lock(const std::string& url) {
  for (int i = 0; i < 200; ++i) {
    if (pg_exec(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                     "current_database() AND wait_event_type = 'Lock'")
        != "0")
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST_F(pg_bulk_write, a_big_batch_of_outcomes_lands_after_statistics_saw_no_pending_intent) {
  // Some finished sends, then statistics that say no intent is pending: the planner's
  // view in production, where nearly every intent has its outcome.
  auto done = batch();
  add_intents(done, 0, 200);
  for (std::uint32_t i = 0; i < 200; ++i)
    done.outcomes.push_back({key(i), intent_status::sent, day0_start + i + 1, ""});
  ASSERT_FALSE(db->apply(done).stale_epoch);
  pg_exec(url, "ANALYZE send_intents");

  constexpr std::uint32_t first = 200, n = 2500;
  auto intents = batch();
  add_intents(intents, first, n);
  add_intents(intents, first, 3);   // the same keys again in the same batch: not new
  auto r = db->apply(intents);
  ASSERT_EQ(r.intent_inserted.size(), n + 3);
  for (std::uint32_t i = 0; i < n; ++i)
    ASSERT_TRUE(r.intent_inserted[i]) << i;
  for (std::uint32_t i = n; i < n + 3; ++i)
    EXPECT_FALSE(r.intent_inserted[i]);
  EXPECT_EQ(db->pending_intents().size(), n);

  auto outcomes = batch();
  for (std::uint32_t i = first; i < first + n; ++i)
    outcomes.outcomes.push_back({key(i), i % 7 == 0 ? intent_status::failed : intent_status::sent,
                                 day0_start + 100'000 + i, i % 7 == 0 ? "451 later" : ""});
  // A second outcome for a key of this batch: the first one wins.
  outcomes.outcomes.push_back({key(first + 1), intent_status::bounced, day0_start, "550"});
  // An outcome for a send that already has one: it stays as it was.
  outcomes.outcomes.push_back({key(5), intent_status::failed, day0_start, "late"});
  // An outcome with no intent: nothing to update, nothing created.
  outcomes.outcomes.push_back({{ids[0], day0 + 3, 0}, intent_status::sent, day0_start, ""});
  ASSERT_FALSE(db->apply(outcomes).stale_epoch);

  EXPECT_TRUE(db->pending_intents().empty());
  for (std::uint32_t i : {first, first + 1, first + 7, first + n - 1}) {
    auto o = outcome_of(key(i));
    ASSERT_TRUE(o.has_value()) << i;
    EXPECT_EQ(o->status, i % 7 == 0 ? intent_status::failed : intent_status::sent) << i;
    EXPECT_EQ(o->at, day0_start + 100'000 + i) << i;
    EXPECT_EQ(o->detail, i % 7 == 0 ? "451 later" : "") << i;
  }
  auto kept = outcome_of(key(5));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->status, intent_status::sent);
  EXPECT_EQ(kept->at, day0_start + 6);
  EXPECT_TRUE(db->intents(ids[0], day0 + 3, day0 + 3).empty());
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents"), std::to_string(200 + n));
  std::uint32_t failed = 0;
  for (std::uint32_t i = first; i < first + n; ++i)
    failed += i % 7 == 0;
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents WHERE status = 'failed'"),
            std::to_string(failed));
}

TEST_F(pg_bulk_write, a_batch_with_keys_that_exist_inserts_exactly_the_new_ones) {
  auto first = batch();
  add_intents(first, 0, 10);
  ASSERT_FALSE(db->apply(first).stale_epoch);

  // Keys 8..9 exist (with other content), 10..2009 are new: the plain insert fails on the
  // existing keys and the whole batch goes again with ON CONFLICT DO NOTHING.
  auto mixed = batch();
  add_intents(mixed, 8, 2002);
  mixed.intents[0].message_id = "<changed@t>";
  mixed.outcomes.push_back({key(9), intent_status::sent, day0_start + 9'000, ""});
  auto r = db->apply(mixed);
  ASSERT_FALSE(r.stale_epoch);
  ASSERT_EQ(r.intent_inserted.size(), 2002u);
  EXPECT_FALSE(r.intent_inserted[0]);
  EXPECT_FALSE(r.intent_inserted[1]);
  for (std::size_t i = 2; i < r.intent_inserted.size(); ++i)
    ASSERT_TRUE(r.intent_inserted[i]) << i;
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents"), "2010");
  EXPECT_EQ(pg_exec(url, "SELECT message_id FROM send_intents WHERE mailbox = "
                           + std::to_string(key(8).mailbox) + " AND slot = "
                           + std::to_string(key(8).slot)),
            "<out-8@t>");
  // The outcome in the same batch still found its (existing) intent.
  auto o = outcome_of(key(9));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->at, day0_start + 9'000);
  EXPECT_EQ(db->pending_intents().size(), 2009u);
}

TEST_F(pg_bulk_write, an_intent_a_concurrent_writer_inserted_first_is_reported_not_new) {
  // Another writer inserts key 1 and keeps its transaction open.
  const auto k = key(1);
  pqxx::connection other(url);
  pqxx::work tx(other);
  tx.exec("INSERT INTO send_intents (day, mailbox, slot, to_mailbox, message_id, planned_at, "
          "recorded_at, status) VALUES (" + std::to_string(k.day) + ", "
          + std::to_string(k.mailbox) + ", " + std::to_string(k.slot)
          + ", 1, '<theirs@t>', 1, 1, 'pending')");

  auto mine = batch();
  add_intents(mine, 0, 3);
  auto applied = std::async(std::launch::async, [&] { return db->apply(mine); });
  const bool waiting = a_session_waits_for_a_lock(url);
  EXPECT_TRUE(waiting) << "the batch never waited for the other writer's key";
  tx.commit();
  auto r = applied.get();
  ASSERT_FALSE(r.stale_epoch);
  EXPECT_EQ(r.intent_inserted, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(pg_exec(url, "SELECT message_id FROM send_intents WHERE mailbox = "
                           + std::to_string(k.mailbox) + " AND slot = "
                           + std::to_string(k.slot)),
            "<theirs@t>");
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents"), "3");
}

TEST_F(pg_bulk_write, outcomes_under_a_stale_epoch_change_nothing) {
  auto intents = batch();
  add_intents(intents, 0, 40);
  ASSERT_FALSE(db->apply(intents).stale_epoch);
  auto newer = db->acquire_lease(0, "node-a", 0, ms_per_day);
  ASSERT_TRUE(newer.has_value());
  ASSERT_GT(*newer, epoch);

  auto stale = batch();   // still the old epoch
  for (std::uint32_t i = 0; i < 40; ++i)
    stale.outcomes.push_back({key(i), intent_status::sent, day0_start + i, ""});
  add_intents(stale, 40, 5);
  auto current = stale;
  current.epoch = *newer;
  current.outcomes.resize(1);
  current.intents.clear();
  auto rs = db->apply_many({stale, current});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].stale_epoch);
  EXPECT_FALSE(rs[1].stale_epoch);
  // Only the current batch's one outcome landed; the stale batch wrote nothing.
  EXPECT_EQ(db->pending_intents().size(), 39u);
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM send_intents"), "40");
}

TEST_F(pg_bulk_write, a_concurrent_outcome_that_commits_first_wins) {
  auto intents = batch();
  add_intents(intents, 0, 3);
  ASSERT_FALSE(db->apply(intents).stale_epoch);
  const auto k = key(1);

  // Another writer records `failed` for the key and holds its row lock uncommitted.
  pqxx::connection other(url);
  pqxx::work tx(other);
  tx.exec("UPDATE send_intents SET status = 'failed', outcome_at = 7, detail = 'first' "
          "WHERE day = " + std::to_string(k.day) + " AND mailbox = " + std::to_string(k.mailbox)
          + " AND slot = " + std::to_string(k.slot));

  auto outcomes = batch();
  for (std::uint32_t i = 0; i < 3; ++i)
    outcomes.outcomes.push_back({key(i), intent_status::sent, day0_start + 50, ""});
  auto applied = std::async(std::launch::async, [&] { return db->apply(outcomes); });
  // Wait (bounded) until our batch waits for that row lock, then let the other commit.
  const bool waiting = a_session_waits_for_a_lock(url);
  EXPECT_TRUE(waiting) << "the batch never waited for the row lock";
  tx.commit();
  ASSERT_FALSE(applied.get().stale_epoch);

  auto first = outcome_of(k);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, intent_status::failed);
  EXPECT_EQ(first->detail, "first");
  for (std::uint32_t i : {0u, 2u}) {
    auto o = outcome_of(key(i));
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->status, intent_status::sent);
  }
}

// Start-up reads only the days whose counts show an open intent, and misses none: the
// counts follow every path that writes intents and outcomes (new keys, existing keys,
// duplicate and repeated outcomes, stale epochs).
TEST_F(pg_bulk_write, pending_intents_are_found_through_the_day_counts) {
  auto on_day = [&](std::uint32_t i, day_number d) {
    auto k = key(i);
    k.day = d;
    return k;
  };
  for (day_number d : {day0 - 2, day0 - 1, day0}) {
    auto b = batch();
    add_intents(b, 0, 120);
    for (auto& in : b.intents)
      in.key.day = d;
    ASSERT_FALSE(db->apply(b).stale_epoch);
  }
  auto again = batch();   // existing keys: the fallback insert counts nothing
  add_intents(again, 100, 40);
  for (auto& in : again.intents)
    in.key.day = day0;
  ASSERT_FALSE(db->apply(again).stale_epoch);
  auto outcomes = batch();
  for (day_number d : {day0 - 2, day0 - 1, day0})
    for (std::uint32_t i = 0; i < 160; ++i)
      if (!(d == day0 - 1 && i == 17)) {
        outcomes.outcomes.push_back({on_day(i, d), intent_status::sent, day0_start + i, ""});
        outcomes.outcomes.push_back({on_day(i, d), intent_status::failed, day0_start, "dup"});
      }
  ASSERT_FALSE(db->apply(outcomes).stale_epoch);
  ASSERT_FALSE(db->apply(outcomes).stale_epoch);   // a repeat changes nothing
  auto stale = batch();
  stale.epoch = epoch + 1;
  stale.outcomes.push_back({on_day(17, day0 - 1), intent_status::sent, 1, ""});
  ASSERT_TRUE(db->apply(stale).stale_epoch);

  auto pending = db->pending_intents();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].key, on_day(17, day0 - 1));
  EXPECT_EQ(outcome_of(on_day(5, day0 - 1))->status, intent_status::sent);
  // The counts equal the rows: intents per day, and finished ones.
  EXPECT_EQ(pg_exec(url, "SELECT count(*) FROM (SELECT day, sum(intents) AS i, sum(outcomes) "
                         "AS o FROM send_days GROUP BY day) AS c JOIN (SELECT day, count(*) "
                         "AS i, count(*) FILTER (WHERE status <> 'pending') AS o FROM "
                         "send_intents GROUP BY day) AS r USING (day) WHERE c.i = r.i AND "
                         "c.o = r.o"),
            "3");
  // A day whose counts balance is not read at all: a row set back to pending by hand
  // (behind the counts' back) on day0 - 2 stays unseen, while day0 - 1 is still read.
  pg_exec(url, "UPDATE send_intents SET status = 'pending' WHERE day = "
                 + std::to_string(day0 - 2) + " AND slot = 0");
  EXPECT_EQ(db->pending_intents().size(), 1u);
  pg_exec(url, "UPDATE send_intents SET status = 'pending' WHERE day = "
                 + std::to_string(day0 - 1) + " AND slot = 1");
  EXPECT_EQ(db->pending_intents().size(), 1u + boxes);
}

}  // namespace warmup::storage::testing
