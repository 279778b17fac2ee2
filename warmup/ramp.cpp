// ramp.cpp: ramp presets, the day's send target, and the closed loop that moves the ramp
// after each day: advance, throttle, pause, cool-down, gradual recovery.
#include "warmup/ramp.hpp"

#include "warmup/calendar.hpp"
#include "warmup/random.hpp"

#include <algorithm>
#include <cmath>

namespace warmup {

namespace {

constexpr int throttle_floor_percent = 25;  // a throttled ramp never drops below this
constexpr int recovery_step_percent = 10;   // regained per healthy day after a cool-down

ramp_params curve(int start, double step, int ceiling) {
  ramp_params p;
  p.start = start;
  p.step = step;
  p.ceiling = ceiling;
  p.variance = 0.2;
  p.weekdays_only = false;
  p.weekend_factor = 0.3;
  return p;
}

}  // namespace

std::optional<ramp_params> ramp_preset(std::string_view name) {
  if (name == "slow")
    return curve(2, 1.0, 25);
  if (name == "standard")
    return curve(3, 2.0, 40);
  if (name == "fast")
    return curve(5, 3.0, 50);
  return std::nullopt;
}

int base_volume(const ramp_params& p, int ramp_day) {
  const double v = p.start + p.step * std::max(0, ramp_day);
  const double capped = std::min(static_cast<double>(p.ceiling), std::round(v));
  return std::max(0, static_cast<int>(capped));
}

int daily_target(const ramp_params& p, const ramp_state& s, day_number day,
                 std::uint64_t seed) {
  if (s.paused_by_health || s.band >= health_band::pause)
    return 0;
  const bool weekend = is_weekend(day);
  if (weekend && p.weekdays_only)
    return 0;
  rng r{seed};
  const double noise = 1.0 + r.uniform(-1.0, 1.0) * p.variance;
  const double volume = base_volume(p, s.ramp_day) * (weekend ? p.weekend_factor : 1.0)
                        * noise * (s.throttle_percent / 100.0);
  const double rounded = std::round(volume);
  return static_cast<int>(std::clamp(rounded, 0.0, static_cast<double>(std::max(0, p.ceiling))));
}

// The rules, in order:
// 1. Advance: one ramp day per completed sending day (planned > 0, sent >= 80%), but not
//    while cooling down, paused, or when today's report is throttle or worse.
// 2. A block holds: once blocked, only resume_by_user lifts the pause, whatever the
//    later reports say (the user has to look at what went wrong).
// 3. throttle / pause / block cut throttle_percent by throttle_cut (floor 25%) and
//    start a cool-down. Within a cool-down a report of the same band does not cut again
//    (the 7-day window keeps showing the bad days for a while; cutting on each would
//    collapse the ramp for one incident); a worse band does. A throttle report after
//    the cool-down means the cut did not help: cut again.
// 4. pause / block set paused_by_health; a pause re-arms the cool-down every day it is
//    reported, so a paused mailbox waits cooldown_days after its last bad report.
// 5. After the cool-down: a healthy or watch report lifts a health pause (resuming at
//    the lowered throttle_percent); once sending, each healthy day adds 10 points back
//    up to 100. A watch day neither cuts nor recovers.
ramp_state end_of_day(const ramp_params& p, const ramp_state& s, const day_result& r,
                      const health_report& h, const health_params& hp) {
  (void)p;  // the curve itself does not change with the day's outcome
  if (r.day <= s.last_completed)
    return s;
  ramp_state n = s;
  n.last_completed = r.day;

  const bool cooling = r.day < s.cooldown_until;
  const bool completed = r.planned > 0 && std::int64_t{r.sent} * 5 >= std::int64_t{r.planned} * 4;
  if (completed && !cooling && !s.paused_by_health && h.band < health_band::throttle)
    ++n.ramp_day;

  if (s.paused_by_health && s.band == health_band::block)
    return n;  // rule 2

  const auto cut = [&] {
    const double lowered = std::round(n.throttle_percent * (1.0 - hp.throttle_cut));
    n.throttle_percent = std::max(throttle_floor_percent,
                                  std::min(n.throttle_percent, static_cast<int>(lowered)));
  };
  const bool worse = h.band > s.band;
  const day_number cooldown_end = r.day + std::max(0, hp.cooldown_days);

  switch (h.band) {
    case health_band::block:
    case health_band::pause:
      if (!cooling || worse)
        cut();
      n.paused_by_health = true;
      n.cooldown_until = std::max(s.cooldown_until, cooldown_end);
      break;
    case health_band::throttle:
      if (!s.paused_by_health && (!cooling || worse)) {
        cut();
        n.cooldown_until = std::max(s.cooldown_until, cooldown_end);
      }
      break;
    case health_band::watch:
    case health_band::healthy:
      if (cooling)
        break;
      if (s.paused_by_health)
        n.paused_by_health = false;  // resume lower: throttle_percent stays cut today
      else if (h.band == health_band::healthy)
        n.throttle_percent = std::min(100, n.throttle_percent + recovery_step_percent);
      break;
  }
  n.band = h.band;
  return n;
}

ramp_state resume_by_user(const ramp_state& s, day_number day, const health_params& hp) {
  ramp_state n = s;
  n.paused_by_health = false;
  n.band = health_band::healthy;
  n.cooldown_until = std::max(s.cooldown_until, day + std::max(0, hp.cooldown_days));
  return n;
}

}  // namespace warmup
