// engagement_test.cpp: rates, delay bounds and shapes, no lockstep, determinism of
// decide_engagement.
#include "warmup/engagement.hpp"
#include "warmup/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

using namespace warmup;

namespace {

constexpr int draws = 20000;

std::vector<engagement_plan> decide_many(const engagement_params& p, int turn,
                                         std::uint64_t base = 7) {
  std::vector<engagement_plan> out;
  out.reserve(draws);
  for (int i = 0; i < draws; ++i)
    out.push_back(decide_engagement(p, seed_of(base, static_cast<std::uint64_t>(i)), turn));
  return out;
}

double share(const std::vector<engagement_plan>& plans, bool engagement_plan::*field) {
  auto n = std::count_if(plans.begin(), plans.end(),
                         [&](const engagement_plan& e) { return e.*field; });
  return static_cast<double>(n) / static_cast<double>(plans.size());
}

// 4.5 standard errors of a proportion over `draws` samples: a real bug fails, noise not.
double tolerance(double p) {
  return 4.5 * std::sqrt(p * (1 - p) / draws) + 1e-9;
}

}  // namespace

TEST(engagement, rates_match_the_parameters) {
  engagement_params p;  // read 0.90, important 0.15, star 0.08, reply 0.35, rescue 1.0
  p.rescue_rate = 0.92;
  auto plans = decide_many(p, 1);
  EXPECT_NEAR(share(plans, &engagement_plan::read), p.read_rate, tolerance(p.read_rate));
  EXPECT_NEAR(share(plans, &engagement_plan::important), p.important_rate,
              tolerance(p.important_rate));
  EXPECT_NEAR(share(plans, &engagement_plan::star), p.star_rate, tolerance(p.star_rate));
  EXPECT_NEAR(share(plans, &engagement_plan::reply), p.reply_rate, tolerance(p.reply_rate));
  EXPECT_NEAR(share(plans, &engagement_plan::rescue), p.rescue_rate,
              tolerance(p.rescue_rate));
}

TEST(engagement, other_rates_are_honoured_too) {
  engagement_params p;
  p.read_rate = 0.5;
  p.important_rate = 0.3;
  p.star_rate = 0.2;
  p.reply_rate = 0.1;
  p.rescue_rate = 0.0;
  auto plans = decide_many(p, 2, 99);
  EXPECT_NEAR(share(plans, &engagement_plan::read), 0.5, tolerance(0.5));
  EXPECT_NEAR(share(plans, &engagement_plan::important), 0.3, tolerance(0.3));
  EXPECT_NEAR(share(plans, &engagement_plan::star), 0.2, tolerance(0.2));
  EXPECT_NEAR(share(plans, &engagement_plan::reply), 0.1, tolerance(0.1));
  EXPECT_EQ(share(plans, &engagement_plan::rescue), 0.0);
}

TEST(engagement, unread_mail_is_never_answered_starred_or_marked) {
  engagement_params p;
  p.read_rate = 0.6;
  for (const auto& e : decide_many(p, 1)) {
    if (!e.read) {
      EXPECT_FALSE(e.reply);
      EXPECT_FALSE(e.star);
      EXPECT_FALSE(e.important);
    }
  }
}

TEST(engagement, delays_stay_within_their_bounds) {
  engagement_params p;
  p.reply_rate = 0.9;
  for (const auto& e : decide_many(p, 1)) {
    EXPECT_GE(e.open_delay, 2 * ms_per_minute);
    EXPECT_LE(e.open_delay, 8 * ms_per_hour);
    if (e.rescue) {
      EXPECT_GE(e.rescue_delay, 3 * ms_per_minute);
      EXPECT_LE(e.rescue_delay, 40 * ms_per_minute);
    }
    if (e.reply) {
      EXPECT_GE(e.reply_delay, 20 * ms_per_minute);
      EXPECT_LE(e.reply_delay, 36 * ms_per_hour);
      EXPECT_GE(e.reply_delay - e.open_delay, ms_per_minute);  // one reads, then answers
    } else {
      EXPECT_EQ(e.reply_delay, 0);
    }
  }
}

