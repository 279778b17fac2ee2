// advise_test.cpp: `warmup advise`'s decision table on fixed figures, the histogram
// quantile it reads the send lag with, and the metrics text parser it reads /metrics with.
#include "app/advise.hpp"
#include "app/console_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace warmup::app;

namespace {

// A node that is fine on every figure: 500 mailboxes, on plan, short lags, no errors.
advise_inputs healthy_node() {
  advise_inputs in;
  in.node = "n1";
  in.shard_count = 8;
  in.shards_running = 8;
  in.node_mailboxes = 500;
  in.total_mailboxes = 500;
  in.planned_today = 10'000;
  in.day_elapsed = 0.5;
  in.sends_today = 5'000;
  in.overdue = 3;
  in.send_lag.buckets = {{1, 4000}, {5, 4800}, {15, 4990}, {30, 5000}, {HUGE_VAL, 5000}};
  in.sends_total = 5'000;
  return in;
}

bool mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST(advise, a_node_fine_on_every_figure_needs_no_change) {
  auto a = advise(healthy_node());
  EXPECT_EQ(a.verdict, advise_verdict::healthy);
  EXPECT_EQ(a.recommendation, "healthy: no change");
  EXPECT_EQ(a.node_change, 0);
  EXPECT_EQ(a.nodes, 1u);
  // The paragraph names the figures it judged.
  for (const char* figure : {"500 mailboxes", "10000 mailboxes per node", "3 of 10000",
                             "p95", "Sent 5000 of about 5000", "0 in 5000 attempts"})
    EXPECT_TRUE(mentions(a.explanation, figure)) << figure << "\n" << a.explanation;
}

TEST(advise, more_mailboxes_than_capacity_adds_the_nodes_the_pool_needs) {
  auto in = healthy_node();
  in.node_mailboxes = in.total_mailboxes = 25'000;   // 2.5 nodes' worth on one node
  auto a = advise(in);
  EXPECT_EQ(a.verdict, advise_verdict::add_nodes);
  EXPECT_EQ(a.node_change, 2);
  EXPECT_EQ(a.recommendation, "add 2 nodes");
  EXPECT_DOUBLE_EQ(a.load, 2.5);
  EXPECT_TRUE(mentions(a.explanation, "more mailboxes than its measured capacity")) << a.explanation;
  // The same pool over 3 nodes (8 shards, this node runs 3) is within capacity.
  in.shards_running = 3;
  in.node_mailboxes = 25'000 / 3;
  auto spread = advise(in);
  EXPECT_EQ(spread.nodes, 3u);
  EXPECT_NE(spread.verdict, advise_verdict::add_nodes) << spread.explanation;
}

TEST(advise, a_node_behind_on_overdue_lag_or_quota_adds_one_node) {
  auto overdue = healthy_node();
  overdue.overdue = 200;   // 2% of the day's plan
  auto a = advise(overdue);
  EXPECT_EQ(a.verdict, advise_verdict::add_nodes);
  EXPECT_EQ(a.recommendation, "add 1 node");
  EXPECT_TRUE(mentions(a.explanation, "overdue backlog is above")) << a.explanation;

  auto few = healthy_node();
  few.planned_today = 100;
  few.overdue = 5;   // 5% but fewer than the minimum count: noise
  few.sends_today = 50;
  EXPECT_EQ(advise(few).verdict, advise_verdict::healthy);

  auto lag = healthy_node();
  lag.send_lag.buckets = {{60, 100}, {300, 400}, {600, 500}, {1800, 1000}, {HUGE_VAL, 1000}};
  auto l = advise(lag);
  EXPECT_EQ(l.verdict, advise_verdict::add_nodes);
  ASSERT_TRUE(l.lag_p95);
  EXPECT_GT(*l.lag_p95, 300);
  EXPECT_TRUE(mentions(l.explanation, "p95 send lag exceeds")) << l.explanation;

  auto quota = healthy_node();
  quota.sends_today = 3'000;   // 40% short of the 5,000 planned by mid-day
  auto q = advise(quota);
  EXPECT_EQ(q.verdict, advise_verdict::add_nodes);
  EXPECT_NEAR(q.missed_share, 0.4, 1e-9);
  quota.sends_today = 4'500;   // 10% short: within the tolerance
  EXPECT_EQ(advise(quota).verdict, advise_verdict::healthy);
  quota.day_elapsed = 0.001;   // 10 sends expected by now: too early to judge
  quota.sends_today = 0;
  auto early = advise(quota);
  EXPECT_EQ(early.verdict, advise_verdict::healthy);
  EXPECT_TRUE(mentions(early.explanation, "too early")) << early.explanation;
}

TEST(advise, errors_come_before_scaling_and_missing_shards_before_errors) {
  auto in = healthy_node();
  in.node_mailboxes = in.total_mailboxes = 25'000;   // also over capacity
  in.smtp_errors_total = 600;
  in.send_failures_total = 600;   // the same failures: counted once
  auto a = advise(in);
  EXPECT_EQ(a.verdict, advise_verdict::fix_first);
  EXPECT_EQ(a.recommendation, "reduce SMTP/IMAP errors first");
  EXPECT_EQ(a.errors, 600u);
  EXPECT_EQ(a.attempts, 5'600u);
  EXPECT_TRUE(mentions(a.explanation, "600 in 5600 attempts")) << a.explanation;

  in.shards_missing = 2;
  auto m = advise(in);
  EXPECT_EQ(m.verdict, advise_verdict::fix_first);
  EXPECT_EQ(m.recommendation, "restore the 2 missing shards first");

  auto few = healthy_node();
  few.sends_total = 5;
  few.imap_errors_total = 5;   // half failed, but 10 attempts judge nothing
  EXPECT_EQ(advise(few).verdict, advise_verdict::healthy);
}

TEST(advise, a_lightly_loaded_cluster_can_lose_a_node_and_a_full_node_plans_one) {
  auto in = healthy_node();
  in.shards_running = 2;   // 8 shards over about 4 nodes
  in.node_mailboxes = 250;
  in.total_mailboxes = 1'000;
  auto a = advise(in);
  EXPECT_EQ(a.nodes, 4u);
  EXPECT_EQ(a.verdict, advise_verdict::remove_node);
  EXPECT_EQ(a.node_change, -1);
  EXPECT_EQ(a.recommendation, "remove 1 node");

  auto full = healthy_node();
  full.node_mailboxes = full.total_mailboxes = 9'000;
  auto f = advise(full);
  EXPECT_EQ(f.verdict, advise_verdict::healthy);
  EXPECT_EQ(f.recommendation, "healthy: no change now; plan 1 more node");
}

TEST(advise, histogram_quantiles_interpolate_inside_their_bucket) {
  histogram_buckets h;
  EXPECT_FALSE(histogram_quantile(h, 0.5));
  h.buckets = {{1, 10}, {5, 20}, {HUGE_VAL, 20}};
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.75), 3.0);
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.25), 0.5);
  h.buckets = {{1, 10}, {5, 10}, {HUGE_VAL, 20}};   // the top half beyond every bound
  EXPECT_DOUBLE_EQ(*histogram_quantile(h, 0.99), 5.0);
  h.buckets = {{1, 0}, {HUGE_VAL, 0}};
  EXPECT_FALSE(histogram_quantile(h, 0.5));
}

