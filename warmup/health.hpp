// health.hpp: placement and bounce health over the last 7 days, recent days weighted,
// mapped to bands (healthy, watch, throttle, pause, block).
#pragma once

#include "warmup/types.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace warmup {

enum class health_band : std::uint8_t { healthy, watch, throttle, pause, block };
std::string_view to_string(health_band b);

struct health_params {
  double watch_spam = 0.10;     // spam share that starts "watch"
  double throttle_spam = 0.15;  // ... "throttle" (ramp cut)
  double pause_spam = 0.20;     // ... "pause"
  double block_spam = 0.40;     // ... "block" (needs the user)
  double bounce_pause = 0.05;   // bounce rate that pauses
  int min_sample = 20;          // fewer placements than this: no band above "watch"
  int window_days = 7;
  double recency_decay = 0.85;  // weight of day d-k is decay^k
  double throttle_cut = 0.25;   // share cut from the ramp on throttle
  int cooldown_days = 3;        // days before a throttled/paused mailbox recovers
  friend bool operator==(const health_params&, const health_params&) = default;
};

// One mailbox's counters for one local day (as a sender, except `received`).
struct day_stats {
  day_number day = 0;
  std::uint32_t planned = 0;
  std::uint32_t sent = 0;
  std::uint32_t inbox = 0;      // our mail seen in the recipient's inbox
  std::uint32_t spam = 0;       // ... seen in the recipient's spam folder
  std::uint32_t missing = 0;    // ... not found
  std::uint32_t bounces = 0;
  std::uint32_t replies = 0;    // replies this mailbox sent
  std::uint32_t received = 0;   // warmup mail this mailbox processed as a recipient
  std::uint32_t rescued = 0;    // ... of which it rescued from spam
  std::uint32_t skipped = 0;    // slots skipped (reconciled after a crash, transport errors)
  friend bool operator==(const day_stats&, const day_stats&) = default;
  // Adds another delta of the same row (the day is kept).
  day_stats& operator+=(const day_stats& d);
};

struct health_report {
  double inbox_rate = 1.0;      // weighted inbox / (inbox + spam), 1.0 with no data
  double spam_rate = 0.0;       // 1 - inbox_rate when there is data
  double bounce_rate = 0.0;     // weighted bounces / sent
  std::uint32_t sample = 0;     // placements counted (unweighted)
  health_band band = health_band::healthy;
};

// Assesses days in (today - window_days, today]; `days` may be in any order and may
// contain older days, which are ignored.
health_report assess_health(std::span<const day_stats> days, day_number today,
                            const health_params& p);

}  // namespace warmup
