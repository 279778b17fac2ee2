// gateway_linger_test.cpp: the store gateway's group commit: intents that arrive while a
// commit lingers share it; without a linger each is committed on its own; the lazy rows
// wait for their row threshold, and one mailbox-day's counters become one row per commit.
#include "actors/engine_context.hpp"
#include "actors/services.hpp"
#include "messages/messages.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace warmup {
namespace {

using namespace std::chrono_literals;

constexpr day_number day0 = 20458;

struct linger_config : caf::actor_system_config {
  linger_config() { add_message_types<caf::id_block::warmup>(); }
};

class GatewayLinger : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path()
           / ("warmup-linger-" + std::to_string(::getpid()) + "-"
              + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::shared_ptr<storage::store>(storage::open_sqlite((dir_ / "w.db").string()));
    storage::mailbox_record r;
    r.settings.email = "linger@example.test";
    r.settings.provider = "gmail.sim";
    r.settings.timezone = "UTC";
    box_ = store_->add_mailbox(r);
    for (shard_id s = 0; s < 2; ++s)
      epochs_[s] = *store_->acquire_lease(s, "node-a", 0, ms_per_day * 365);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  store_actor spawn_gateway(std::chrono::microseconds linger) {
    store_gateway_options o;
    o.lazy_commit = 0ms;
    o.commit_linger = linger;
    return spawn_gateway(o);
  }
  store_actor spawn_gateway(store_gateway_options o) {
    o.intent_commits = &commits_;
    o.lazy_commits = &lazy_commits_;
    return sys_.spawn<caf::detached>(store_gateway_with_options, store_, o);
  }

  // A lazy batch of shard 0 adding `sent` to the mailbox's counters of `day`.
  storage::write_batch stats_batch(day_number day, int sent) {
    storage::write_batch b;
    b.shard = 0;
    b.epoch = epochs_[0];
    day_stats d;
    d.day = day;
    d.sent = sent;
    b.stats.push_back({box_, d});
    return b;
  }

  void apply_and_wait(store_actor gw, storage::write_batch b) {
    caf::scoped_actor self{sys_};
    self->request(gw, caf::infinite, atom::apply::value, std::move(b))
      .receive([](const storage::batch_result&) {},
               [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  }

  bool flush(store_actor gw) {
    bool done = false;
    caf::scoped_actor self{sys_};
    self->request(gw, caf::infinite, atom::flush::value)
      .receive([&](bool ok) { done = ok; }, [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return done;
  }

  storage::write_batch intent_batch(shard_id shard, std::uint32_t slot) {
    storage::write_batch b;
    b.shard = shard;
    b.epoch = epochs_[shard];
    b.intents.push_back({{box_, day0, slot}, box_, "<linger-" + std::to_string(slot) + "@t>",
                         day0 * ms_per_day + slot, day0 * ms_per_day + slot});
    return b;
  }

  // `n` intent batches of the two shards in turn, `gap` apart; true when all were
  // answered as fresh.
  bool apply_n(store_actor gw, int n, std::chrono::milliseconds gap) {
    std::atomic<int> fresh{0};
    auto apply = [&](storage::write_batch b) {
      return std::thread([this, gw, b, &fresh] {
        caf::scoped_actor self{sys_};
        self->request(gw, caf::infinite, atom::apply::value, b)
          .receive(
            [&](const storage::batch_result& r) {
              if (!r.stale_epoch && r.intent_inserted.size() == 1 && r.intent_inserted[0])
                ++fresh;
            },
            [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
      });
    };
    std::vector<std::thread> senders;
    for (int i = 0; i < n; ++i) {
      if (i > 0)
        std::this_thread::sleep_for(gap);
      senders.push_back(apply(intent_batch(static_cast<shard_id>(i % 2),
                                           static_cast<std::uint32_t>(i + 1))));
    }
    for (auto& t : senders)
      t.join();
    return fresh.load() == n;
  }
  bool apply_two(store_actor gw, std::chrono::milliseconds gap) { return apply_n(gw, 2, gap); }

  linger_config cfg_;
  caf::actor_system sys_{cfg_};
  std::filesystem::path dir_;
  std::shared_ptr<storage::store> store_;
  mailbox_id box_ = 0;
  epoch_t epochs_[2] = {};
  store_commit_counters commits_;
  store_commit_counters lazy_commits_;
};

TEST_F(GatewayLinger, IntentsArrivingWhileACommitLingersShareIt) {
  auto gw = spawn_gateway(std::chrono::microseconds(2'000'000));
  // The second batch comes 50 ms into a 2 s linger: one commit carries both.
  EXPECT_TRUE(apply_two(gw, 50ms));
  EXPECT_EQ(commits_.commits.load(), 1u);
  EXPECT_EQ(commits_.batches.load(), 2u);
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 2u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(GatewayLinger, TheLingerWaitsForAQuietGapNotAFixedTime) {
  // Four batches 150 ms apart under a 400 ms linger: each arrives before the gap after the
  // last one ends, so one commit carries all four, 450 ms after the first.
  auto gw = spawn_gateway(std::chrono::microseconds(400'000));
  EXPECT_TRUE(apply_n(gw, 4, 150ms));
  EXPECT_EQ(commits_.commits.load(), 1u);
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 4u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(GatewayLinger, ASteadyStreamIsCommittedAfterTenLingersAtMost) {
  // Batches every 10 ms under a 100 ms linger leave no quiet gap: the first commit comes
  // 1 s after the first batch at the latest, so 130 batches over 1.29 s take more than
  // one (and far fewer than one each, even if the machine delays a few of them).
  auto gw = spawn_gateway(std::chrono::microseconds(100'000));
  EXPECT_TRUE(apply_n(gw, 130, 10ms));
  EXPECT_GE(commits_.commits.load(), 2u);
  EXPECT_LE(commits_.commits.load(), 10u);
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 130u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(GatewayLinger, WithoutALingerEachIntentBatchCommitsAtOnce) {
  auto gw = spawn_gateway(std::chrono::microseconds(0));
  EXPECT_TRUE(apply_two(gw, 50ms));
  EXPECT_EQ(commits_.commits.load(), 2u) << "the first batch did not wait for the second";
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 2u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(GatewayLinger, ACommitDueBeforeItsRowThresholdWaitsForTheInterval) {
  store_gateway_options o;
  o.lazy_commit = 1h;
  o.lazy_commit_rows = 3;
  auto gw = spawn_gateway(o);
  apply_and_wait(gw, stats_batch(day0, 1));
  apply_and_wait(gw, stats_batch(day0 + 1, 1));
  EXPECT_EQ(lazy_commits_.commits.load(), 0u) << "2 rows of 3 were written before the hour";
  apply_and_wait(gw, stats_batch(day0 + 2, 1));
  EXPECT_EQ(lazy_commits_.commits.load(), 1u) << "the third row did not make the commit due";
  EXPECT_EQ(store_->stats(box_, day0, day0 + 2).size(), 3u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(GatewayLinger, AHeldLazyBatchIsAnsweredOnceTheIntentsAheadOfItAreCommitted) {
  // Three intents linger; a counter row arrives meanwhile and makes 4 rows wait, over
  // queue_max 3, so its shard hears back only once it is committed. The intents' commit
  // takes the count back under queue_max: the held row must still be written then, not
  // at the next message (the shards that would send one are all waiting).
  store_gateway_options o;
  o.lazy_commit = 1h;
  o.queue_max = 3;
  o.commit_linger = 200ms;
  auto gw = spawn_gateway(o);
  storage::write_batch intents;
  intents.shard = 1;
  intents.epoch = epochs_[1];
  for (std::uint32_t slot = 1; slot <= 3; ++slot)
    intents.intents.push_back(intent_batch(1, slot).intents.front());
  std::thread sender([&] { apply_and_wait(gw, intents); });
  std::this_thread::sleep_for(50ms);
  bool answered = false;
  {
    caf::scoped_actor self{sys_};
    self->request(gw, 10s, atom::apply::value, stats_batch(day0, 1))
      .receive([&](const storage::batch_result&) { answered = true; },
               [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  }
  sender.join();
  EXPECT_TRUE(answered) << "the held counter row was never committed";
  EXPECT_EQ(lazy_commits_.commits.load(), 1u);
  EXPECT_EQ(store_->stats(box_, day0, day0).size(), 1u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(GatewayLinger, CountersOfOneMailboxDayBecomeOneRowOfTheCommit) {
  store_gateway_options o;
  o.lazy_commit = 1h;
  auto gw = spawn_gateway(o);
  // Three flushes of the same (mailbox, day), one naming it twice, and one of the next
  // day: two rows written, the sums intact.
  apply_and_wait(gw, stats_batch(day0, 1));
  auto twice = stats_batch(day0, 2);   // a batch may name a row twice itself
  twice.stats.push_back(twice.stats.front());
  twice.stats.back().delta.sent = 0;
  twice.stats.back().delta.replies = 3;
  apply_and_wait(gw, std::move(twice));
  apply_and_wait(gw, stats_batch(day0 + 1, 5));
  apply_and_wait(gw, stats_batch(day0, 4));
  EXPECT_EQ(lazy_commits_.commits.load(), 0u);
  ASSERT_TRUE(flush(gw));
  EXPECT_EQ(lazy_commits_.commits.load(), 1u);
  EXPECT_EQ(lazy_commits_.rows.load(), 2u);
  auto rows = store_->stats(box_, day0, day0 + 1);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].day, day0);
  EXPECT_EQ(rows[0].sent, 7);
  EXPECT_EQ(rows[0].replies, 3);
  EXPECT_EQ(rows[1].sent, 5);
  // After the commit the same day starts a new row (added to the stored one).
  apply_and_wait(gw, stats_batch(day0, 10));
  ASSERT_TRUE(flush(gw));
  EXPECT_EQ(lazy_commits_.rows.load(), 3u);
  EXPECT_EQ(store_->stats(box_, day0, day0)[0].sent, 17);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace warmup
