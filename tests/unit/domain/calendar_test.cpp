// calendar_test.cpp: local days, DST-correct local-to-UTC conversion (spring-forward and
// fall-back in Berlin and New York, zones far from UTC), windows and day text.
#include "warmup/calendar.hpp"

#include <date/date.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using warmup::day_number;
using warmup::time_ms;

// Expected instants come from the civil calendar alone (date.h, no time zones), so the
// zone code is checked against offsets read from tzdata by hand (zdump).
time_ms utc(int y, unsigned m, unsigned d, int h, int min, int s = 0) {
  const auto tp = date::sys_days{date::year{y} / date::month{m} / date::day{d}}
                  + std::chrono::hours{h} + std::chrono::minutes{min} + std::chrono::seconds{s};
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

day_number day_of(int y, unsigned m, unsigned d) {
  return static_cast<day_number>(
    date::sys_days{date::year{y} / date::month{m} / date::day{d}}.time_since_epoch().count());
}

constexpr int at(int h, int m) {
  return h * 60 + m;
}

const warmup::window_params office{at(8, 0), at(18, 30), 12};

TEST(CalendarTest, ValidTimezones) {
  EXPECT_TRUE(warmup::valid_timezone("Europe/Berlin"));
  EXPECT_TRUE(warmup::valid_timezone("America/New_York"));
  EXPECT_TRUE(warmup::valid_timezone("UTC"));
  EXPECT_TRUE(warmup::valid_timezone("Asia/Kolkata"));
  EXPECT_FALSE(warmup::valid_timezone("Mars/Olympus_Mons"));
  EXPECT_FALSE(warmup::valid_timezone(""));
  EXPECT_FALSE(warmup::valid_timezone("europe/berlin"));  // names are case-sensitive
  // Asking again (now cached) gives the same answers.
  EXPECT_TRUE(warmup::valid_timezone("Europe/Berlin"));
  EXPECT_FALSE(warmup::valid_timezone("Mars/Olympus_Mons"));
}

TEST(CalendarTest, UnknownZoneThrowsWithItsName) {
  try {
    warmup::local_day(0, "Mars/Olympus_Mons");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find("Mars/Olympus_Mons"), std::string::npos);
  }
}

TEST(CalendarTest, FormatAndParseDays) {
  EXPECT_EQ(warmup::format_day(0), "1970-01-01");
  EXPECT_EQ(warmup::format_day(day_of(2026, 11, 28)), "2026-11-28");
  EXPECT_EQ(warmup::format_day(-1), "1969-12-31");
  day_number d = 0;
  ASSERT_TRUE(warmup::parse_day("2026-11-28", d));
  EXPECT_EQ(d, day_of(2026, 11, 28));
  ASSERT_TRUE(warmup::parse_day("2024-02-29", d));
  EXPECT_EQ(d, day_of(2024, 2, 29));
  for (day_number x = day_of(2023, 12, 25); x < day_of(2025, 1, 10); ++x) {
    ASSERT_TRUE(warmup::parse_day(warmup::format_day(x), d));
    ASSERT_EQ(d, x);
  }
  d = 123;
  for (const char* bad : {"2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-1-01",
                          "2026/01/01", "abcd-ef-gh", "", "2026-01-011", " 2026-01-01"}) {
    EXPECT_FALSE(warmup::parse_day(bad, d)) << bad;
    EXPECT_EQ(d, 123) << "output touched on failure for " << bad;
  }
}

TEST(CalendarTest, Weekdays) {
  EXPECT_EQ(warmup::weekday(0), 3);  // 1970-01-01 was a Thursday
  EXPECT_EQ(warmup::weekday(day_of(2026, 11, 28)), 5);  // Saturday
  EXPECT_EQ(warmup::weekday(day_of(2026, 11, 29)), 6);
  EXPECT_EQ(warmup::weekday(day_of(2026, 11, 30)), 0);  // Monday
  EXPECT_EQ(warmup::weekday(-1), 2);  // 1969-12-31, a Wednesday
  EXPECT_EQ(warmup::weekday(-4), 6);
  EXPECT_TRUE(warmup::is_weekend(day_of(2026, 11, 28)));
  EXPECT_TRUE(warmup::is_weekend(day_of(2026, 11, 29)));
  EXPECT_FALSE(warmup::is_weekend(day_of(2026, 11, 27)));
  EXPECT_FALSE(warmup::is_weekend(day_of(2026, 11, 30)));
  for (day_number d = -30; d < 30; ++d)
    ASSERT_EQ(warmup::weekday(d + 7), warmup::weekday(d));
}

