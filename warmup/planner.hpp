// planner.hpp: one mailbox's plan for one local day: how many sends, when (a human
// two-peak curve inside the window, never on a round minute, at least the minimum gap
// apart), each with an idempotency key. Deterministic: RNG seeded by (mailbox, day).
#pragma once

#include "warmup/ramp.hpp"
#include "warmup/types.hpp"

#include <cstdint>
#include <vector>

namespace warmup {

struct planned_slot {
  std::uint32_t index = 0;   // 0..openers-1, part of the idempotency key
  time_ms at = 0;            // UTC instant of the send
  friend bool operator==(const planned_slot&, const planned_slot&) = default;
};

struct day_plan {
  mailbox_id mailbox = no_mailbox;
  day_number day = 0;        // local day in the mailbox's time zone
  int target = 0;            // total warmup emails for the day (new threads + replies)
  int openers = 0;           // new threads = target - expected replies (>= 1 if target > 0)
  std::vector<planned_slot> slots;  // sorted by time, size == openers
  friend bool operator==(const day_plan&, const day_plan&) = default;
};

// The seed of (mailbox, day): every random choice of a day plan derives from it.
std::uint64_t plan_seed(mailbox_id mailbox, day_number day);

// Plans local day `day` for mailbox `m` in state `s`.
//   target  = daily_target(m.ramp, s, day, plan_seed(...))
//   openers = max(1, target - round(target * reply_rate * 0.5)) when target > 0
//   times   = per opener a peak (0.30 of the window with 55%, else 0.68), minute ~
//             Normal(peak * len, 0.13 * len) clamped to the window; sorted; pushed apart
//             to >= min_gap + U{0..4} minutes (the gap shrinks down to 3 min only when
//             they do not fit in 90% of the window); plus 1..58 s and 0..999 ms.
day_plan plan_day(const mailbox_settings& m, const ramp_state& s, day_number day);

// The same plan written into `out`, reusing its slot vector's capacity: for callers that
// plan many mailboxes in a loop (shards at day start, benchmarks) without an allocation
// per plan (~1.6 us per plan of ~22 slots on the dev machine).
// Both overloads: a user-paused, disconnected or removed mailbox gets an empty plan
// (target 0), and so does a window shorter than a minute; openers are capped to what fits
// in the window at the smallest gap (3 min); slots are pushed apart by whole minutes, so
// each keeps its own seconds; an unknown time zone throws std::invalid_argument.
void plan_day(const mailbox_settings& m, const ramp_state& s, day_number day, day_plan& out);

}  // namespace warmup
