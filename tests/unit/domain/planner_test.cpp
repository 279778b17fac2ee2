// planner_test.cpp: day plans are deterministic, inside the local window (DST days and
// zones far from UTC included), at least the minimum gap apart, never on a round
// minute, with the documented number of openers and a two-peak shape.
#include "warmup/planner.hpp"

#include "warmup/calendar.hpp"
#include "warmup/random.hpp"

#include <date/date.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <set>
#include <string>

namespace {

using warmup::day_number;
using warmup::day_plan;
using warmup::mailbox_settings;
using warmup::ramp_state;
using warmup::time_ms;

constexpr day_number monday = 20458;  // 2026-01-05

time_ms utc(int y, unsigned m, unsigned d, int h, int min) {
  const auto tp = date::sys_days{date::year{y} / date::month{m} / date::day{d}}
                  + std::chrono::hours{h} + std::chrono::minutes{min};
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

day_number day_of(int y, unsigned m, unsigned d) {
  return static_cast<day_number>(
    date::sys_days{date::year{y} / date::month{m} / date::day{d}}.time_since_epoch().count());
}

mailbox_settings mailbox(warmup::mailbox_id id, std::string tz = "Europe/Berlin") {
  mailbox_settings m;
  m.id = id;
  m.email = "box" + std::to_string(id) + "@b.example";
  m.timezone = std::move(tz);
  m.ramp = *warmup::ramp_preset("standard");
  return m;
}

ramp_state at_ramp_day(int n) {
  ramp_state s;
  s.ramp_day = n;
  return s;
}

// Every structural promise of a plan, with the window given as UTC bounds.
void check_plan(const day_plan& p, const mailbox_settings& m, time_ms start, time_ms end,
                bool crowded = false) {
  SCOPED_TRACE(m.timezone + " day " + warmup::format_day(p.day));
  ASSERT_EQ(p.slots.size(), static_cast<std::size_t>(p.openers));
  for (std::size_t i = 0; i < p.slots.size(); ++i) {
    const auto& s = p.slots[i];
    EXPECT_EQ(s.index, i);
    EXPECT_GE(s.at, start);
    EXPECT_LT(s.at, end);
    EXPECT_EQ(warmup::local_day(s.at, m.timezone), p.day);
    const time_ms second = (s.at % warmup::ms_per_minute) / warmup::ms_per_second;
    EXPECT_GE(second, 1) << "slot " << i << " on a round minute";
    EXPECT_LE(second, 58) << "slot " << i;
    if (i > 0) {
      const time_ms gap = s.at - p.slots[i - 1].at;
      const int min_gap = crowded ? 3 : m.window.min_gap_minutes;
      EXPECT_GE(gap, min_gap * warmup::ms_per_minute) << "slots " << i - 1 << ", " << i;
    }
  }
}

TEST(PlannerTest, SameInputsSamePlan) {
  const mailbox_settings m = mailbox(42);
  const ramp_state s = at_ramp_day(10);
  const day_plan a = warmup::plan_day(m, s, monday);
  const day_plan b = warmup::plan_day(m, s, monday);
  EXPECT_EQ(a, b);
  ASSERT_GT(a.openers, 0);
  // The reusing overload gives the same plan, whatever the buffer held before.
  day_plan reused = warmup::plan_day(mailbox(7), at_ramp_day(19), monday + 3);
  warmup::plan_day(m, s, monday, reused);
  EXPECT_EQ(reused, a);
  // A restarting mailbox re-plans exactly what it had planned.
  mailbox_settings restarting = m;
  restarting.state = warmup::mailbox_state::restarting;
  EXPECT_EQ(warmup::plan_day(restarting, s, monday), a);
}

TEST(PlannerTest, DifferentDayOrMailboxDifferentPlan) {
  const ramp_state s = at_ramp_day(10);
  const day_plan a = warmup::plan_day(mailbox(42), s, monday);
  const day_plan next_day = warmup::plan_day(mailbox(42), s, monday + 1);
  const day_plan other = warmup::plan_day(mailbox(43), s, monday);
  ASSERT_FALSE(a.slots.empty());
  ASSERT_FALSE(next_day.slots.empty());
  ASSERT_FALSE(other.slots.empty());
  // Compare times of day, so that it is not just the date that moved.
  EXPECT_NE(a.slots[0].at + warmup::ms_per_day, next_day.slots[0].at);
  EXPECT_NE(a.slots[0].at, other.slots[0].at);
  EXPECT_EQ(a.mailbox, 42u);
  EXPECT_EQ(a.day, monday);
}

TEST(PlannerTest, PlanSeedIsDomainSeparatedAndUnique) {
  std::set<std::uint64_t> seen;
  for (warmup::mailbox_id m = 0; m < 50; ++m)
    for (day_number d = monday; d < monday + 100; ++d) {
      const std::uint64_t seed = warmup::plan_seed(m, d);
      ASSERT_NE(seed, warmup::seed_of(m, static_cast<std::uint64_t>(d)));
      seen.insert(seed);
    }
  EXPECT_EQ(seen.size(), 50u * 100u);
}

TEST(PlannerTest, TargetComesFromTheRampAndOpenersFromTheReplyRate) {
  const mailbox_settings m = mailbox(42);
  for (int ramp_day : {0, 3, 10, 30}) {
    const ramp_state s = at_ramp_day(ramp_day);
    for (day_number d = monday; d < monday + 14; ++d) {
      const day_plan p = warmup::plan_day(m, s, d);
      const int target = warmup::daily_target(m.ramp, s, d, warmup::plan_seed(m.id, d));
      ASSERT_EQ(p.target, target);
      if (target == 0) {
        ASSERT_EQ(p.openers, 0);
        continue;
      }
      const int replies = static_cast<int>(std::lround(target * m.engagement.reply_rate * 0.5));
      ASSERT_EQ(p.openers, std::max(1, target - replies)) << "target " << target;
    }
  }
}

TEST(PlannerTest, OpenersAtTheReplyRateExtremes) {
  mailbox_settings m = mailbox(42);
  m.ramp.variance = 0.0;
  m.engagement.reply_rate = 0.0;
  day_plan p = warmup::plan_day(m, at_ramp_day(10), monday);
  EXPECT_EQ(p.target, 23);
  EXPECT_EQ(p.openers, 23);
  m.engagement.reply_rate = 1.0;
  p = warmup::plan_day(m, at_ramp_day(10), monday);
  EXPECT_EQ(p.openers, 23 - 12);  // round(11.5) = 12 expected replies
  // A single send a day is always a new thread.
  m.ramp = *warmup::ramp_preset("standard");
  m.ramp.start = 1;
  m.ramp.variance = 0.0;
  p = warmup::plan_day(m, at_ramp_day(0), monday);
  EXPECT_EQ(p.target, 1);
  EXPECT_EQ(p.openers, 1);
  EXPECT_EQ(p.slots.size(), 1u);
}

TEST(PlannerTest, SlotsInsideTheWindowGappedAndOffTheMinute) {
  for (warmup::mailbox_id id = 1; id <= 20; ++id) {
    const mailbox_settings m = mailbox(id);
    const ramp_state s = at_ramp_day(static_cast<int>(id));
    for (day_number d = monday; d < monday + 30; ++d) {
      const day_plan p = warmup::plan_day(m, s, d);
      check_plan(p, m, warmup::local_to_utc(d, m.window.start_minute, m.timezone),
                 warmup::local_to_utc(d, m.window.end_minute, m.timezone));
      if (testing::Test::HasFailure())
        return;
    }
  }
}

TEST(PlannerTest, NeighboursDoNotShareTheirSeconds) {
  // Pushing a slot to the minimum gap must not copy its neighbour's seconds: identical
  // sub-minute offsets on consecutive sends would be a machine's signature. By chance two
  // neighbours agree once in 59,000 pairs.
  int same = 0;
  int pairs = 0;
  for (warmup::mailbox_id id = 1; id <= 20; ++id)
    for (day_number d = monday; d < monday + 30; ++d) {
      const day_plan p = warmup::plan_day(mailbox(id), at_ramp_day(15), d);
      for (std::size_t i = 1; i < p.slots.size(); ++i) {
        ++pairs;
        same += p.slots[i].at % warmup::ms_per_minute
                    == p.slots[i - 1].at % warmup::ms_per_minute ? 1 : 0;
      }
    }
  EXPECT_GT(pairs, 10000);
  EXPECT_LE(same, 3);
}

TEST(PlannerTest, MinimumGapFromTheSettings) {
  mailbox_settings m = mailbox(5);
  m.window.min_gap_minutes = 20;
  const ramp_state s = at_ramp_day(10);
  for (day_number d = monday; d < monday + 20; ++d) {
    const day_plan p = warmup::plan_day(m, s, d);
    check_plan(p, m, warmup::local_to_utc(d, 8 * 60, m.timezone),
               warmup::local_to_utc(d, 18 * 60 + 30, m.timezone));
  }
}

TEST(PlannerTest, CrowdedWindowShrinksGapsButNotBelowThreeMinutes) {
  mailbox_settings m = mailbox(9, "UTC");
  m.ramp = *warmup::ramp_preset("fast");
  m.ramp.weekend_factor = 1.0;
  m.window.start_minute = 9 * 60;
  m.window.end_minute = 11 * 60;  // two hours for up to 50 sends
  const ramp_state s = at_ramp_day(30);
  for (day_number d = monday; d < monday + 10; ++d) {
    const day_plan p = warmup::plan_day(m, s, d);
    ASSERT_GE(p.target, 40);
    // Openers are capped to what fits at 3-minute gaps (plus up to a minute each for
    // the seconds kept when pushing apart): 1 + 119 / 4 = 30.
    EXPECT_EQ(p.openers, 30);
    check_plan(p, m, utc(2026, 1, 5, 9, 0) + (d - monday) * warmup::ms_per_day,
               utc(2026, 1, 5, 11, 0) + (d - monday) * warmup::ms_per_day, true);
  }
  // Moderately crowded: four hours for ~20 openers; gaps shrink to an even share.
  m.window.end_minute = 13 * 60;
  m.ramp = *warmup::ramp_preset("standard");
  for (day_number d = monday; d < monday + 10; ++d) {
    const day_plan p = warmup::plan_day(m, at_ramp_day(12), d);
    check_plan(p, m, utc(2026, 1, 5, 9, 0) + (d - monday) * warmup::ms_per_day,
               utc(2026, 1, 5, 13, 0) + (d - monday) * warmup::ms_per_day, true);
  }
}

TEST(PlannerTest, EmptyWindowPlansNothing) {
  mailbox_settings m = mailbox(3);
  m.window.end_minute = m.window.start_minute;
  const day_plan p = warmup::plan_day(m, at_ramp_day(10), monday);
  EXPECT_EQ(p.openers, 0);
  EXPECT_TRUE(p.slots.empty());
}

TEST(PlannerTest, WeekdaysOnlySkipsWeekends) {
  mailbox_settings m = mailbox(11);
  m.ramp.weekdays_only = true;
  const ramp_state s = at_ramp_day(10);
  for (day_number d = monday; d < monday + 14; ++d) {
    const day_plan p = warmup::plan_day(m, s, d);
    if (warmup::is_weekend(d)) {
      EXPECT_EQ(p.target, 0);
      EXPECT_TRUE(p.slots.empty());
    } else {
      EXPECT_GT(p.target, 0);
    }
  }
  // Without weekdays_only a weekend day sends about 30% of a weekday.
  m.ramp.weekdays_only = false;
  m.ramp.variance = 0.0;
  EXPECT_EQ(warmup::plan_day(m, s, monday + 5).target, 7);  // round(23 x 0.3)
}

TEST(PlannerTest, PausedMailboxesPlanNothing) {
  const mailbox_settings m = mailbox(12);
  ramp_state s = at_ramp_day(10);
  s.paused_by_health = true;
  EXPECT_EQ(warmup::plan_day(m, s, monday).target, 0);
  EXPECT_TRUE(warmup::plan_day(m, s, monday).slots.empty());
  for (auto st : {warmup::mailbox_state::paused, warmup::mailbox_state::disconnected,
                  warmup::mailbox_state::removed}) {
    mailbox_settings off = m;
    off.state = st;
    const day_plan p = warmup::plan_day(off, at_ramp_day(10), monday);
    EXPECT_EQ(p.target, 0) << warmup::to_string(st);
    EXPECT_TRUE(p.slots.empty());
  }
  mailbox_settings throttled = m;
  throttled.state = warmup::mailbox_state::throttled;
  EXPECT_GT(warmup::plan_day(throttled, at_ramp_day(10), monday).target, 0);
}

// DST days are Sundays: a weekend factor of 1 gives them a full plan to check.
void check_dst_day(const std::string& tz, day_number day, time_ms start, time_ms end) {
  mailbox_settings m = mailbox(77, tz);
  m.ramp = *warmup::ramp_preset("fast");
  m.ramp.weekend_factor = 1.0;
  EXPECT_EQ(warmup::local_to_utc(day, m.window.start_minute, tz), start);
  for (warmup::mailbox_id id = 70; id < 90; ++id) {
    m.id = id;
    const day_plan p = warmup::plan_day(m, at_ramp_day(15), day);
    ASSERT_GE(p.openers, 20);
    check_plan(p, m, start, end);
  }
}

TEST(PlannerTest, BerlinSpringForwardDay) {
  check_dst_day("Europe/Berlin", day_of(2026, 3, 29), utc(2026, 3, 29, 6, 0),
                utc(2026, 3, 29, 16, 30));
}
TEST(PlannerTest, BerlinFallBackDay) {
  check_dst_day("Europe/Berlin", day_of(2026, 10, 25), utc(2026, 10, 25, 7, 0),
                utc(2026, 10, 25, 17, 30));
}
TEST(PlannerTest, NewYorkSpringForwardDay) {
  check_dst_day("America/New_York", day_of(2026, 3, 8), utc(2026, 3, 8, 12, 0),
                utc(2026, 3, 8, 22, 30));
}
TEST(PlannerTest, NewYorkFallBackDay) {
  check_dst_day("America/New_York", day_of(2026, 11, 1), utc(2026, 11, 1, 13, 0),
                utc(2026, 11, 1, 23, 30));
}

TEST(PlannerTest, ZonesFarFromUtc) {
  // Auckland (NZDT, +13): the local morning is the previous UTC day.
  check_dst_day("Pacific/Auckland", day_of(2026, 1, 18), utc(2026, 1, 17, 19, 0),
                utc(2026, 1, 18, 5, 30));
  const day_plan p = warmup::plan_day(mailbox(5, "Pacific/Auckland"), at_ramp_day(10), monday);
  ASSERT_FALSE(p.slots.empty());
  EXPECT_EQ(warmup::local_day(p.slots.front().at, "UTC"), monday - 1);
  EXPECT_EQ(warmup::local_day(p.slots.front().at, "Pacific/Auckland"), monday);
  // Kolkata (+05:30): half-hour offset, the seconds stay off the minute all the same.
  check_dst_day("Asia/Kolkata", day_of(2026, 1, 18), utc(2026, 1, 18, 2, 30),
                utc(2026, 1, 18, 13, 0));
}

TEST(PlannerTest, SendTimesFollowTwoPeaks) {
  // Over many days, the hours around the two peaks (~11:09 and ~15:08 in an 08:00-18:30
  // window) hold many more sends than the window's edges, and the lunch dip between
  // them fewer than either peak.
  mailbox_settings m = mailbox(21, "UTC");
  std::array<int, 11> per_hour{};  // 08:00 .. 18:30, by hour from 08:00
  for (day_number d = monday; d < monday + 300; ++d) {
    const day_plan p = warmup::plan_day(m, at_ramp_day(10), d);
    const time_ms start = warmup::local_to_utc(d, m.window.start_minute, m.timezone);
    for (const auto& s : p.slots)
      ++per_hour[static_cast<std::size_t>((s.at - start) / warmup::ms_per_hour)];
  }
  const int first_peak = per_hour[2] + per_hour[3];   // 10:00-12:00
  const int second_peak = per_hour[6] + per_hour[7];  // 14:00-16:00
  const int dip = per_hour[4] + per_hour[5];          // 12:00-14:00, between the peaks
  const int edges = per_hour[0] + per_hour[10];       // 08:00-09:00 and 18:00-18:30
  EXPECT_GT(first_peak, 2 * edges);
  EXPECT_GT(second_peak, 2 * edges);
  EXPECT_LT(dip, first_peak);
  EXPECT_LT(dip, second_peak);
  // 55% of openers aim at the first peak.
  EXPECT_GT(per_hour[0] + per_hour[1] + per_hour[2] + per_hour[3] + per_hour[4],
            per_hour[6] + per_hour[7] + per_hour[8] + per_hour[9] + per_hour[10]);
}

TEST(PlannerTest, ReusingOverloadPlansExactlyLikeTheReturningOne) {
  // Speed is measured by bench/plan_bench (figures, not assertions); here only the
  // allocation-free overload's equivalence is checked.
  const mailbox_settings berlin = mailbox(1);
  const mailbox_settings new_york = mailbox(2, "America/New_York");
  day_plan p;
  for (int i = 0; i < 200; ++i) {
    mailbox_settings const& m = (i % 2 == 0) ? berlin : new_york;
    warmup::plan_day(m, at_ramp_day(i % 25), monday + i % 7, p);
    EXPECT_EQ(p, warmup::plan_day(m, at_ramp_day(i % 25), monday + i % 7));
  }
}

}  // namespace