TEST(CalendarTest, PlainDaysInUtcAndBerlin) {
  const day_number d = day_of(2026, 1, 15);
  EXPECT_EQ(warmup::local_to_utc(d, at(8, 0), "UTC"), utc(2026, 1, 15, 8, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(8, 0), "Europe/Berlin"), utc(2026, 1, 15, 7, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(18, 30), "Europe/Berlin"), utc(2026, 1, 15, 17, 30));
  EXPECT_EQ(warmup::local_midnight(d, "Europe/Berlin"), utc(2026, 1, 14, 23, 0));
  // 23:30 UTC is already tomorrow in Berlin, still today in UTC.
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 15, 23, 30), "UTC"), d);
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 15, 23, 30), "Europe/Berlin"), d + 1);
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 14, 23, 0), "Europe/Berlin"), d);
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 14, 23, 0) - 1, "Europe/Berlin"), d - 1);
  // Before 1970 the floor, not truncation, decides the day.
  EXPECT_EQ(warmup::local_day(-1, "UTC"), -1);
}

TEST(CalendarTest, BerlinSpringForward) {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC; the day has 23 hours.
  const day_number d = day_of(2026, 3, 29);
  const char* tz = "Europe/Berlin";
  EXPECT_EQ(warmup::local_to_utc(d, at(8, 0), tz), utc(2026, 3, 29, 6, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(18, 30), tz), utc(2026, 3, 29, 16, 30));
  EXPECT_EQ(warmup::local_to_utc(d - 1, at(8, 0), tz), utc(2026, 3, 28, 7, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(1, 59), tz), utc(2026, 3, 29, 0, 59));
  // 02:00..02:59 do not exist: they map to the first instant after the gap (03:00 CEST).
  EXPECT_EQ(warmup::local_to_utc(d, at(2, 0), tz), utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(2, 30), tz), utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(3, 0), tz), utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(warmup::local_midnight(d, tz), utc(2026, 3, 28, 23, 0));
  EXPECT_EQ(warmup::local_midnight(d + 1, tz) - warmup::local_midnight(d, tz),
            23 * warmup::ms_per_hour);
}

