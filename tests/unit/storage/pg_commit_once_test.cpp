// pg_commit_once_test.cpp: the store gateway's retry after a commit in doubt: the same
// (writer, seq) applied twice writes once and answers the first results; and the start-up
// read of a whole pool's days in two queries.
#include "pg_test_server.hpp"

#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace warmup::storage::testing {

namespace {

constexpr day_number day0 = 20000;
constexpr time_ms day0_start = static_cast<time_ms>(day0) * ms_per_day;

class pg_commit_once : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      url = create_pg_database();
      db = open_postgres(url);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    for (int i = 0; i < 2; ++i) {
      mailbox_record r;
      r.settings.email = "once" + std::to_string(i) + "@example.test";
      r.settings.provider = "gmail";
      r.settings.timezone = "UTC";
      ids.push_back(db->add_mailbox(r));
    }
    epoch = *db->acquire_lease(0, "node-a", 0, ms_per_day);
  }
  void TearDown() override {
    db.reset();
    if (!url.empty())
      drop_pg_database(url);
  }
  write_batch sends(std::uint32_t first_slot, std::uint32_t n) {
    write_batch b;
    b.shard = 0;
    b.epoch = epoch;
    for (std::uint32_t i = first_slot; i < first_slot + n; ++i) {
      slot_key k{ids[0], day0, i};
      b.intents.push_back({k, ids[1], "<once-" + std::to_string(i) + "@t>", day0_start + i,
                           day0_start + i});
      b.outcomes.push_back({k, intent_status::sent, day0_start + i + 1, ""});
      stats_delta d;
      d.mailbox = ids[0];
      d.delta.day = day0;
      d.delta.sent = 1;
      b.stats.push_back(d);
    }
    return b;
  }
  std::uint32_t sent_stat() {
    auto s = db->stats(ids[0], day0, day0);
    return s.empty() ? 0 : s[0].sent;
  }
  std::string url;
  std::unique_ptr<store> db;
  std::vector<mailbox_id> ids;
  epoch_t epoch = 0;
};

}  // namespace

TEST_F(pg_commit_once, a_retried_commit_is_applied_once_and_answers_the_first_results) {
  auto first = db->apply_many_once("gateway.node-a", 1, {sends(0, 3)});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].intent_inserted, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(sent_stat(), 3u);
  // The retry of a commit whose answer was lost: nothing added, the same answer (plain
  // apply_many would report the intents as existing and count the sends again).
  auto again = db->apply_many_once("gateway.node-a", 1, {sends(0, 3)});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_FALSE(again[0].stale_epoch);
  EXPECT_EQ(again[0].intent_inserted, first[0].intent_inserted);
  EXPECT_EQ(sent_stat(), 3u);
  // The next sequence number is new work; another writer keeps its own record.
  auto next = db->apply_many_once("gateway.node-a", 2, {sends(3, 2)});
  EXPECT_EQ(next[0].intent_inserted, (std::vector<bool>{true, true}));
  EXPECT_EQ(sent_stat(), 5u);
  auto other = db->apply_many_once("gateway.node-b", 1, {sends(5, 1)});
  EXPECT_EQ(other[0].intent_inserted, (std::vector<bool>{true}));
  EXPECT_EQ(sent_stat(), 6u);
  EXPECT_EQ(db->count_messages(), 0u);
  EXPECT_EQ(db->intents(ids[0], day0, day0).size(), 6u);
}

TEST_F(pg_commit_once, a_stale_batch_is_recorded_stale_and_stays_unwritten_on_retry) {
  auto stale = sends(0, 2);
  stale.epoch = epoch + 7;
  auto r = db->apply_many_once("gateway.node-a", 1, {stale, sends(2, 1)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].stale_epoch);
  EXPECT_FALSE(r[1].stale_epoch);
  auto again = db->apply_many_once("gateway.node-a", 1, {stale, sends(2, 1)});
  EXPECT_TRUE(again[0].stale_epoch);
  EXPECT_EQ(again[1].intent_inserted, (std::vector<bool>{true}));
  EXPECT_EQ(sent_stat(), 1u);
}

TEST_F(pg_commit_once, days_between_reads_every_mailboxes_intents_and_plans_of_the_days) {
  db->apply(sends(0, 2));
  auto other_day = sends(0, 1);
  other_day.intents[0].key.day = day0 + 5;
  other_day.outcomes.clear();
  other_day.stats.clear();
  db->apply(other_day);
  write_batch plans;
  plans.shard = 0;
  plans.epoch = epoch;
  plans.plans.push_back({ids[0], day0, 2, {day0_start + 1, day0_start + 2}});
  plans.plans.push_back({ids[1], day0 + 1, 1, {day0_start + ms_per_day}});
  db->apply(plans);
  auto rows = db->days_between(day0, day0 + 1);
  std::sort(rows.intent_keys.begin(), rows.intent_keys.end());
  EXPECT_EQ(rows.intent_keys, (std::vector<slot_key>{{ids[0], day0, 0}, {ids[0], day0, 1}}));
  ASSERT_EQ(rows.plans.size(), 2u);
  std::sort(rows.plans.begin(), rows.plans.end(),
            [](const auto& a, const auto& b) { return a.mailbox < b.mailbox; });
  EXPECT_EQ(rows.plans[0].slot_times, (std::vector<time_ms>{day0_start + 1, day0_start + 2}));
  EXPECT_EQ(rows.plans[1].day, day0 + 1);
  EXPECT_EQ(rows.plans[1].target, 1);
}

// An empty store over the widest day range (what an audit of a fresh node asks): no
// rows, at once (a series over the whole integer range took minutes).
TEST_F(pg_commit_once, intents_over_every_day_of_an_empty_store_answer_at_once) {
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(db->intents(ids[0], std::numeric_limits<day_number>::min(),
                          std::numeric_limits<day_number>::max())
                .empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace warmup::storage::testing
