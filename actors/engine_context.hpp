// engine_context.hpp: what every actor of a node shares: configuration, the clock, the
// pool's mailbox table, the handles of the node's services, and the simulation's
// in-flight work counter. Owned by the node; outlives every actor of the node.
#pragma once

#include "actors/engine_clock.hpp"
#include "actors/mailbox_table.hpp"
#include "config/config.hpp"
#include "messages/interfaces.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace warmup::sandbox {
class network;
}

namespace warmup {

// Counts work in flight (messages sent but not yet fully handled). Only the simulated
// clock uses it: when the count drops to zero, every actor is idle and the driver may
// jump to the next due time. In real and accelerated time it is disabled (no cost).
class work_tracker {
public:
  explicit work_tracker(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  void begin(std::int64_t n = 1) {
    if (enabled_)
      pending_.fetch_add(n, std::memory_order_acq_rel);
  }
  void end() {
    if (enabled_ && pending_.fetch_sub(1, std::memory_order_acq_rel) == 1 && on_idle_)
      on_idle_();
  }
  std::int64_t pending() const { return pending_.load(std::memory_order_acquire); }
  void on_idle(std::function<void()> f) { on_idle_ = std::move(f); }

private:
  bool enabled_;
  std::atomic<std::int64_t> pending_{0};
  std::function<void()> on_idle_;
};

// How late planned sends start (engine time), as a cumulative-free histogram: bucket i
// counts lags <= bounds[i] seconds (and above the previous bound); the last bucket is +Inf.
// Read by the console's /metrics.
struct send_lag_histogram {
  static constexpr std::array<double, 9> bounds{1, 5, 15, 30, 60, 120, 300, 600, 1800};
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets{};
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::int64_t> sum_ms{0};
  void observe(time_ms lag) {
    if (lag < 0)
      lag = 0;
    std::size_t i = 0;
    while (i < bounds.size() && static_cast<double>(lag) > bounds[i] * 1000.0)
      ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum_ms.fetch_add(lag, std::memory_order_relaxed);
  }
};

// Transport error kinds, the labels of the console's error counters. The sandbox never
// fails this way; the SMTP/IMAP transports count into them.
enum class transport_error : std::uint8_t { connect, tls, auth, timeout, protocol, rejected };
constexpr std::array<const char*, 6> transport_error_names{"connect", "tls",     "auth",
                                                           "timeout", "protocol", "rejected"};

// What the store gateway's commits cost: count, batches, rows and time spent in the
// store, for commits a send waits for (intents) and for the lazily written rest.
struct store_commit_counters {
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> rows{0};
  std::atomic<std::uint64_t> micros{0};
};

// Node-wide counters (lock-free), read by status and benchmarks.
struct engine_counters {
  std::atomic<std::uint64_t> sends{0};
  std::atomic<std::uint64_t> send_failures{0};
  std::atomic<std::uint64_t> bounces{0};
  std::atomic<std::uint64_t> receipts{0};
  std::atomic<std::uint64_t> inbox{0};
  std::atomic<std::uint64_t> spam{0};
  std::atomic<std::uint64_t> missing{0};
  std::atomic<std::uint64_t> rescued{0};
  std::atomic<std::uint64_t> replies{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<std::uint64_t> duplicates_refused{0};
  std::atomic<std::uint64_t> wakes{0};
  std::atomic<std::uint64_t> plans{0};
  std::atomic<std::uint64_t> human_replies{0};   // replies a person wrote (real mail)
  // Introspection (console /metrics): lag of each send start behind its planned slot,
  // transport errors by kind, and the rows waiting in the store gateway.
  send_lag_histogram send_lag;
  std::array<std::atomic<std::uint64_t>, transport_error_names.size()> smtp_errors{};
  std::array<std::atomic<std::uint64_t>, transport_error_names.size()> imap_errors{};
  std::atomic<std::uint64_t> store_queued_rows{0};
  store_commit_counters intent_commits;
  store_commit_counters lazy_commits;
};

struct engine_context {
  config::engine_config cfg;
  mutable engine_clock clock = engine_clock::real_time();  // simulated time is set through const pointers
  std::unique_ptr<work_tracker> tracker = std::make_unique<work_tracker>(false);
  mutable engine_counters counters;  // atomics: updated through const pointers
  // Every pool member this node knows, indexed by mailbox id (gaps: id == no_mailbox).
  // Filled at start; mailboxes added to the store while the node runs join through the
  // node's pool watcher (the table's one writer then), readable from every thread.
  mailbox_table mailboxes;
  // Handles, set by the node once spawned, cleared at shutdown.
  std::vector<shard_actor> shards;           // by shard id
  store_actor store;
  transport_actor transport;
  directory_actor directory;
  // The simulated mail network when this node runs on the sandbox (null otherwise). It is
  // thread-safe and answers in well under a microsecond, so mailbox actors call it
  // directly instead of sending through the transport actor: the simulation's hot path
  // then has no single actor every send and every receipt must pass through.
  sandbox::network* sandbox = nullptr;
  std::string node_name;
  // Per shard: its earliest due time (-1: none), published for the simulation driver.
  std::unique_ptr<std::atomic<time_ms>[]> shard_next_due;
  // False while the store gateway cannot reach the store (it keeps every pending write and
  // retries with backoff); the console's /readyz answers 503 then.
  std::atomic<bool> store_ready{true};
  // Per shard (cluster store only; null otherwise): set once the shard's lease is lost (a
  // renewal refused, or a batch rejected as stale). The shard stops at its next tick and
  // the gateway refuses the shard's later writes.
  std::unique_ptr<std::atomic<bool>[]> shard_lease_lost;
  // Sends more than this late are skipped, not sent (the engine was not running).
  time_ms late_limit = 30 * ms_per_minute;

  const mailbox_settings* mailbox(mailbox_id id) const {
    if (id >= mailboxes.size())
      return nullptr;
    const auto& row = mailboxes[id];
    return row.id == id ? &row : nullptr;
  }
};

}  // namespace warmup