TEST(CalendarTest, BerlinFallBack) {
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00 UTC; the day has 25 hours.
  const day_number d = day_of(2026, 10, 25);
  const char* tz = "Europe/Berlin";
  EXPECT_EQ(warmup::local_to_utc(d, at(8, 0), tz), utc(2026, 10, 25, 7, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(18, 30), tz), utc(2026, 10, 25, 17, 30));
  EXPECT_EQ(warmup::local_to_utc(d - 1, at(8, 0), tz), utc(2026, 10, 24, 6, 0));
  // 02:30 happens twice; the earlier (CEST) one is chosen.
  EXPECT_EQ(warmup::local_to_utc(d, at(2, 30), tz), utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(warmup::local_to_utc(d, at(3, 0), tz), utc(2026, 10, 25, 2, 0));
  EXPECT_EQ(warmup::local_midnight(d + 1, tz) - warmup::local_midnight(d, tz),
            25 * warmup::ms_per_hour);
  // Both occurrences of 02:30 belong to the same local day.
  EXPECT_EQ(warmup::local_day(utc(2026, 10, 25, 0, 30), tz), d);
  EXPECT_EQ(warmup::local_day(utc(2026, 10, 25, 1, 30), tz), d);
}

TEST(CalendarTest, NewYorkSpringForward) {
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
  const day_number d = day_of(2026, 3, 8);
  const char* tz = "America/New_York";
  EXPECT_EQ(warmup::local_to_utc(d, at(8, 0), tz), utc(2026, 3, 8, 12, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(18, 30), tz), utc(2026, 3, 8, 22, 30));
  EXPECT_EQ(warmup::local_to_utc(d - 1, at(8, 0), tz), utc(2026, 3, 7, 13, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(2, 30), tz), utc(2026, 3, 8, 7, 0));
  EXPECT_EQ(warmup::local_midnight(d, tz), utc(2026, 3, 8, 5, 0));
  EXPECT_EQ(warmup::local_midnight(d + 1, tz) - warmup::local_midnight(d, tz),
            23 * warmup::ms_per_hour);
  // The local day ends at midnight EDT, 04:00 UTC the next morning.
  EXPECT_EQ(warmup::local_day(utc(2026, 3, 9, 3, 59), tz), d);
  EXPECT_EQ(warmup::local_day(utc(2026, 3, 9, 4, 0), tz), d + 1);
}

TEST(CalendarTest, NewYorkFallBack) {
  // 2026-11-01: 02:00 EDT falls back to 01:00 EST at 06:00 UTC.
  const day_number d = day_of(2026, 11, 1);
  const char* tz = "America/New_York";
  EXPECT_EQ(warmup::local_to_utc(d, at(8, 0), tz), utc(2026, 11, 1, 13, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(18, 30), tz), utc(2026, 11, 1, 23, 30));
  EXPECT_EQ(warmup::local_to_utc(d - 1, at(8, 0), tz), utc(2026, 10, 31, 12, 0));
  EXPECT_EQ(warmup::local_to_utc(d, at(1, 30), tz), utc(2026, 11, 1, 5, 30));  // EDT first
  EXPECT_EQ(warmup::local_midnight(d + 1, tz) - warmup::local_midnight(d, tz),
            25 * warmup::ms_per_hour);
  // 23:30 UTC is 18:30 EST: still the same local day.
  EXPECT_EQ(warmup::local_day(utc(2026, 11, 1, 23, 30), tz), d);
}

TEST(CalendarTest, EveryWindowMinuteOnDstDaysStaysOnItsDay) {
  struct dst_day {
    const char* tz;
    day_number day;
  };
  for (const dst_day& x : {dst_day{"Europe/Berlin", day_of(2026, 3, 29)},
                           dst_day{"Europe/Berlin", day_of(2026, 10, 25)},
                           dst_day{"America/New_York", day_of(2026, 3, 8)},
                           dst_day{"America/New_York", day_of(2026, 11, 1)}}) {
    time_ms previous = warmup::local_to_utc(x.day, at(8, 0), x.tz) - warmup::ms_per_minute;
    for (int m = at(8, 0); m < at(18, 30); ++m) {
      const time_ms t = warmup::local_to_utc(x.day, m, x.tz);
      ASSERT_EQ(warmup::local_day(t, x.tz), x.day) << x.tz << " minute " << m;
      // No transition inside the window: consecutive wall minutes are one real minute.
      ASSERT_EQ(t - previous, warmup::ms_per_minute) << x.tz << " minute " << m;
      previous = t;
    }
  }
}

TEST(CalendarTest, ZonesFarFromUtc) {
  // Auckland in January is NZDT (+13): its 08:00 is the previous UTC evening.
  const day_number jan15 = day_of(2026, 1, 15);
  EXPECT_EQ(warmup::local_to_utc(jan15, at(8, 0), "Pacific/Auckland"), utc(2026, 1, 14, 19, 0));
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 14, 19, 0), "Pacific/Auckland"), jan15);
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 14, 10, 59), "Pacific/Auckland"), jan15 - 1);
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 14, 11, 0), "Pacific/Auckland"), jan15);
  // Auckland's own DST days: ends 2026-04-05 03:00 NZDT -> 02:00 NZST, starts 2026-09-27.
  EXPECT_EQ(warmup::local_to_utc(day_of(2026, 4, 5), at(8, 0), "Pacific/Auckland"),
            utc(2026, 4, 4, 20, 0));
  EXPECT_EQ(warmup::local_to_utc(day_of(2026, 9, 27), at(8, 0), "Pacific/Auckland"),
            utc(2026, 9, 26, 19, 0));
  EXPECT_EQ(warmup::local_to_utc(day_of(2026, 9, 27), at(2, 30), "Pacific/Auckland"),
            utc(2026, 9, 26, 14, 0));
  // Kolkata is +05:30 all year.
  EXPECT_EQ(warmup::local_to_utc(jan15, at(8, 0), "Asia/Kolkata"), utc(2026, 1, 15, 2, 30));
  EXPECT_EQ(warmup::local_to_utc(day_of(2026, 7, 1), at(18, 30), "Asia/Kolkata"),
            utc(2026, 7, 1, 13, 0));
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 15, 18, 29), "Asia/Kolkata"), jan15);
  EXPECT_EQ(warmup::local_day(utc(2026, 1, 15, 18, 30), "Asia/Kolkata"), jan15 + 1);
}

