// ramp_test.cpp: ramp presets and 60-day curves, variance and weekend bounds, and the
// closed loop: no advance on incomplete or throttled days, throttle cut and gradual
// recovery, pause with cool-down, block until the user resumes, idempotence.
#include "warmup/ramp.hpp"

#include "warmup/calendar.hpp"
#include "warmup/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>

namespace warmup {
// Readable band names in assertion messages (found by ADL).
inline void PrintTo(health_band b, std::ostream* os) {
  *os << to_string(b);
}
}  // namespace warmup

namespace {

using warmup::day_result;
using warmup::health_band;
using warmup::health_params;
using warmup::health_report;
using warmup::ramp_params;
using warmup::ramp_state;

constexpr warmup::day_number monday = 20458;  // 2026-01-05

health_report report(health_band b) {
  health_report h;
  h.band = b;
  return h;
}

// A flat curve without noise: targets are exactly base x weekend x throttle.
ramp_params flat(int start, double step, int ceiling) {
  ramp_params p;
  p.start = start;
  p.step = step;
  p.ceiling = ceiling;
  p.variance = 0.0;
  return p;
}

std::uint64_t seed(warmup::day_number d) {
  return warmup::seed_of(99, static_cast<std::uint64_t>(d));
}

// Folds one day in which everything planned was sent.
ramp_state full_day(const ramp_params& p, const ramp_state& s, warmup::day_number d,
                    health_band band) {
  return warmup::end_of_day(p, s, day_result{d, 10, 10}, report(band), health_params{});
}

TEST(RampTest, Presets) {
  const auto slow = warmup::ramp_preset("slow");
  const auto standard = warmup::ramp_preset("standard");
  const auto fast = warmup::ramp_preset("fast");
  ASSERT_TRUE(slow && standard && fast);
  EXPECT_EQ(slow->start, 2);
  EXPECT_EQ(slow->step, 1.0);
  EXPECT_EQ(slow->ceiling, 25);
  EXPECT_EQ(standard->start, 3);
  EXPECT_EQ(standard->step, 2.0);
  EXPECT_EQ(standard->ceiling, 40);
  EXPECT_EQ(fast->start, 5);
  EXPECT_EQ(fast->step, 3.0);
  EXPECT_EQ(fast->ceiling, 50);
  for (const auto& p : {*slow, *standard, *fast}) {
    EXPECT_EQ(p.variance, 0.2);
    EXPECT_EQ(p.weekend_factor, 0.3);
    EXPECT_FALSE(p.weekdays_only);
  }
  EXPECT_FALSE(warmup::ramp_preset("turbo"));
  EXPECT_FALSE(warmup::ramp_preset(""));
  EXPECT_FALSE(warmup::ramp_preset("Slow"));
}

TEST(RampTest, BaseVolume) {
  const ramp_params p = *warmup::ramp_preset("standard");
  EXPECT_EQ(warmup::base_volume(p, 0), 3);
  EXPECT_EQ(warmup::base_volume(p, 1), 5);
  EXPECT_EQ(warmup::base_volume(p, 18), 39);
  EXPECT_EQ(warmup::base_volume(p, 19), 40);  // 41 capped
  EXPECT_EQ(warmup::base_volume(p, 1000), 40);
  EXPECT_EQ(warmup::base_volume(p, -5), 3);
  EXPECT_EQ(warmup::base_volume(flat(2, 1.5, 30), 1), 4);  // 3.5 rounds up
}

// Sixty days of a mailbox that sends everything it plans and stays healthy.
void check_sixty_days(const std::string& preset) {
  SCOPED_TRACE(preset);
  const ramp_params p = *warmup::ramp_preset(preset);
  ramp_state s;
  int previous_base = 0;
  int sending_days = 0;
  int max_target = 0;
  for (warmup::day_number d = monday; d < monday + 60; ++d) {
    const int base = warmup::base_volume(p, s.ramp_day);
    const int target = warmup::daily_target(p, s, d, seed(d));
    ASSERT_GE(base, previous_base) << "day " << d - monday;
    ASSERT_LE(target, p.ceiling) << "day " << d - monday;
    ASSERT_GE(target, 0);
    const double factor = warmup::is_weekend(d) ? p.weekend_factor : 1.0;
    const double low = std::round(base * factor * (1 - p.variance));
    const double high = std::min<double>(p.ceiling, std::round(base * factor * (1 + p.variance)));
    ASSERT_GE(target, low) << "day " << d - monday;
    ASSERT_LE(target, high) << "day " << d - monday;
    previous_base = base;
    max_target = std::max(max_target, target);
    sending_days += target > 0 ? 1 : 0;
    s = warmup::end_of_day(p, s, day_result{d, target, target}, report(health_band::healthy),
                           health_params{});
  }
  EXPECT_EQ(s.ramp_day, sending_days);  // one step per completed sending day
  EXPECT_EQ(warmup::base_volume(p, s.ramp_day), p.ceiling);
  EXPECT_EQ(max_target, p.ceiling);  // the ceiling is reached, and +20% noise is capped
  EXPECT_EQ(s.throttle_percent, 100);
  EXPECT_FALSE(s.paused_by_health);
}

TEST(RampTest, SixtyDaysSlow) {
  check_sixty_days("slow");
}
TEST(RampTest, SixtyDaysStandard) {
  check_sixty_days("standard");
}
TEST(RampTest, SixtyDaysFast) {
  check_sixty_days("fast");
}

TEST(RampTest, ReachesTheCeilingOnSchedule) {
  // standard without noise: 3 + 2 per completed day, 40 after the 19th, then flat.
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  for (int n = 0; n < 25; ++n) {
    ASSERT_EQ(warmup::daily_target(p, s, monday, seed(monday)), std::min(40, 3 + 2 * n))
      << "after " << n << " days";
    s = full_day(p, s, monday + n, health_band::healthy);
  }
}

TEST(RampTest, WeekendFactor) {
  const ramp_params p = flat(20, 0.0, 100);
  const ramp_state s;
  const warmup::day_number saturday = monday + 5;
  const warmup::day_number sunday = monday + 6;
  EXPECT_EQ(warmup::daily_target(p, s, monday, seed(monday)), 20);
  EXPECT_EQ(warmup::daily_target(p, s, monday + 4, seed(monday + 4)), 20);
  EXPECT_EQ(warmup::daily_target(p, s, saturday, seed(saturday)), 6);
  EXPECT_EQ(warmup::daily_target(p, s, sunday, seed(sunday)), 6);
}

TEST(RampTest, WeekdaysOnly) {
  ramp_params p = *warmup::ramp_preset("standard");
  p.weekdays_only = true;
  ramp_state s;
  int weekdays = 0;
  for (warmup::day_number d = monday; d < monday + 60; ++d) {
    const int target = warmup::daily_target(p, s, d, seed(d));
    if (warmup::is_weekend(d)) {
      ASSERT_EQ(target, 0) << "day " << d - monday;
    } else {
      ASSERT_GT(target, 0);
      ++weekdays;
    }
    const int before = s.ramp_day;
    s = warmup::end_of_day(p, s, day_result{d, target, target}, report(health_band::healthy),
                           health_params{});
    ASSERT_EQ(s.ramp_day, before + (target > 0 ? 1 : 0));
  }
  EXPECT_EQ(weekdays, 44);  // 60 days from a Monday: 8 weeks (40) + Monday..Thursday
  EXPECT_EQ(s.ramp_day, 44);
}

TEST(RampTest, VarianceBounds) {
  const ramp_params p = [] {
    ramp_params x = flat(20, 0.0, 100);
    x.variance = 0.2;
    return x;
  }();
  const ramp_state s;
  int lo = 1000;
  int hi = 0;
  double sum = 0;
  constexpr int n = 4000;
  for (int i = 0; i < n; ++i) {
    const int t = warmup::daily_target(p, s, monday, warmup::seed_of(1, static_cast<std::uint64_t>(i)));
    lo = std::min(lo, t);
    hi = std::max(hi, t);
    sum += t;
  }
  EXPECT_EQ(lo, 16);  // 20 x 0.8
  EXPECT_EQ(hi, 24);  // 20 x 1.2
  EXPECT_NEAR(sum / n, 20.0, 0.2);
  // Deterministic in the seed.
  EXPECT_EQ(warmup::daily_target(p, s, monday, 12345), warmup::daily_target(p, s, monday, 12345));
  // Without variance the target is exactly the base.
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(warmup::daily_target(flat(20, 0.0, 100), s, monday, static_cast<std::uint64_t>(i)), 20);
}

TEST(RampTest, NoAdvanceAfterAnIncompleteDay) {
  const ramp_params p = *warmup::ramp_preset("standard");
  ramp_state s;
  s.ramp_day = 5;
  const auto fold = [&](int planned, int sent) {
    return warmup::end_of_day(p, s, day_result{monday, planned, sent},
                              report(health_band::healthy), health_params{});
  };
  EXPECT_EQ(fold(10, 7).ramp_day, 5);   // 70%
  EXPECT_EQ(fold(10, 8).ramp_day, 6);   // 80% counts
  EXPECT_EQ(fold(10, 12).ramp_day, 6);
  EXPECT_EQ(fold(0, 0).ramp_day, 5);    // nothing planned: not a sending day
  EXPECT_EQ(fold(5, 3).ramp_day, 5);    // 60%
  EXPECT_EQ(fold(5, 4).ramp_day, 6);
  EXPECT_EQ(fold(10, 7).last_completed, monday);  // the day is still folded in
}

TEST(RampTest, ThrottleCutsAndResumesLowerThenRecovers) {
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  s.ramp_day = 10;  // base 23
  const warmup::day_number d = monday;
  s = full_day(p, s, d, health_band::throttle);
  EXPECT_EQ(s.ramp_day, 10);  // no advance on a throttled day
  EXPECT_EQ(s.throttle_percent, 75);  // cut by 25%
  EXPECT_EQ(s.cooldown_until, d + 3);
  EXPECT_EQ(s.band, health_band::throttle);
  EXPECT_FALSE(s.paused_by_health);
  EXPECT_EQ(warmup::daily_target(p, s, d + 1, seed(d + 1)), 17);  // round(23 x 0.75)

  // Cooling down: healthy days neither advance nor recover.
  s = full_day(p, s, d + 1, health_band::healthy);
  s = full_day(p, s, d + 2, health_band::healthy);
  EXPECT_EQ(s.ramp_day, 10);
  EXPECT_EQ(s.throttle_percent, 75);

  // After the cool-down: advance again, and regain 10 points per healthy day.
  s = full_day(p, s, d + 3, health_band::healthy);
  EXPECT_EQ(s.ramp_day, 11);
  EXPECT_EQ(s.throttle_percent, 85);
  s = full_day(p, s, d + 4, health_band::watch);  // watch: advance, but hold the level
  EXPECT_EQ(s.ramp_day, 12);
  EXPECT_EQ(s.throttle_percent, 85);
  s = full_day(p, s, d + 7, health_band::healthy);
  EXPECT_EQ(s.throttle_percent, 95);
  s = full_day(p, s, d + 8, health_band::healthy);
  EXPECT_EQ(s.throttle_percent, 100);
  s = full_day(p, s, d + 9, health_band::healthy);
  EXPECT_EQ(s.throttle_percent, 100);
  EXPECT_EQ(s.ramp_day, 15);
}

TEST(RampTest, ThrottleCutsOncePerCooldownAndAgainIfItPersists) {
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  s = full_day(p, s, monday, health_band::throttle);
  EXPECT_EQ(s.throttle_percent, 75);
  // The bad days stay in the 7-day window: the same band during the cool-down holds.
  s = full_day(p, s, monday + 1, health_band::throttle);
  s = full_day(p, s, monday + 2, health_band::throttle);
  EXPECT_EQ(s.throttle_percent, 75);
  EXPECT_EQ(s.cooldown_until, monday + 3);
  // Still throttled after the cool-down: the cut did not help, cut again.
  s = full_day(p, s, monday + 3, health_band::throttle);
  EXPECT_EQ(s.throttle_percent, 56);
  EXPECT_EQ(s.cooldown_until, monday + 6);
  EXPECT_EQ(s.ramp_day, 0);
  // Repeated cuts stop at the floor.
  for (warmup::day_number d = monday + 4; d < monday + 40; ++d)
    s = full_day(p, s, d, health_band::throttle);
  EXPECT_EQ(s.throttle_percent, 25);
  EXPECT_EQ(s.ramp_day, 0);
}

TEST(RampTest, AWorseBandCutsEvenWhileCooling) {
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  s = full_day(p, s, monday, health_band::throttle);
  s = full_day(p, s, monday + 1, health_band::pause);
  EXPECT_EQ(s.throttle_percent, 56);
  EXPECT_TRUE(s.paused_by_health);
}

TEST(RampTest, ThrottleCutUsesTheParams) {
  health_params hp;
  hp.throttle_cut = 0.5;
  hp.cooldown_days = 5;
  const ramp_state s = warmup::end_of_day(flat(3, 2.0, 40), ramp_state{},
                                          day_result{monday, 10, 10},
                                          report(health_band::throttle), hp);
  EXPECT_EQ(s.throttle_percent, 50);
  EXPECT_EQ(s.cooldown_until, monday + 5);
}

TEST(RampTest, PauseAndCooldown) {
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  s.ramp_day = 10;
  const warmup::day_number d = monday;
  s = full_day(p, s, d, health_band::pause);
  EXPECT_TRUE(s.paused_by_health);
  EXPECT_EQ(s.band, health_band::pause);
  EXPECT_EQ(s.throttle_percent, 75);
  EXPECT_EQ(s.cooldown_until, d + 3);
  EXPECT_EQ(warmup::daily_target(p, s, d + 1, seed(d + 1)), 0);
  // Another pause report re-arms the cool-down, without a second cut.
  s = full_day(p, s, d + 1, health_band::pause);
  EXPECT_EQ(s.cooldown_until, d + 4);
  EXPECT_EQ(s.throttle_percent, 75);
  // Healthy, but still cooling: stays paused, even with a (spurious) sending day.
  s = full_day(p, s, d + 2, health_band::healthy);
  s = full_day(p, s, d + 3, health_band::healthy);
  EXPECT_TRUE(s.paused_by_health);
  EXPECT_EQ(s.ramp_day, 10);
  EXPECT_EQ(warmup::daily_target(p, s, d + 3, seed(d + 3)), 0);
  // Cool-down over: resume, lower than before.
  s = full_day(p, s, d + 4, health_band::healthy);
  EXPECT_FALSE(s.paused_by_health);
  EXPECT_EQ(s.throttle_percent, 75);
  EXPECT_EQ(warmup::daily_target(p, s, d + 7, seed(d + 7)), 17);
  // Then recover gradually.
  s = full_day(p, s, d + 7, health_band::healthy);
  EXPECT_EQ(s.throttle_percent, 85);
  EXPECT_EQ(s.ramp_day, 11);
}

TEST(RampTest, ThrottleReportDoesNotLiftAPause) {
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  s = full_day(p, s, monday, health_band::pause);
  for (warmup::day_number d = monday + 1; d < monday + 10; ++d)
    s = full_day(p, s, d, health_band::throttle);
  EXPECT_TRUE(s.paused_by_health);
  s = full_day(p, s, monday + 10, health_band::watch);  // watch is good enough to resume
  EXPECT_FALSE(s.paused_by_health);
  EXPECT_EQ(s.throttle_percent, 75);
}

TEST(RampTest, BlockHoldsUntilTheUserResumes) {
  const ramp_params p = flat(3, 2.0, 40);
  ramp_state s;
  s.ramp_day = 10;
  s = full_day(p, s, monday, health_band::block);
  EXPECT_TRUE(s.paused_by_health);
  EXPECT_EQ(s.band, health_band::block);
  // Healthy reports long after the cool-down do not lift a block.
  for (warmup::day_number d = monday + 1; d < monday + 15; ++d)
    s = full_day(p, s, d, health_band::healthy);
  EXPECT_TRUE(s.paused_by_health);
  EXPECT_EQ(s.band, health_band::block);
  EXPECT_EQ(s.ramp_day, 10);
  EXPECT_EQ(warmup::daily_target(p, s, monday + 15, seed(monday + 15)), 0);

  const warmup::day_number resumed = monday + 15;
  s = warmup::resume_by_user(s, resumed, health_params{});
  EXPECT_FALSE(s.paused_by_health);
  EXPECT_EQ(s.band, health_band::healthy);
  EXPECT_EQ(s.throttle_percent, 75);  // resumes lower
  EXPECT_EQ(s.cooldown_until, resumed + 3);
  EXPECT_EQ(warmup::daily_target(p, s, resumed, seed(resumed)), 17);
  s = full_day(p, s, resumed, health_band::healthy);
  EXPECT_EQ(s.ramp_day, 10);  // cooling after the resume
  s = full_day(p, s, resumed + 3, health_band::healthy);
  EXPECT_EQ(s.ramp_day, 11);
  EXPECT_EQ(s.throttle_percent, 85);
  // Still-bad data blocks again.
  s = full_day(p, s, resumed + 4, health_band::block);
  EXPECT_TRUE(s.paused_by_health);
  EXPECT_EQ(s.band, health_band::block);
}

TEST(RampTest, IdempotentPerDay) {
  const ramp_params p = *warmup::ramp_preset("standard");
  ramp_state s;
  s = full_day(p, s, monday, health_band::healthy);
  const ramp_state once = s;
  EXPECT_EQ(full_day(p, s, monday, health_band::healthy), once);
  EXPECT_EQ(full_day(p, s, monday, health_band::block), once);  // replay ignored entirely
  EXPECT_EQ(full_day(p, s, monday - 3, health_band::throttle), once);
  const ramp_state twice = full_day(p, s, monday + 1, health_band::healthy);
  EXPECT_EQ(twice.ramp_day, 2);
  EXPECT_EQ(twice.last_completed, monday + 1);
}

TEST(RampTest, PausedByHealthTargetsZero) {
  const ramp_params p = *warmup::ramp_preset("fast");
  ramp_state s;
  s.ramp_day = 20;
  s.paused_by_health = true;
  for (warmup::day_number d = monday; d < monday + 14; ++d)
    ASSERT_EQ(warmup::daily_target(p, s, d, seed(d)), 0);
  s.paused_by_health = false;
  EXPECT_GT(warmup::daily_target(p, s, monday, seed(monday)), 0);
}

}  // namespace
