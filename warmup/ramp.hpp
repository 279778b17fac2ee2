// ramp.hpp: the warmup volume ramp: presets, the day's target, and how the ramp moves
// after a day (advance, throttle, pause, cool-down) given the health assessment.
#pragma once

#include "warmup/health.hpp"
#include "warmup/types.hpp"

#include <optional>
#include <string_view>

namespace warmup {

// Named ramp curves: "slow" (2, +1, 25), "standard" (3, +2, 40), "fast" (5, +3, 50).
std::optional<ramp_params> ramp_preset(std::string_view name);

// Per-mailbox ramp progress, persisted in the store with the shard's epoch.
struct ramp_state {
  int ramp_day = 0;                  // completed sending days the ramp has counted
  int throttle_percent = 100;        // 100 = full ramp; cut by ~25% per throttle
  day_number cooldown_until = 0;     // no advance (and pause holds) until this local day
  day_number last_completed = 0;     // last local day folded in by end_of_day (0 = none)
  health_band band = health_band::healthy;
  bool paused_by_health = false;     // paused by the bands (not by the user)
  friend bool operator==(const ramp_state&, const ramp_state&) = default;
};

// The day's send target before variance: min(ceiling, start + step * ramp_day).
int base_volume(const ramp_params& p, int ramp_day);
// The target for local day `day`: base volume x weekend factor x (1 + U(-1,1) x variance)
// x throttle%, rounded, clamped to [0, ceiling]; 0 while paused. Deterministic in `seed`.
int daily_target(const ramp_params& p, const ramp_state& s, day_number day,
                 std::uint64_t seed);

// What happened on a finished local day, as far as the ramp cares.
struct day_result {
  day_number day = 0;
  int planned = 0;
  int sent = 0;
};

// Folds a finished day into the ramp: advances ramp_day only when the day was a
// completed sending day (planned > 0 and sent >= 80% of planned) and the mailbox is
// neither throttled nor cooling down; then applies the health report's band (throttle
// cuts throttle_percent by params.throttle_cut, pause sets paused_by_health, recovery
// after the cool-down resumes lower and raises throttle_percent step by step).
// Idempotent: a day <= last_completed is ignored.
ramp_state end_of_day(const ramp_params& p, const ramp_state& s, const day_result& r,
                      const health_report& h, const health_params& hp);

// The user's "resume" of a mailbox the bands paused (the only way out of a block):
// clears the health pause and starts a cool-down from local day `day`, so the ramp
// neither advances nor recovers at once and throttle_percent stays where the cuts left
// it. If the next report is still bad, end_of_day pauses (or blocks) again.
ramp_state resume_by_user(const ramp_state& s, day_number day, const health_params& hp);

}  // namespace warmup
