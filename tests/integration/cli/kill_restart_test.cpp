// kill_restart_test.cpp: `kill -9` of a running node mid-day and a restart on the same
// store: the node reconciles what was in flight, continues the same day's plan, and no
// slot is sent twice.
#include "cli_process.hpp"

#include "storage/store.hpp"
#include "warmup/calendar.hpp"
#include "warmup/types.hpp"

#include <fcntl.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace warmup::cli_test;
namespace storage = warmup::storage;
using warmup::day_number;
using warmup::mailbox_id;
using warmup::slot_key;
using warmup::time_ms;

namespace {

using namespace std::chrono_literals;

// Every intent row of the store by key, the plans and stats of the days they are on, and
// the engine time the node last published.
struct store_picture {
  std::map<slot_key, storage::intent_row> intents;
  std::map<std::pair<mailbox_id, day_number>, storage::plan_record> plans;
  std::map<std::pair<mailbox_id, day_number>, warmup::day_stats> stats;
  std::vector<storage::mailbox_record> mailboxes;
  time_ms engine_now = -1;
  std::size_t sent = 0;
};

store_picture picture_of(storage::store& db) {
  store_picture p;
  storage::mailbox_filter all;
  all.include_removed = true;
  p.mailboxes = db.list_mailboxes(all);
  for (const auto& m : p.mailboxes)
    for (auto& row : db.intents(m.settings.id, std::numeric_limits<day_number>::min(),
                                std::numeric_limits<day_number>::max())) {
      if (row.outcome && row.outcome->status == storage::intent_status::sent)
        ++p.sent;
      auto day = std::make_pair(row.intent.key.mailbox, row.intent.key.day);
      if (!p.plans.count(day))
        if (auto plan = db.plan(day.first, day.second))
          p.plans.emplace(day, std::move(*plan));
      if (!p.stats.count(day))
        for (const auto& d : db.stats(day.first, day.second, day.second))
          p.stats.emplace(day, d);
      p.intents.emplace(row.intent.key, std::move(row));
    }
  if (auto now = db.get_meta("engine.now_ms"))
    p.engine_now = std::stoll(*now);
  return p;
}



// The line of `log` holding `event`, or "".
std::string log_line(const std::string& log, const std::string& event) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (contains(line, "event=" + event + " "))
      return line;
  return {};
}

class kill_restart : public cli_test {};

}  // namespace

