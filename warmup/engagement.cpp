// engagement.cpp: the recipient's engagement decision for one warmup message.
#include "warmup/engagement.hpp"

#include "warmup/random.hpp"

#include <algorithm>

namespace warmup {

namespace {

constexpr double open_min_ms = 2.0 * ms_per_minute;
constexpr double open_max_ms = 8.0 * ms_per_hour;
constexpr double rescue_min_ms = 3.0 * ms_per_minute;
constexpr double rescue_max_ms = 40.0 * ms_per_minute;
constexpr double reply_median_ms = 3.5 * ms_per_hour;
constexpr double reply_sigma = 1.0;
constexpr double reply_min_ms = 20.0 * ms_per_minute;
constexpr double reply_max_ms = 36.0 * ms_per_hour;

// A rate that applies only to opened messages, rescaled so that its share of ALL
// messages stays the configured rate (a human does not star or answer unread mail).
double given_read(double rate, double read_rate) {
  if (read_rate <= 0.0)
    return 0.0;
  return std::clamp(rate / read_rate, 0.0, 1.0);
}

}  // namespace

engagement_plan decide_engagement(const engagement_params& p, std::uint64_t seed,
                                  int turn) {
  rng r(seed);
  engagement_plan out;
  // Every value is drawn on every call, in a fixed order, so that changing one rate
  // never shifts the random stream of the others (re-deciding stays stable).
  const double open = r.log_uniform(open_min_ms, open_max_ms);
  const bool read = r.chance(p.read_rate);
  const bool important = r.chance(given_read(p.important_rate, p.read_rate));
  const bool star = r.chance(given_read(p.star_rate, p.read_rate));
  const bool rescue = r.chance(p.rescue_rate);
  const double rescue_delay = r.uniform(rescue_min_ms, rescue_max_ms);
  const bool reply = r.chance(given_read(p.reply_rate, p.read_rate));
  const double reply_delay = std::clamp(r.lognormal(reply_median_ms, reply_sigma),
                                        reply_min_ms, reply_max_ms);
  const double think = r.uniform(1.0 * ms_per_minute, 15.0 * ms_per_minute);

  out.open_delay = static_cast<time_ms>(open);
  out.read = read;
  out.important = read && important;
  out.star = read && star;
  out.rescue = rescue;
  out.rescue_delay = rescue ? static_cast<time_ms>(rescue_delay) : 0;
  out.reply = read && reply && turn < p.max_thread_turns;
  if (out.reply) {
    // One answers after having opened the message. The reply time keeps its own
    // distribution (it is what the other side sees); when it falls before the drawn open,
    // the open moves to a short "thinking" time before the reply (>= 5 min after
    // arrival, since replies come >= 20 min after it and thinking takes <= 15 min).
    out.reply_delay = static_cast<time_ms>(reply_delay);
    if (open + think > reply_delay)
      out.open_delay = static_cast<time_ms>(std::max(open_min_ms, reply_delay - think));
  }
  return out;
}

}  // namespace warmup
