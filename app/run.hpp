// run.hpp: `warmup run`: starts a node (actor system, shards, clock, store gateway,
// transport) on the configured store and runs until stopped or --for elapses.
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <optional>

namespace warmup::app {

struct run_options {
  std::optional<int> demo;             // create N sandbox mailboxes when the store is empty
  std::optional<double> for_seconds;   // stop cleanly after this much wall time
  std::optional<std::uint64_t> seed;   // demo/sandbox seed override
  // The database unreachable at start-up: exit 2 at once instead of retrying with backoff.
  bool no_wait = false;
};

// Returns the process exit code (0 clean stop, 1 runtime failure, 2 bad input).
int run_node(const config::engine_config& cfg, const run_options& opts);

}  // namespace warmup::app