TEST_F(kill_restart, node_killed_mid_day_continues_the_same_plan_and_sends_no_slot_twice) {
  const auto data = dir_ / "data";
  const auto db_path = (data / "warmup.db").string();
  // Monday 09:00 UTC: the London and UTC mailboxes of the seed-7 demo pool join an hour
  // into their sending window (08:00-18:30 local), so sends start at once and their first
  // day's plan leaves out the slots already past (a restart must keep them out).
  env_["WARMUP_CLOCK_START"] = "2026-01-05T09:00";
  // A known shard count: the test writes one batch itself, under the node's lease.
  constexpr std::uint32_t shard_count = 16;
  env_["WARMUP_NODE_SHARD_COUNT"] = std::to_string(shard_count);
  const std::vector<std::string> run = {"run",    "--demo", "40",          "--time-scale", "1440",
                                        "--data", data.string(), "--seed", "7"};
  const auto t0 = std::chrono::steady_clock::now();

  // 1. Run until the store holds at least 20 sent intents (about 2.5 s of wall time).
  store_picture before;
  {
    background_node node(run, env_, dir_ / "run1.out", dir_ / "run1.err");
    ASSERT_TRUE(node.started());
    std::size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (sent < 20 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      ASSERT_TRUE(node.running()) << "the node exited before it was killed:\n" << node.err();
      if (!std::filesystem::exists(db_path))
        continue;
      try {
        sent = picture_of(*storage::open_sqlite(db_path, /*read_only=*/true)).sent;
      } catch (const storage::store_error&) {
        // Opened while the node was still creating the schema: look again.
      }
    }
    ASSERT_GE(sent, 20u) << "fewer than 20 sends within 30 s:\n" << node.err();

    // 2. kill -9 mid-day.
    auto status = node.kill_now();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_TRUE(contains(log_line(node.err(), "node_started"), "reconciled=0 ")) << node.err();
    EXPECT_TRUE(log_line(node.err(), "node_stopped").empty()) << "no clean stop after kill -9";
  }

  // 3. What the killed node left: its intents, its engine time, what was in flight.
  std::vector<storage::send_intent> pending;
  std::size_t natural_pending = 0;
  slot_key injected;
  const std::string injected_id = "<kill-restart-in-flight@warmup.test>";
  {
    auto db = storage::open_sqlite(db_path);
    before = picture_of(*db);
    natural_pending = db->pending_intents().size();
    ASSERT_GE(before.sent, 20u);
    ASSERT_GT(before.engine_now, 0) << "the node never published engine.now_ms";
    EXPECT_EQ(warmup::format_day(static_cast<day_number>(before.engine_now / warmup::ms_per_day)),
              "2026-01-05");

    // The in-process transport answers within microseconds, so a kill almost never lands
    // between an intent and its outcome. Leave one such intent the way a crash in that
    // window does: written under the node's lease, for a slot of today that the restart
    // will reach (30 to 90 engine minutes ahead), no outcome. It must be reconciled to
    // `skipped` and its slot never sent.
    ASSERT_GE(before.mailboxes.size(), 2u);
    bool found = false;
    for (const auto& m : before.mailboxes) {
      const auto& peer = before.mailboxes[&m == &before.mailboxes.front() ? 1 : 0];
      auto day = warmup::local_day(before.engine_now, m.settings.timezone);
      auto plan = db->plan(m.settings.id, day);
      if (!plan)
        continue;
      for (std::uint32_t i = 0; i < plan->slot_times.size() && !found; ++i) {
        auto at = plan->slot_times[i];
        slot_key key{m.settings.id, day, i};
        if (at < before.engine_now + 30 * warmup::ms_per_minute
            || at > before.engine_now + 90 * warmup::ms_per_minute || before.intents.count(key))
          continue;
        auto shard = warmup::shard_of(m.settings.email, shard_count);
        auto held = db->get_lease(shard);
        ASSERT_TRUE(held) << "no lease on shard " << shard;
        storage::write_batch b;
        b.shard = shard;
        b.epoch = held->epoch;
        b.intents.push_back({key, peer.settings.id, injected_id, at, before.engine_now});
        auto r = db->apply(b);
        ASSERT_FALSE(r.stale_epoch);
        ASSERT_TRUE(r.intent_inserted.at(0));
        injected = key;
        found = true;
      }
      if (found)
        break;
    }
    ASSERT_TRUE(found) << "no planned slot 30-90 engine minutes after the kill";
    pending = db->pending_intents();
    before = picture_of(*db);
  }
  ASSERT_FALSE(pending.empty());

  // 4. Restart the same command for a bounded time; it must stop cleanly.
  auto restart_args = run;
  restart_args.insert(restart_args.end(), {"--for", "6s"});
  auto restarted = warmup(restart_args);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;

  auto db = storage::open_sqlite(db_path, /*read_only=*/true);
  auto after = picture_of(*db);

  // (a) Nothing is left pending: what was in flight was reconciled.
  EXPECT_TRUE(db->pending_intents().empty());

  // (b) Every intent of the killed node is still there, unchanged; the pending ones (and
  // only those) now have the outcome `skipped`.
  std::set<slot_key> was_pending;
  for (const auto& p : pending)
    was_pending.insert(p.key);
  for (const auto& [key, row] : before.intents) {
    auto it = after.intents.find(key);
    ASSERT_NE(it, after.intents.end()) << "intent " << to_string(key) << " vanished";
    const auto& now = it->second;
    EXPECT_EQ(now.intent.to, row.intent.to) << to_string(key);
    EXPECT_EQ(now.intent.message_id, row.intent.message_id) << to_string(key);
    EXPECT_EQ(now.intent.planned_at, row.intent.planned_at) << to_string(key);
    EXPECT_EQ(now.intent.recorded_at, row.intent.recorded_at) << to_string(key);
    ASSERT_TRUE(now.outcome) << to_string(key);
    if (row.outcome) {
      EXPECT_FALSE(was_pending.count(key)) << to_string(key);
      EXPECT_EQ(now.outcome->status, row.outcome->status) << to_string(key);
      EXPECT_EQ(now.outcome->at, row.outcome->at) << to_string(key);
      EXPECT_EQ(now.outcome->detail, row.outcome->detail) << to_string(key);
    } else {
      EXPECT_TRUE(was_pending.count(key)) << to_string(key);
      EXPECT_EQ(now.outcome->status, storage::intent_status::skipped) << to_string(key);
      EXPECT_GE(now.outcome->at, before.engine_now) << to_string(key);
    }
  }
  ASSERT_TRUE(after.intents.count(injected));
  EXPECT_EQ(after.intents.at(injected).outcome->status, storage::intent_status::skipped);
  EXPECT_FALSE(db->find_message(injected_id)) << "the in-flight intent was sent";

  // (c) The restart continued the same engine day from where the killed node was: engine
  // time moved on from the published value (not back to clock.start), every new intent
  // was recorded after it, and at least one mailbox added sends to the local day it had
  // already started. The plans of those days are the same plans, not new ones.
  EXPECT_GT(after.engine_now, before.engine_now);
  EXPECT_GT(after.sent, before.sent) << "the restarted node sent nothing";
  std::set<std::pair<mailbox_id, day_number>> days_before;
  for (const auto& [key, row] : before.intents)
    if (key != injected)
      days_before.insert({key.mailbox, key.day});
  std::size_t continued = 0;
  for (const auto& [key, row] : after.intents) {
    if (before.intents.count(key))
      continue;
    EXPECT_GE(row.intent.recorded_at, before.engine_now) << to_string(key);
    if (days_before.count({key.mailbox, key.day}))
      ++continued;
  }
  EXPECT_GT(continued, 0u) << "no mailbox continued a day it had started before the kill";
  // The scenario covers mailboxes that joined mid-day (slots left out of their plan).
  EXPECT_TRUE(std::any_of(before.plans.begin(), before.plans.end(), [](const auto& kv) {
    const auto& t = kv.second.slot_times;
    return std::find(t.begin(), t.end(), time_ms{-1}) != t.end();
  }));
  // Same plans: the restart re-planned each started day identically, and every opener
  // intent (before and after the kill) is one of that plan's slots at its planned time.
  for (const auto& [day, plan] : before.plans) {
    auto now = after.plans.find(day);
    ASSERT_NE(now, after.plans.end());
    EXPECT_EQ(now->second.slot_times, plan.slot_times) << "plan of mailbox " << day.first;
    EXPECT_EQ(now->second.target, plan.target) << "plan of mailbox " << day.first;
    // The day was planned once: its planned count is not added again.
    ASSERT_TRUE(before.stats.count(day) && after.stats.count(day)) << day.first;
    EXPECT_EQ(after.stats.at(day).planned, before.stats.at(day).planned)
      << "planned count of mailbox " << day.first;
  }
  for (const auto& [key, row] : after.intents) {
    if (key.slot >= warmup::reply_slot_base)
      continue;  // replies are not planned slots
    auto plan = after.plans.find({key.mailbox, key.day});
    ASSERT_NE(plan, after.plans.end()) << to_string(key);
    ASSERT_LT(key.slot, plan->second.slot_times.size()) << to_string(key);
    EXPECT_EQ(row.intent.planned_at, plan->second.slot_times[key.slot]) << to_string(key);
  }

  // (d) No slot was sent twice. The sandbox network died with the process, so the store
  // is the witness: each sent intent has its own Message-ID, registered exactly once,
  // from its mailbox to its recipient, and the registry holds nothing else (a second
  // transmission under a new key or none would add a row).
  std::set<std::string> sent_ids;
  std::size_t sent = 0;
  for (const auto& [key, row] : after.intents) {
    if (!row.outcome || row.outcome->status != storage::intent_status::sent)
      continue;
    ++sent;
    EXPECT_TRUE(sent_ids.insert(row.intent.message_id).second)
      << "two sent intents share " << row.intent.message_id;
    auto reg = db->find_message(row.intent.message_id);
    ASSERT_TRUE(reg) << "sent intent " << to_string(key) << " has no registry row";
    EXPECT_EQ(reg->from, key.mailbox) << to_string(key);
    EXPECT_EQ(reg->to, row.intent.to) << to_string(key);
  }
  EXPECT_EQ(db->count_messages(), sent);

  // (e) The restarted node says how many intents it reconciled.
  auto started = log_line(restarted.err, "node_started");
  EXPECT_TRUE(contains(started, "reconciled=" + std::to_string(pending.size()) + " "))
    << "expected reconciled=" << pending.size() << " in: " << started;
  EXPECT_TRUE(contains(started, "max_epoch=2 ")) << started;
  EXPECT_FALSE(log_line(restarted.err, "node_stopped").empty()) << restarted.err;

  // Figures for the XML report (no timed assertion: CI machines are busy).
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("wall_seconds", std::to_string(seconds));
  RecordProperty("sent_before_kill", static_cast<int>(before.sent));
  RecordProperty("sent_after_restart", static_cast<int>(after.sent));
  RecordProperty("pending_at_kill", static_cast<int>(natural_pending));
}
