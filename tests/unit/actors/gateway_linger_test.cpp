// gateway_linger_test.cpp: the store gateway's group commit: intents that arrive while a
// commit lingers share it; without a linger each is committed on its own.
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
    o.intent_commits = &commits_;
    return sys_.spawn<caf::detached>(store_gateway_with_options, store_, o);
  }

  storage::write_batch intent_batch(shard_id shard, std::uint32_t slot) {
    storage::write_batch b;
    b.shard = shard;
    b.epoch = epochs_[shard];
    b.intents.push_back({{box_, day0, slot}, box_, "<linger-" + std::to_string(slot) + "@t>",
                         day0 * ms_per_day + slot, day0 * ms_per_day + slot});
    return b;
  }

  // Two shards' intent batches, the second `gap` after the first; true when both were
  // answered as fresh.
  bool apply_two(store_actor gw, std::chrono::milliseconds gap) {
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
    auto first = apply(intent_batch(0, 1));
    std::this_thread::sleep_for(gap);
    auto second = apply(intent_batch(1, 2));
    first.join();
    second.join();
    return fresh.load() == 2;
  }

  linger_config cfg_;
  caf::actor_system sys_{cfg_};
  std::filesystem::path dir_;
  std::shared_ptr<storage::store> store_;
  mailbox_id box_ = 0;
  epoch_t epochs_[2] = {};
  store_commit_counters commits_;
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

TEST_F(GatewayLinger, WithoutALingerEachIntentBatchCommitsAtOnce) {
  auto gw = spawn_gateway(std::chrono::microseconds(0));
  EXPECT_TRUE(apply_two(gw, 50ms));
  EXPECT_EQ(commits_.commits.load(), 2u) << "the first batch did not wait for the second";
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 2u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace warmup
