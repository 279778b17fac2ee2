// planner.cpp: one mailbox's send plan for one local day: the target from the ramp, the
// number of new threads, and send times on a two-peak human curve inside the window.
#include "warmup/planner.hpp"

#include "warmup/calendar.hpp"
#include "warmup/random.hpp"

#include <algorithm>
#include <cmath>

namespace warmup {

namespace {

// Domain separation: plan seeds never coincide with seeds other parts derive from the
// same (mailbox, day) pair. The bytes spell "plan_day".
constexpr std::uint64_t plan_domain = 0x706C616E5F646179ull;
// The send-time stream is separate from the target's stream (daily_target draws from
// rng(seed) itself), so the first time draw is not the variance draw.
constexpr std::uint64_t send_time_stream = 1;

constexpr double first_peak = 0.30;        // ~11:00 in an 08:00-18:30 window
constexpr double second_peak = 0.68;       // ~15:00
constexpr double first_peak_share = 0.55;
constexpr double peak_spread = 0.13;       // standard deviation, share of the window
constexpr int gap_jitter_minutes = 4;      // gap = min_gap + U{0..4}
constexpr int shrunk_gap_minutes = 3;      // smallest gap when the day is crowded
constexpr double crowded_share = 0.9;      // gaps must fit in 90% of the window

// A user-paused, disconnected or removed mailbox sends nothing; a restarting one keeps
// its plan (re-planning after a crash must give the same plan).
bool sends(mailbox_state st) {
  return st == mailbox_state::active || st == mailbox_state::throttled
         || st == mailbox_state::restarting;
}

}  // namespace

std::uint64_t plan_seed(mailbox_id mailbox, day_number day) {
  return seed_of(plan_domain, mailbox, static_cast<std::uint32_t>(day));
}

day_plan plan_day(const mailbox_settings& m, const ramp_state& s, day_number day) {
  day_plan plan;
  plan_day(m, s, day, plan);
  return plan;
}

void plan_day(const mailbox_settings& m, const ramp_state& s, day_number day,
              day_plan& out) {
  out.mailbox = m.id;
  out.day = day;
  out.target = 0;
  out.openers = 0;
  out.slots.clear();
  if (!sends(m.state))
    return;
  const std::uint64_t seed = plan_seed(m.id, day);
  const int target = daily_target(m.ramp, s, day, seed);
  if (target <= 0)
    return;
  // The window's real length on this day (DST can shorten or stretch it); send times are
  // laid out in elapsed time from the window's start, so they stay inside it.
  const time_ms start = local_to_utc(day, m.window.start_minute, m.timezone);
  const time_ms end = local_to_utc(day, m.window.end_minute, m.timezone);
  const std::int64_t len_min = (end - start) / ms_per_minute;
  if (len_min < 1)
    return;  // an empty window cannot hold a send

  const double reply_rate = std::clamp(m.engagement.reply_rate, 0.0, 1.0);
  const int expected_replies = static_cast<int>(std::lround(target * reply_rate * 0.5));
  const std::int64_t min_gap = std::max(1, m.window.min_gap_minutes);
  const std::int64_t floor_gap = std::min<std::int64_t>(shrunk_gap_minutes, min_gap);
  // More openers than fit at the smallest gap would have to leave the window. A gap costs
  // up to one minute more than its whole minutes (see the push-apart below).
  const std::int64_t fitting = 1 + (len_min - 1) / (floor_gap + 1);
  const int openers =
    static_cast<int>(std::min<std::int64_t>(std::max(1, target - expected_replies), fitting));
  out.target = target;
  out.openers = openers;

  rng r{seed_of(seed, send_time_stream)};
  const double len = static_cast<double>(len_min);
  // Offsets from the window start in ms: a whole minute on the curve (never past the
  // window's last minute) plus 1..58 s and 0..999 ms, so no send is on a round minute.
  out.slots.resize(static_cast<std::size_t>(openers));
  for (planned_slot& slot : out.slots) {
    const double peak = r.chance(first_peak_share) ? first_peak : second_peak;
    const double minute = std::clamp(r.normal(peak * len, peak_spread * len), 0.0, len - 1);
    const std::int64_t second = r.uniform_int(1, 58);
    const std::int64_t milli = r.uniform_int(0, 999);
    slot.at = static_cast<std::int64_t>(minute) * ms_per_minute + second * ms_per_second
              + milli;
  }
  std::sort(out.slots.begin(), out.slots.end(),
            [](const planned_slot& a, const planned_slot& b) { return a.at < b.at; });

  // Until the final numbering, slot i's index holds its gap (minutes) to slot i-1: no
  // second buffer is needed.
  std::int64_t total_gap = 0;
  for (std::size_t i = 1; i < out.slots.size(); ++i) {
    const std::int64_t gap = min_gap + r.uniform_int(0, gap_jitter_minutes);
    out.slots[i].index = static_cast<std::uint32_t>(gap);
    total_gap += gap + 1;
  }
  if (static_cast<double>(total_gap) > crowded_share * len) {
    // Crowded day: an even share of 90% of the window, never below the smallest gap
    // (the cap on openers above guarantees the smallest gaps fit).
    const auto share = static_cast<std::int64_t>(crowded_share * len)
                       / static_cast<std::int64_t>(out.slots.size() - 1);
    const std::int64_t even = std::max(floor_gap, share - 1);
    for (std::size_t i = 1; i < out.slots.size(); ++i)
      out.slots[i].index = static_cast<std::uint32_t>(
        std::min<std::int64_t>(out.slots[i].index, even));
  }
  // Push apart forward, then pull back from the window's end. Slots move by whole
  // minutes only, so each keeps its own second and millisecond: no send lands on a round
  // minute, and neighbours pushed together do not share the same sub-minute offset (a
  // pattern a filter could spot). The price is up to a minute more per gap, which the
  // fit checks above account for.
  const auto minutes_to_cover = [](time_ms distance) {
    return (distance + ms_per_minute - 1) / ms_per_minute * ms_per_minute;
  };
  for (std::size_t i = 1; i < out.slots.size(); ++i) {
    const time_ms earliest = out.slots[i - 1].at + out.slots[i].index * ms_per_minute;
    if (out.slots[i].at < earliest)
      out.slots[i].at += minutes_to_cover(earliest - out.slots[i].at);
  }
  const time_ms last = (len_min - 1) * ms_per_minute + 58 * ms_per_second + 999;
  for (std::size_t i = out.slots.size(); i-- > 0;) {
    const time_ms latest = i + 1 == out.slots.size()
                             ? last
                             : out.slots[i + 1].at - out.slots[i + 1].index * ms_per_minute;
    if (out.slots[i].at > latest)
      out.slots[i].at -= minutes_to_cover(out.slots[i].at - latest);
  }

  for (std::size_t i = 0; i < out.slots.size(); ++i) {
    out.slots[i].index = static_cast<std::uint32_t>(i);
    out.slots[i].at += start;
  }
}

}  // namespace warmup
