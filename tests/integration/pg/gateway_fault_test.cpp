// gateway_fault_test.cpp: the store gateway against a PostgreSQL store that fails: a commit
// whose answer was lost is retried without counting twice; while the store is down
// nothing is dropped, the shards wait (back-pressure past queue_max) and readiness is off.
#include "../../unit/storage/pg_test_server.hpp"

#include "actors/services.hpp"
#include "messages/messages.hpp"
#include "storage/forwarding_store.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace warmup {
namespace {

using namespace std::chrono_literals;
namespace pgt = storage::testing;

constexpr day_number day0 = 20000;

// A PostgreSQL store whose writes fail on demand: `down` fails every write and read
// before it reaches the server; `lose_next_answer` commits the next write and then throws
// as a connection dropped during COMMIT would (the caller cannot know it committed).
class flaky_store final : public storage::forwarding_store {
public:
  explicit flaky_store(std::unique_ptr<storage::store> inner)
      : forwarding_store(std::move(inner)) {}
  std::atomic<bool> down{false};
  std::atomic<bool> lose_next_answer{false};
  std::atomic<int> writes{0};

  std::vector<storage::mailbox_record> list_mailboxes(const storage::mailbox_filter& f) override {
    check();
    return forwarding_store::list_mailboxes(f);
  }
  std::vector<mailbox_stamp> mailbox_stamps() override {
    check();
    return forwarding_store::mailbox_stamps();
  }
  storage::batch_result apply(const storage::write_batch& b) override {
    return apply_many({b}).front();
  }
  std::vector<storage::batch_result> apply_many(
    const std::vector<storage::write_batch>& bs) override {
    check();
    ++writes;
    return forwarding_store::apply_many(bs);
  }
  std::vector<storage::batch_result> apply_many_once(
    const std::string& writer, std::uint64_t seq,
    const std::vector<storage::write_batch>& bs) override {
    check();
    ++writes;
    auto r = forwarding_store::apply_many_once(writer, seq, bs);
    if (lose_next_answer.exchange(false))
      throw storage::store_error("server closed the connection unexpectedly (during COMMIT)");
    return r;
  }
  void put_meta(const std::string& k, const std::string& v) override {
    check();
    forwarding_store::put_meta(k, v);
  }

private:
  void check() {
    if (down.load())
      throw storage::store_error("could not connect to server: Connection refused");
  }
};

struct test_config : caf::actor_system_config {
  test_config() { add_message_types<caf::id_block::warmup>(); }
};

class gateway_fault : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      url_ = pgt::create_pg_database();
      store_ = std::make_shared<flaky_store>(storage::open_postgres(url_));
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    storage::mailbox_record r;
    r.settings.email = "gw@example.test";
    r.settings.provider = "gmail";
    r.settings.timezone = "UTC";
    box_ = store_->add_mailbox(r);
    epoch_ = *store_->acquire_lease(0, "node-a", 0, ms_per_day);
  }
  void TearDown() override {
    store_.reset();
    if (!url_.empty())
      pgt::drop_pg_database(url_);
  }
  store_actor spawn_gateway(std::size_t queue_max) {
    store_gateway_options o;
    o.lazy_commit = 0ms;
    o.queue_max = queue_max;
    o.ready = &ready_;
    o.writer = "gateway.test";
    o.retry_min = 10ms;
    o.retry_max = 100ms;
    return sys_.spawn<caf::detached>(store_gateway_with_options,
                                     std::shared_ptr<storage::store>(store_), o);
  }
  // `n` sends of slots first.. (intents only, or their stats only: one row per send, each
  // on its own day, as the gateway merges the deltas of one mailbox-day into one row).
  storage::write_batch batch(std::uint32_t first, std::uint32_t n, bool intents) {
    storage::write_batch b;
    b.shard = 0;
    b.epoch = epoch_;
    for (std::uint32_t i = first; i < first + n; ++i) {
      if (intents) {
        b.intents.push_back({{box_, day0, i}, box_, "<gw-" + std::to_string(i) + "@t>",
                             day0 * ms_per_day + i, day0 * ms_per_day + i});
      } else {
        storage::stats_delta d;
        d.mailbox = box_;
        d.delta.day = day0 + static_cast<day_number>(i);
        d.delta.sent = 1;
        b.stats.push_back(d);
      }
    }
    return b;
  }
  std::uint32_t sent_stat() {
    std::uint32_t sent = 0;
    for (const auto& d : store_->stats(box_, day0, day0 + 100))
      sent += static_cast<std::uint32_t>(d.sent);
    return sent;
  }
  // Applies `b` on its own thread; `answered` is set with the result.
  std::thread apply_async(store_actor gw, storage::write_batch b, std::atomic<bool>& answered,
                          storage::batch_result& out) {
    return std::thread([this, gw, b, &answered, &out] {
      caf::scoped_actor self{sys_};
      self->request(gw, caf::infinite, atom::apply::value, b)
        .receive([&](storage::batch_result& r) { out = std::move(r); },
                 [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
      answered = true;
    });
  }

  test_config cfg_;
  caf::actor_system sys_{cfg_};
  std::string url_;
  std::shared_ptr<flaky_store> store_;
  mailbox_id box_ = 0;
  epoch_t epoch_ = 0;
  std::atomic<bool> ready_{true};
};

}  // namespace

