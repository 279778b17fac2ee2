// health_test.cpp: health bands at each spam threshold, the minimum sample, recency
// weighting over the 7-day window, and bounces.
#include "warmup/health.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <vector>

namespace warmup {
// Readable band names in assertion messages (found by ADL).
inline void PrintTo(health_band b, std::ostream* os) {
  *os << to_string(b);
}
}  // namespace warmup

namespace {

using warmup::day_stats;
using warmup::health_band;
using warmup::health_params;

constexpr warmup::day_number today = 20500;

day_stats placed(warmup::day_number day, std::uint32_t inbox, std::uint32_t spam) {
  day_stats d;
  d.day = day;
  d.planned = inbox + spam;
  d.sent = inbox + spam;
  d.inbox = inbox;
  d.spam = spam;
  return d;
}

health_band band_for(std::uint32_t inbox, std::uint32_t spam) {
  const std::vector<day_stats> days = {placed(today, inbox, spam)};
  return warmup::assess_health(days, today, health_params{}).band;
}

TEST(HealthTest, BandNames) {
  EXPECT_EQ(warmup::to_string(health_band::healthy), "healthy");
  EXPECT_EQ(warmup::to_string(health_band::watch), "watch");
  EXPECT_EQ(warmup::to_string(health_band::throttle), "throttle");
  EXPECT_EQ(warmup::to_string(health_band::pause), "pause");
  EXPECT_EQ(warmup::to_string(health_band::block), "block");
}

TEST(HealthTest, NoDataIsHealthy) {
  const auto r = warmup::assess_health({}, today, health_params{});
  EXPECT_EQ(r.inbox_rate, 1.0);
  EXPECT_EQ(r.spam_rate, 0.0);
  EXPECT_EQ(r.bounce_rate, 0.0);
  EXPECT_EQ(r.sample, 0u);
  EXPECT_EQ(r.band, health_band::healthy);
}

TEST(HealthTest, BandAtEachThreshold) {
  // 100 placements today, so the spam share is exactly spam / 100.
  EXPECT_EQ(band_for(100, 0), health_band::healthy);
  EXPECT_EQ(band_for(91, 9), health_band::healthy);
  EXPECT_EQ(band_for(90, 10), health_band::watch);      // watch at 10%
  EXPECT_EQ(band_for(86, 14), health_band::watch);
  EXPECT_EQ(band_for(85, 15), health_band::throttle);   // throttle at 15%
  EXPECT_EQ(band_for(81, 19), health_band::throttle);
  EXPECT_EQ(band_for(80, 20), health_band::pause);      // pause at 20%
  EXPECT_EQ(band_for(61, 39), health_band::pause);
  EXPECT_EQ(band_for(60, 40), health_band::block);      // block at 40%
  EXPECT_EQ(band_for(0, 100), health_band::block);
}

TEST(HealthTest, RatesAreReported) {
  const std::vector<day_stats> days = {placed(today, 85, 15)};
  const auto r = warmup::assess_health(days, today, health_params{});
  EXPECT_DOUBLE_EQ(r.inbox_rate, 0.85);
  EXPECT_DOUBLE_EQ(r.spam_rate, 0.15);
  EXPECT_EQ(r.sample, 100u);
}

TEST(HealthTest, ThresholdsComeFromTheParams) {
  health_params strict;
  strict.watch_spam = 0.02;
  strict.throttle_spam = 0.05;
  const std::vector<day_stats> days = {placed(today, 95, 5)};
  EXPECT_EQ(warmup::assess_health(days, today, strict).band, health_band::throttle);
  EXPECT_EQ(warmup::assess_health(days, today, health_params{}).band, health_band::healthy);
}

TEST(HealthTest, SmallSampleGoesNoFurtherThanWatch) {
  // 19 placements, 10 of them in spam (53%): worth watching, not acting on.
  std::vector<day_stats> days = {placed(today, 9, 10)};
  auto r = warmup::assess_health(days, today, health_params{});
  EXPECT_EQ(r.sample, 19u);
  EXPECT_GT(r.spam_rate, 0.5);
  EXPECT_EQ(r.band, health_band::watch);
  // A healthy small sample stays healthy (the cap does not raise a band).
  days = {placed(today, 19, 0)};
  EXPECT_EQ(warmup::assess_health(days, today, health_params{}).band, health_band::healthy);
  // One more placement reaches the minimum sample; the sample adds up across days.
  days = {placed(today, 5, 5), placed(today - 2, 4, 6)};
  r = warmup::assess_health(days, today, health_params{});
  EXPECT_EQ(r.sample, 20u);
  EXPECT_EQ(r.band, health_band::block);
}

TEST(HealthTest, RecentDaysWeighMore) {
  const health_params p;
  // A bad day six days ago and a clean day today ...
  const std::vector<day_stats> old_bad = {placed(today, 50, 0), placed(today - 6, 25, 25)};
  // ... against the same days the other way round.
  const std::vector<day_stats> new_bad = {placed(today, 25, 25), placed(today - 6, 50, 0)};
  const double w = std::pow(p.recency_decay, 6);
  const auto a = warmup::assess_health(old_bad, today, p);
  const auto b = warmup::assess_health(new_bad, today, p);
  EXPECT_NEAR(a.spam_rate, 25 * w / (50 + 50 * w), 1e-12);
  EXPECT_NEAR(b.spam_rate, 25 / (50 + 50 * w), 1e-12);
  EXPECT_NEAR(a.inbox_rate + a.spam_rate, 1.0, 1e-12);
  EXPECT_GT(b.spam_rate, 0.25);  // unweighted both would be 25%
  EXPECT_LT(a.spam_rate, 0.25);
  EXPECT_EQ(a.band, health_band::watch);  // ~14%
  EXPECT_EQ(b.band, health_band::pause);  // ~36%
  EXPECT_EQ(a.sample, 100u);  // the sample is not weighted
}

TEST(HealthTest, WithoutDecayAllWindowDaysCountTheSame) {
  health_params flat;
  flat.recency_decay = 1.0;
  const std::vector<day_stats> days = {placed(today, 50, 0), placed(today - 6, 25, 25)};
  EXPECT_DOUBLE_EQ(warmup::assess_health(days, today, flat).spam_rate, 0.25);
}

TEST(HealthTest, OnlyTheWindowCounts) {
  // Day today-7 is outside (today - 7, today]; a future day is ignored too.
  const std::vector<day_stats> days = {placed(today - 7, 0, 100), placed(today + 1, 0, 100),
                                       placed(today - 6, 40, 0)};
  const auto r = warmup::assess_health(days, today, health_params{});
  EXPECT_EQ(r.sample, 40u);
  EXPECT_EQ(r.spam_rate, 0.0);
  EXPECT_EQ(r.band, health_band::healthy);
  health_params wide;
  wide.window_days = 8;
  EXPECT_EQ(warmup::assess_health(days, today, wide).band, health_band::block);
}

TEST(HealthTest, OrderDoesNotMatterAndSameDayRowsAdd) {
  const std::vector<day_stats> a = {placed(today, 30, 3), placed(today - 1, 20, 5),
                                    placed(today - 3, 10, 1)};
  const std::vector<day_stats> b = {placed(today - 3, 10, 1), placed(today, 10, 1),
                                    placed(today - 1, 20, 5), placed(today, 20, 2)};
  const auto ra = warmup::assess_health(a, today, health_params{});
  const auto rb = warmup::assess_health(b, today, health_params{});
  EXPECT_NEAR(ra.spam_rate, rb.spam_rate, 1e-12);
  EXPECT_EQ(ra.sample, rb.sample);
  EXPECT_EQ(ra.band, rb.band);
}

TEST(HealthTest, BouncesPause) {
  day_stats d = placed(today, 100, 0);
  d.bounces = 5;  // 5% of 100 sent
  std::vector<day_stats> days = {d};
  auto r = warmup::assess_health(days, today, health_params{});
  EXPECT_DOUBLE_EQ(r.bounce_rate, 0.05);
  EXPECT_EQ(r.band, health_band::pause);  // perfect placement does not save it
  days[0].bounces = 4;
  r = warmup::assess_health(days, today, health_params{});
  EXPECT_EQ(r.band, health_band::healthy);
  // Bounces do not lower a worse band.
  days = {placed(today, 50, 50)};
  days[0].bounces = 10;
  EXPECT_EQ(warmup::assess_health(days, today, health_params{}).band, health_band::block);
}

TEST(HealthTest, BouncesNeedTheMinimumSample) {
  day_stats d;
  d.day = today;
  d.planned = 10;
  d.sent = 10;
  d.bounces = 5;  // 50%, but of only ten sends
  std::vector<day_stats> days = {d};
  auto r = warmup::assess_health(days, today, health_params{});
  EXPECT_DOUBLE_EQ(r.bounce_rate, 0.5);
  EXPECT_EQ(r.band, health_band::healthy);
  days[0].sent = 20;
  days[0].bounces = 1;
  r = warmup::assess_health(days, today, health_params{});
  EXPECT_EQ(r.band, health_band::pause);  // 1/20 = 5% over the minimum sample
}

TEST(HealthTest, BounceRateIsWeightedByRecency) {
  day_stats recent;
  recent.day = today;
  recent.sent = 100;
  day_stats old;
  old.day = today - 4;
  old.sent = 100;
  old.bounces = 10;
  const std::vector<day_stats> days = {recent, old};
  const health_params p;
  const double w = std::pow(p.recency_decay, 4);
  const auto r = warmup::assess_health(days, today, p);
  EXPECT_NEAR(r.bounce_rate, 10 * w / (100 + 100 * w), 1e-12);
  EXPECT_EQ(r.band, health_band::healthy);  // ~4.3% after weighting: below 5%
}

TEST(HealthTest, DayStatsAddEveryCounterAndKeepTheDay) {
  day_stats a{10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const day_stats b{99, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  a += b;
  EXPECT_EQ(a, (day_stats{10, 11, 22, 33, 44, 55, 66, 77, 88, 99, 110}));
}

}  // namespace