TEST(CalendarTest, MidnightInsideAGap) {
  // Santiago springs forward at local midnight (2026-09-06 00:00 -> 01:00): the day
  // starts at 01:00 local, the first instant after the gap.
  EXPECT_EQ(warmup::local_midnight(day_of(2026, 9, 6), "America/Santiago"),
            utc(2026, 9, 6, 4, 0));
  EXPECT_EQ(warmup::local_day(utc(2026, 9, 6, 4, 0), "America/Santiago"), day_of(2026, 9, 6));
  EXPECT_EQ(warmup::local_day(utc(2026, 9, 6, 4, 0) - 1, "America/Santiago"),
            day_of(2026, 9, 5));
}

TEST(CalendarTest, NextInWindow) {
  const char* tz = "Europe/Berlin";
  const day_number fri = day_of(2026, 1, 16);
  // Before the window: its start.
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 16, 5, 0), office, tz), utc(2026, 1, 16, 7, 0));
  // Just after local midnight, still the same local day's start.
  EXPECT_EQ(warmup::next_in_window(warmup::local_midnight(fri, tz), office, tz),
            utc(2026, 1, 16, 7, 0));
  // Inside: unchanged (including exactly at the start).
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 16, 7, 0), office, tz), utc(2026, 1, 16, 7, 0));
  const time_ms inside = utc(2026, 1, 16, 12, 34, 56) + 789;
  EXPECT_EQ(warmup::next_in_window(inside, office, tz), inside);
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 16, 17, 30) - 1, office, tz),
            utc(2026, 1, 16, 17, 30) - 1);
  // At or after the end: the next day's start, a Saturday (weekends are not skipped).
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 16, 17, 30), office, tz), utc(2026, 1, 17, 7, 0));
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 16, 22, 59), office, tz), utc(2026, 1, 17, 7, 0));
  // 23:30 UTC is already Saturday 00:30 in Berlin: Saturday's start, not Sunday's.
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 16, 23, 30), office, tz), utc(2026, 1, 17, 7, 0));
}

TEST(CalendarTest, NextInWindowAcrossDst) {
  // Saturday evening before Berlin springs forward: Sunday 08:00 CEST is 06:00 UTC.
  EXPECT_EQ(warmup::next_in_window(utc(2026, 3, 28, 19, 0), office, "Europe/Berlin"),
            utc(2026, 3, 29, 6, 0));
  // Saturday evening before New York falls back: Sunday 08:00 EST is 13:00 UTC.
  EXPECT_EQ(warmup::next_in_window(utc(2026, 11, 1, 1, 0), office, "America/New_York"),
            utc(2026, 11, 1, 13, 0));
  // Sunday 18:29 EST (23:29 UTC) is inside; 18:30 is not.
  EXPECT_EQ(warmup::next_in_window(utc(2026, 11, 1, 23, 29), office, "America/New_York"),
            utc(2026, 11, 1, 23, 29));
  EXPECT_EQ(warmup::next_in_window(utc(2026, 11, 1, 23, 30), office, "America/New_York"),
            utc(2026, 11, 2, 13, 0));
  // Auckland: a late-night UTC instant is mid-morning there, inside the window.
  EXPECT_EQ(warmup::next_in_window(utc(2026, 1, 14, 22, 0), office, "Pacific/Auckland"),
            utc(2026, 1, 14, 22, 0));
}

TEST(CalendarTest, ZoneCacheIsSafeAcrossThreads) {
  // Shard actors plan on several scheduler threads at once: concurrent lookups of many
  // zones (first uses included) must agree with a single-threaded reference.
  const std::array<const char*, 6> tzs = {"Europe/Paris", "America/Chicago", "Asia/Tokyo",
                                          "Australia/Sydney", "Africa/Cairo", "America/Sao_Paulo"};
  std::vector<std::vector<time_ms>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round)
        for (std::size_t z = 0; z < tzs.size(); ++z)
          results[t].push_back(
            warmup::local_to_utc(day_of(2026, 6, 1) + round, at(8, 0), tzs[(z + t) % tzs.size()]));
    });
  for (auto& th : threads)
    th.join();
  for (std::size_t t = 0; t < results.size(); ++t) {
    std::size_t k = 0;
    for (int round = 0; round < 50; ++round)
      for (std::size_t z = 0; z < tzs.size(); ++z)
        ASSERT_EQ(results[t][k++], warmup::local_to_utc(day_of(2026, 6, 1) + round, at(8, 0),
                                                        tzs[(z + t) % tzs.size()]));
  }
}

}  // namespace
