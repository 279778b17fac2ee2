// demo_pool.hpp: the sandbox demo pool `warmup run --demo N` creates in an empty store.
#pragma once

#include "config/config.hpp"
#include "storage/store.hpp"

#include <cstdint>

namespace warmup::app {

// Creates `n` sandbox mailboxes over the configured simulated providers: organisations
// of 1-12 mailboxes with their own domains, several time zones, mostly the configured
// ramp, and one mailbox in twenty pushed too fast (to show the health throttle at work).
void create_demo_pool(storage::store& store, const config::engine_config& cfg, int n,
                      std::uint64_t seed, time_ms now);

}  // namespace warmup::app