TEST(engagement, delay_shapes_follow_the_spec) {
  engagement_params p;
  p.read_rate = 1.0;
  p.reply_rate = 0.0;  // replies pull some opens earlier; the pure shape first
  std::vector<double> open, reply, rescue;
  for (const auto& e : decide_many(p, 1)) {
    open.push_back(static_cast<double>(e.open_delay));
    rescue.push_back(static_cast<double>(e.rescue_delay));
  }
  p.reply_rate = 1.0;
  for (const auto& e : decide_many(p, 1))
    reply.push_back(static_cast<double>(e.reply_delay));
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  // Log-uniform 2 min .. 8 h: median at the geometric mean, sqrt(2 x 480) ~ 31 min.
  EXPECT_NEAR(median(open) / ms_per_minute, std::sqrt(2.0 * 480.0), 2.5);
  // Log-normal with median 3.5 h.
  EXPECT_NEAR(median(reply) / ms_per_hour, 3.5, 0.3);
  // Uniform 3 .. 40 min: median 21.5 min.
  EXPECT_NEAR(median(rescue) / ms_per_minute, 21.5, 1.0);
  // sigma ~ 1: about 16% of replies come later than median x e (clamped at 36 h).
  auto late = std::count_if(reply.begin(), reply.end(),
                            [](double d) { return d > 3.5 * std::exp(1.0) * ms_per_hour; });
  EXPECT_NEAR(static_cast<double>(late) / draws, 0.1587, 0.02);
}

TEST(engagement, opens_are_not_in_lockstep) {
  engagement_params p;
  auto plans = decide_many(p, 1);
  std::map<time_ms, int> per_minute;
  std::map<time_ms, int> per_second_of_minute;
  for (const auto& e : plans) {
    ++per_minute[e.open_delay / ms_per_minute];
    ++per_second_of_minute[(e.open_delay / ms_per_second) % 60];
  }
  double entropy = 0;
  int biggest = 0;
  for (auto [minute, n] : per_minute) {
    double q = static_cast<double>(n) / draws;
    entropy -= q * std::log2(q);
    biggest = std::max(biggest, n);
  }
  // Log-uniform over 2..480 minutes has ~7.4 bits of entropy by minute and its densest
  // minute (the first) holds ~7.4%; a lockstep engine would show one towering bucket.
  EXPECT_GT(entropy, 6.8);
  EXPECT_LT(static_cast<double>(biggest) / draws, 0.085);
  EXPECT_GT(per_minute.size(), 400u);
  // Seconds within the minute are spread evenly: no round-minute signature.
  for (auto [second, n] : per_second_of_minute)
    EXPECT_LT(static_cast<double>(n) / draws, 1.0 / 60 * 1.5) << "second " << second;
}

TEST(engagement, replies_stop_at_the_thread_turn_limit) {
  engagement_params p;
  p.read_rate = 1.0;
  p.reply_rate = 1.0;
  p.max_thread_turns = 4;
  for (int turn = 1; turn <= 6; ++turn) {
    auto e = decide_engagement(p, 1234, turn);
    EXPECT_EQ(e.reply, turn < 4) << "turn " << turn;
  }
}

TEST(engagement, decisions_are_deterministic_in_the_seed) {
  engagement_params p;
  int differing = 0;
  for (std::uint64_t s = 0; s < 500; ++s) {
    auto a = decide_engagement(p, s, 1);
    auto b = decide_engagement(p, s, 1);
    EXPECT_EQ(a.open_delay, b.open_delay);
    EXPECT_EQ(a.read, b.read);
    EXPECT_EQ(a.important, b.important);
    EXPECT_EQ(a.star, b.star);
    EXPECT_EQ(a.rescue, b.rescue);
    EXPECT_EQ(a.rescue_delay, b.rescue_delay);
    EXPECT_EQ(a.reply, b.reply);
    EXPECT_EQ(a.reply_delay, b.reply_delay);
    differing += decide_engagement(p, s + 1000, 1).open_delay != a.open_delay;
  }
  EXPECT_GT(differing, 490);
}

TEST(engagement, rates_do_not_shift_each_others_draws) {
  // Changing the star rate must not move the open delay or the reply decision: every
  // value has its fixed place in the random stream.
  engagement_params a;
  engagement_params b = a;
  b.star_rate = 0.5;
  for (std::uint64_t s = 0; s < 200; ++s) {
    auto x = decide_engagement(a, s, 1);
    auto y = decide_engagement(b, s, 1);
    EXPECT_EQ(x.open_delay, y.open_delay);
    EXPECT_EQ(x.reply, y.reply);
    EXPECT_EQ(x.reply_delay, y.reply_delay);
  }
}
