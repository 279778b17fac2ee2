// advise.hpp: `warmup advise`: a scaling recommendation from a running node's live figures
// (mailboxes per node against measured capacity, overdue backlog, send lag, missed daily
// quotas, transport error rate). Pure: the figures come in, the advice comes out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warmup::app {

// Mailboxes one node runs on time: the largest pool bench/sim_throughput has run on the
// project's 2-core reference machine (README "Figures": `sim_throughput 10000 30`, 0 skipped
// slots, 9.1k sends/s on simulated time, peak RSS 360 MiB). ASSUMPTION: it is the largest
// pool measured, not a limit found by overloading a node; live lag and overdue figures
// override it when a node falls behind with fewer.
constexpr std::uint64_t measured_mailboxes_per_node = 10'000;

// Thresholds of the decision table (each named in the explanation when it trips).
struct advise_limits {
  std::uint64_t capacity_per_node = measured_mailboxes_per_node;
  double high_load = 0.8;              // above this share of capacity: plan a node
  double low_load = 0.3;               // below this share across the remaining nodes: one fewer
  double overdue_share = 0.01;         // overdue / planned today above this: behind
  std::uint64_t overdue_min = 10;      // ... and at least this many overdue slots
  double lag_p95_seconds = 300;        // the overdue grace: p95 lag beyond it is behind
  double missed_share = 0.25;          // sent this far below the plan for the elapsed day
  std::uint64_t missed_min_expected = 20;   // fewer expected sends: not judged
  double error_share = 0.05;           // transport errors / attempts above this: fix first
  std::uint64_t error_min_attempts = 20;    // fewer attempts: not judged
};

// A Prometheus histogram: cumulative counts by upper bound (ascending, +Inf last).
struct histogram_buckets {
  std::vector<std::pair<double, double>> buckets;   // (le, cumulative count)
  double sum = 0;
  double count = 0;
};

// The figures advise() judges, as read from /api/v1/node, /api/v1/status and /metrics.
struct advise_inputs {
  std::string node;                      // the node's name
  std::uint32_t shard_count = 0;         // shards of the whole pool
  std::uint32_t shards_running = 0;      // shards this node runs
  std::uint32_t shards_missing = 0;      // shards that did not answer
  std::uint64_t node_mailboxes = 0;      // mailboxes this node's shards run (not removed)
  std::uint64_t total_mailboxes = 0;     // mailboxes in the store (not removed)
  std::uint64_t planned_today = 0;       // plan slots in today (UTC day, engine clock)
  std::uint64_t sends_today = 0;
  std::uint64_t overdue = 0;
  double day_elapsed = 0;                // share of the UTC engine day gone, 0 to 1
  histogram_buckets send_lag;            // seconds
  std::uint64_t sends_total = 0;         // since the node started
  std::uint64_t send_failures_total = 0;
  std::uint64_t smtp_errors_total = 0;
  std::uint64_t imap_errors_total = 0;
};

enum class advise_verdict { healthy, add_nodes, remove_node, fix_first };
std::string_view to_string(advise_verdict v);

struct advice {
  advise_verdict verdict = advise_verdict::healthy;
  int node_change = 0;             // +N nodes to add, -1 to remove one, 0 none
  std::string recommendation;      // one line: "add 1 node", "healthy: no change", ...
  std::string explanation;         // one paragraph naming the figures
  // The figures as judged (for --json).
  std::uint32_t nodes = 1;                 // estimated from the shards this node runs
  double load = 0;                         // node mailboxes / capacity
  double overdue_share = 0;
  std::optional<double> lag_p50, lag_p95, lag_p99;   // none without sends
  double expected_by_now = 0;
  double missed_share = 0;                 // 0 when not judged
  std::uint64_t errors = 0;
  std::uint64_t attempts = 0;
  double error_share = 0;
};

advice advise(const advise_inputs& in, const advise_limits& limits = {});

// The q-quantile (0..1) of a histogram by linear interpolation inside its bucket (as
// Prometheus's histogram_quantile); nullopt when it has no observations. A quantile in the
// +Inf bucket is the highest finite bound.
std::optional<double> histogram_quantile(const histogram_buckets& h, double q);

// One sample of the Prometheus text format.
struct metric_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
// Parses the text exposition format (comments skipped, label values unescaped); lines that
// do not parse are skipped.
std::vector<metric_sample> parse_metrics(std::string_view text);
// Sum of every sample of `name` whose labels include `match`.
double metric_sum(const std::vector<metric_sample>& samples, std::string_view name,
                  const std::map<std::string, std::string>& match = {});
// The histogram `name` (samples name_bucket, name_sum, name_count).
histogram_buckets metric_histogram(const std::vector<metric_sample>& samples,
                                   std::string_view name);

}  // namespace warmup::app
