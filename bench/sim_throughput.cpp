// sim_throughput.cpp: simulated warmup throughput of the whole engine (actors, SQLite
// store, sandbox network) on simulated time, beside a plain single-thread priority-queue
// loop over the same number of timed events (the limit reference). Prints figures only.
//
//   sim_throughput [mailboxes=10000] [days=30] [threads=2]
//
// SIM_STORE=discard (a diagnostic, not a figure of the product): the send path's batched
// writes are dropped instead of committed to SQLite (bench/discarding_store.hpp), so the
// run measures the engine alone; the difference to a normal run is the store's share.
#include "actors/node.hpp"
#include "app/demo_pool.hpp"
#include "bench/discarding_store.hpp"
#include "bench/proc_status.hpp"
#include "messages/messages.hpp"
#include "storage/store.hpp"
#include "warmup/random.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <queue>
#include <string>
#include <vector>

using namespace warmup;

namespace {


// The reference: one thread, one priority queue, each event re-arms a later one.
double priority_queue_seconds(std::uint64_t events, std::uint64_t streams) {
  using entry = std::pair<time_ms, std::uint32_t>;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> q;
  rng r(7);
  for (std::uint32_t i = 0; i < streams; ++i)
    q.emplace(static_cast<time_ms>(r.uniform_int(0, ms_per_day)), i);
  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t sum = 0;
  for (std::uint64_t n = 0; n < events; ++n) {
    auto [t, i] = q.top();
    q.pop();
    sum += i;
    q.emplace(t + static_cast<time_ms>(r.uniform_int(60'000, 3'600'000)), i);
  }
  auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (sum == 42)
    std::puts("");  // keeps the loop observable
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int mailboxes = argc > 1 ? std::atoi(argv[1]) : 10000;
  int days = argc > 2 ? std::atoi(argv[2]) : 30;
  int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  spdlog::set_level(spdlog::level::warn);
  auto dir = std::filesystem::temp_directory_path()
             / ("warmup-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  config::engine_config cfg = config::load(std::nullopt, {});
  cfg.data_dir = dir.string();
  cfg.node.scheduler_threads = threads;
  if (const char* rows = std::getenv("SIM_LAZY_COMMIT_ROWS"))   // for comparing settings
    cfg.store.lazy_commit_rows = std::atoi(rows);
  if (const char* ms = std::getenv("SIM_LAZY_COMMIT_MS"))
    cfg.store.lazy_commit_ms = std::atoi(ms);
  if (const char* us = std::getenv("SIM_COMMIT_LINGER_US"))
    cfg.store.commit_linger_us = std::atoi(us);
  auto store = std::shared_ptr<storage::store>(storage::open_sqlite((dir / "warmup.db").string()));
  const char* store_mode = std::getenv("SIM_STORE");
  const bool discard = store_mode != nullptr && std::string(store_mode) == "discard";
  if (store_mode != nullptr && !discard && *store_mode != '\0') {
    std::fprintf(stderr, "SIM_STORE=%s: unknown; the one value is \"discard\"\n", store_mode);
    return 2;
  }
  if (discard)
    store = std::make_shared<bench::discarding_store>(store);
  // Monday 2026-01-05 00:00 UTC.
  time_ms start = 20458LL * ms_per_day;
  auto t_pool = std::chrono::steady_clock::now();
  app::create_demo_pool(*store, cfg, mailboxes, 1, start);
  double pool_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pool).count();
  long rss_before = bench::proc_status_kib("VmRSS:");

  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", threads);
  sys_cfg.add_message_types<caf::id_block::warmup>();
  caf::actor_system sys{sys_cfg};
  std::uint64_t steps = 0;
  double wall = 0;
  std::uint64_t sends = 0, wakes = 0, receipts = 0, replies = 0, inbox = 0, spam = 0,
                rescued = 0, skipped = 0;
  std::uint64_t commits[2] = {}, commit_batches[2] = {}, commit_rows[2] = {}, commit_us[2] = {};
  std::vector<std::pair<double, double>> weekly;  // inbox rate per simulated week
  std::vector<std::uint64_t> throttled_weekly;
  {
    engine_node node(sys, cfg, engine_clock::simulated(start), store);
    auto rep = node.start();
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t last_inbox = 0, last_spam = 0;
    for (int d = 7; d <= days + 6; d += 7) {
      int until = std::min(d, days);
      steps += node.run_until(start + static_cast<time_ms>(until) * ms_per_day);
      auto& c = node.context().counters;
      auto i = c.inbox.load() - last_inbox;
      auto s = c.spam.load() - last_spam;
      last_inbox = c.inbox.load();
      last_spam = c.spam.load();
      weekly.emplace_back(until, i + s ? double(i) / double(i + s) : 0.0);
      std::uint64_t thr = 0;
      for (auto& v : node.shard_views())
        thr += v.by_state[static_cast<std::size_t>(mailbox_state::throttled)]
               + v.by_state[static_cast<std::size_t>(mailbox_state::paused)];
      throttled_weekly.push_back(thr);
      if (until == days)
        break;
    }
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto& c = node.context().counters;
    sends = c.sends;
    wakes = c.wakes;
    receipts = c.receipts;
    replies = c.replies;
    inbox = c.inbox;
    spam = c.spam;
    rescued = c.rescued;
    skipped = c.skipped;
    const store_commit_counters* kinds[2] = {&c.intent_commits, &c.lazy_commits};
    for (int k = 0; k < 2; ++k) {
      commits[k] = kinds[k]->commits;
      commit_batches[k] = kinds[k]->batches;
      commit_rows[k] = kinds[k]->rows;
      commit_us[k] = kinds[k]->micros;
    }
    std::printf("start-up: %zu mailboxes, %zu shards, %.2f s (demo pool created in %.2f s)\n",
                rep.mailboxes, rep.shards, rep.seconds, pool_s);
    node.stop();
  }
  long rss_peak = bench::proc_status_kib("VmHWM:");
  // Timed events of the engine: every mailbox wake (a slot, a receipt, a reply, a day).
  auto events = wakes;
  double pq = priority_queue_seconds(events, static_cast<std::uint64_t>(mailboxes));

  std::printf("simulated warmup: %d mailboxes x %d days on %d scheduler threads\n", mailboxes,
              days, threads);
  if (discard)
    std::printf("  DIAGNOSTIC (SIM_STORE=discard): the send path's writes were dropped, not "
                "stored; these figures are the engine alone\n");
  std::printf("  wall seconds          %.2f\n", wall);
  std::printf("  sends                 %llu (replies %llu)\n", (unsigned long long) sends,
              (unsigned long long) replies);
  std::printf("  simulated sends/s     %.0f\n", double(sends) / wall);
  std::printf("  receipts processed    %llu (rescued from spam %llu, skipped slots %llu)\n",
              (unsigned long long) receipts, (unsigned long long) rescued,
              (unsigned long long) skipped);
  std::printf("  timed events (wakes)  %llu, %.0f/s; clock steps %llu\n",
              (unsigned long long) events, double(events) / wall, (unsigned long long) steps);
  std::printf("  inbox rate overall    %.3f\n", inbox + spam ? double(inbox) / double(inbox + spam) : 0.0);
  for (std::size_t i = 0; i < weekly.size(); ++i)
    std::printf("  through day %2.0f: inbox rate this week %.3f, throttled/paused mailboxes %llu\n",
                weekly[i].first, weekly[i].second, (unsigned long long) throttled_weekly[i]);
  const char* kind_names[2] = {"intent commits", "lazy commits  "};
  for (int k = 0; k < 2; ++k)
    std::printf("  store %s %llu (%.1f per step), %llu batches, %llu rows, %.2f s in the "
                "store (%.1f us per send)\n",
                kind_names[k], (unsigned long long) commits[k],
                steps ? double(commits[k]) / double(steps) : 0.0,
                (unsigned long long) commit_batches[k], (unsigned long long) commit_rows[k],
                double(commit_us[k]) / 1e6, sends ? double(commit_us[k]) / double(sends) : 0.0);
  std::printf("  RSS before actors %ld KiB, peak %ld KiB\n", rss_before, rss_peak);
  std::printf("reference: single-thread priority-queue loop over %llu timed events: %.3f s "
              "(%.0f events/s)\n",
              (unsigned long long) events, pq, double(events) / pq);
  std::printf("ratio engine/reference wall time: %.1f\n", wall / pq);
  if (std::getenv("SIM_KEEP_DB") != nullptr)   // to inspect the store after a run
    std::printf("store kept in %s\n", dir.c_str());
  else
    std::filesystem::remove_all(dir);
  return 0;
}
