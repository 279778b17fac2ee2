// health.cpp: the placement and bounce health of a mailbox over its recent days, weighted
// toward the most recent, and the band the ramp acts on.
#include "warmup/health.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace warmup {

namespace {
constexpr std::array<std::string_view, 5> band_names = {"healthy", "watch", "throttle",
                                                        "pause", "block"};
}  // namespace

std::string_view to_string(health_band b) {
  return band_names[static_cast<std::size_t>(b)];
}

health_report assess_health(std::span<const day_stats> days, day_number today,
                            const health_params& p) {
  double inbox = 0;
  double spam = 0;
  double sent = 0;
  double bounces = 0;
  std::uint64_t placements = 0;  // unweighted: the sample size that earns a band
  std::uint64_t sent_sample = 0;
  for (const day_stats& d : days) {
    const std::int64_t age = static_cast<std::int64_t>(today) - d.day;
    if (age < 0 || age >= p.window_days)
      continue;  // a future day (clock skew) or one that left the window
    const double w = std::pow(p.recency_decay, static_cast<double>(age));
    inbox += w * d.inbox;
    spam += w * d.spam;
    sent += w * d.sent;
    bounces += w * d.bounces;
    placements += std::uint64_t{d.inbox} + d.spam;
    sent_sample += d.sent;
  }

  health_report r;
  r.sample = static_cast<std::uint32_t>(std::min<std::uint64_t>(placements, UINT32_MAX));
  if (inbox + spam > 0) {
    // Both shares are divided out directly (not spam = 1 - inbox) so that 15 of 100 is
    // exactly the 0.15 a threshold is written as.
    r.inbox_rate = inbox / (inbox + spam);
    r.spam_rate = spam / (inbox + spam);
  }
  if (sent > 0)
    r.bounce_rate = bounces / sent;

  health_band band = health_band::healthy;
  if (r.spam_rate >= p.block_spam)
    band = health_band::block;
  else if (r.spam_rate >= p.pause_spam)
    band = health_band::pause;
  else if (r.spam_rate >= p.throttle_spam)
    band = health_band::throttle;
  else if (r.spam_rate >= p.watch_spam)
    band = health_band::watch;
  // A handful of placements says little: a bad start is worth watching, not acting on.
  if (placements < static_cast<std::uint64_t>(std::max(0, p.min_sample)))
    band = std::min(band, health_band::watch);
  // Bounces mean bad addresses or a rejected sender: stop sending whatever placement says.
  if (bounces > 0 && sent_sample >= static_cast<std::uint64_t>(std::max(0, p.min_sample))
      && r.bounce_rate >= p.bounce_pause)
    band = std::max(band, health_band::pause);
  r.band = band;
  return r;
}

day_stats& day_stats::operator+=(const day_stats& d) {
  planned += d.planned;
  sent += d.sent;
  inbox += d.inbox;
  spam += d.spam;
  missing += d.missing;
  bounces += d.bounces;
  replies += d.replies;
  received += d.received;
  rescued += d.rescued;
  skipped += d.skipped;
  return *this;
}

}  // namespace warmup