TEST_F(gateway_fault, a_commit_whose_answer_was_lost_is_retried_without_counting_twice) {
  auto gw = spawn_gateway(100000);
  auto b = batch(0, 3, true);
  auto stats = batch(0, 3, false);
  b.stats = stats.stats;
  store_->lose_next_answer = true;
  caf::scoped_actor self{sys_};
  storage::batch_result r;
  self->request(gw, 10s, atom::apply::value, b)
    .receive([&](storage::batch_result& x) { r = std::move(x); },
             [&](caf::error& e) { FAIL() << to_string(e); });
  // The intents were committed by the first try: the retry must still call them new (a
  // plain re-apply says "existed", and the mailbox would never send them).
  EXPECT_EQ(r.intent_inserted, (std::vector<bool>{true, true, true}));
  self->request(gw, 10s, atom::flush::value).receive([](bool ok) { EXPECT_TRUE(ok); },
                                                     [](caf::error&) { FAIL(); });
  EXPECT_EQ(sent_stat(), 3u) << "a retried commit counted its stats twice";
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 3u);
  EXPECT_GE(store_->writes.load(), 2);
  EXPECT_TRUE(ready_.load());
  self->send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(gateway_fault, while_the_store_is_down_nothing_is_dropped_and_shards_wait) {
  auto gw = spawn_gateway(5);
  store_->down = true;
  // Lazy rows past queue_max: the shard hears back only once they are committed.
  std::atomic<bool> lazy_answered{false}, intents_answered{false};
  storage::batch_result lazy_r, intents_r;
  auto t1 = apply_async(gw, batch(0, 10, false), lazy_answered, lazy_r);
  std::this_thread::sleep_for(100ms);
  auto t2 = apply_async(gw, batch(0, 4, true), intents_answered, intents_r);
  {
    caf::scoped_actor self{sys_};
    self->send(gw, atom::meta::value, std::string{"engine.now_ms"}, std::string{"42"});
  }
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(lazy_answered.load()) << "rows past queue_max were acknowledged uncommitted";
  EXPECT_FALSE(intents_answered.load()) << "an intent was answered before it was durable";
  EXPECT_FALSE(ready_.load()) << "the node still says it is ready";
  caf::scoped_actor self{sys_};
  self->request(gw, 10s, atom::flush::value).receive([](bool ok) { EXPECT_FALSE(ok); },
                                                     [](caf::error&) { FAIL(); });
  // The server is back: everything lands, once.
  store_->down = false;
  t1.join();
  t2.join();
  EXPECT_TRUE(lazy_answered.load());
  EXPECT_EQ(intents_r.intent_inserted, (std::vector<bool>{true, true, true, true}));
  self->request(gw, 10s, atom::flush::value).receive([](bool ok) { EXPECT_TRUE(ok); },
                                                     [](caf::error&) { FAIL(); });
  EXPECT_TRUE(ready_.load());
  EXPECT_EQ(sent_stat(), 10u);
  EXPECT_EQ(store_->intents(box_, day0, day0).size(), 4u);
  EXPECT_EQ(store_->get_meta("engine.now_ms"), std::optional<std::string>{"42"});
  self->send_exit(gw, caf::exit_reason::user_shutdown);
}

}  // namespace warmup