TEST(advise, metrics_text_parses_back_to_the_samples_written) {
  metrics_text m;
  m.family("warmup_mailboxes", "gauge", "Mailboxes by state.");
  m.sample("warmup_mailboxes", {{"state", "active"}}, 28);
  m.sample("warmup_mailboxes", {{"state", "removed"}}, 2);
  m.family("warmup_smtp_errors_total", "counter", "SMTP errors by kind.");
  m.sample("warmup_smtp_errors_total", {{"kind", "auth"}}, 3);
  m.sample("warmup_smtp_errors_total", {{"kind", "tls"}}, 4);
  m.family("warmup_build_info", "gauge", "Build.");
  m.sample("warmup_build_info", {{"version", "1.0"}, {"node", "a \"quoted\", odd\\node"}}, 1);
  m.family("warmup_send_lag_seconds", "histogram", "Lag.");
  m.sample("warmup_send_lag_seconds_bucket", {{"le", "1"}}, 5);
  m.sample("warmup_send_lag_seconds_bucket", {{"le", "5"}}, 9);
  m.sample("warmup_send_lag_seconds_bucket", {{"le", "+Inf"}}, 10);
  m.sample("warmup_send_lag_seconds_sum", 12.5);
  m.sample("warmup_send_lag_seconds_count", 10);
  auto samples = parse_metrics(m.text() + "garbage{unterminated 1\n");
  EXPECT_EQ(samples.size(), 10u);
  EXPECT_EQ(metric_sum(samples, "warmup_mailboxes"), 30);
  EXPECT_EQ(metric_sum(samples, "warmup_mailboxes", {{"state", "removed"}}), 2);
  EXPECT_EQ(metric_sum(samples, "warmup_smtp_errors_total"), 7);
  EXPECT_EQ(metric_sum(samples, "warmup_build_info", {{"node", "a \"quoted\", odd\\node"}}), 1);
  auto h = metric_histogram(samples, "warmup_send_lag_seconds");
  ASSERT_EQ(h.buckets.size(), 3u);
  EXPECT_EQ(h.buckets[1], std::make_pair(5.0, 9.0));
  EXPECT_TRUE(std::isinf(h.buckets[2].first));
  EXPECT_DOUBLE_EQ(h.sum, 12.5);
  EXPECT_DOUBLE_EQ(h.count, 10);
}
