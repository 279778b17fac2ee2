// advise.cpp: the scaling decision table, histogram quantiles and the metrics text parser.
#include "app/advise.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace warmup::app {

namespace {

std::string pct(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  return buf;
}

std::string secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string_view to_string(advise_verdict v) {
  switch (v) {
    case advise_verdict::healthy: return "healthy";
    case advise_verdict::add_nodes: return "add_nodes";
    case advise_verdict::remove_node: return "remove_node";
    case advise_verdict::fix_first: return "fix_first";
  }
  return "healthy";
}

std::optional<double> histogram_quantile(const histogram_buckets& h, double q) {
  if (h.buckets.empty())
    return std::nullopt;
  const double total = h.buckets.back().second;
  if (total <= 0)
    return std::nullopt;
  const double rank = std::clamp(q, 0.0, 1.0) * total;
  double lower = 0, below = 0, highest_finite = 0;
  for (const auto& [le, cumulative] : h.buckets) {
    if (std::isfinite(le))
      highest_finite = le;
    if (cumulative >= rank && cumulative > below) {
      if (!std::isfinite(le))
        return highest_finite;
      return lower + (le - lower) * (rank - below) / (cumulative - below);
    }
    if (std::isfinite(le))
      lower = le;
    below = cumulative;
  }
  return highest_finite;
}

advice advise(const advise_inputs& in, const advise_limits& lim) {
  advice a;
  a.nodes = in.shards_running > 0
              ? static_cast<std::uint32_t>((in.shard_count + in.shards_running - 1) / in.shards_running)
              : 1;
  const double capacity = static_cast<double>(std::max<std::uint64_t>(lim.capacity_per_node, 1));
  a.load = static_cast<double>(in.node_mailboxes) / capacity;
  a.overdue_share = in.planned_today ? double(in.overdue) / double(in.planned_today) : 0.0;
  a.lag_p50 = histogram_quantile(in.send_lag, 0.50);
  a.lag_p95 = histogram_quantile(in.send_lag, 0.95);
  a.lag_p99 = histogram_quantile(in.send_lag, 0.99);
  a.expected_by_now = double(in.planned_today) * std::clamp(in.day_elapsed, 0.0, 1.0);
  const bool quota_judged = a.expected_by_now >= double(lim.missed_min_expected);
  if (quota_judged)
    a.missed_share = std::max(0.0, (a.expected_by_now - double(in.sends_today)) / a.expected_by_now);
  // A failed send is counted as a send failure and, on SMTP, under its error kind too:
  // the larger of the two counts it once.
  a.errors = std::max(in.send_failures_total, in.smtp_errors_total) + in.imap_errors_total;
  a.attempts = in.sends_total + a.errors;
  const bool errors_judged = a.attempts >= lim.error_min_attempts;
  a.error_share = a.attempts ? double(a.errors) / double(a.attempts) : 0.0;

  const bool over_capacity = in.node_mailboxes > lim.capacity_per_node;
  const bool overdue_behind =
    in.overdue >= lim.overdue_min && a.overdue_share > lim.overdue_share;
  const bool lag_behind = a.lag_p95 && *a.lag_p95 > lim.lag_p95_seconds;
  const bool quota_behind = quota_judged && a.missed_share > lim.missed_share;
  const bool behind = overdue_behind || lag_behind || quota_behind;
  const bool erroring = errors_judged && a.error_share > lim.error_share;

  // The figures, one clause each.
  std::string text = "Node " + (in.node.empty() ? std::string("(unnamed)") : in.node) + " runs "
                     + plural(in.node_mailboxes, "mailbox", "mailboxes") + " ("
                     + std::to_string(in.total_mailboxes) + " in the store; it runs "
                     + std::to_string(in.shards_running) + " of " + std::to_string(in.shard_count)
                     + " shards, so about " + plural(a.nodes, "node runs", "nodes run")
                     + " the pool), " + pct(a.load) + " of the measured capacity of "
                     + std::to_string(lim.capacity_per_node)
                     + " mailboxes per node (the largest pool bench/sim_throughput ran on time; "
                       "an assumption, not a limit found by overload). ";
  text += "Overdue backlog: " + std::to_string(in.overdue) + " of "
          + std::to_string(in.planned_today) + " sends planned today (" + pct(a.overdue_share)
          + "; behind above " + pct(lim.overdue_share) + "). ";
  if (a.lag_p95)
    text += "Send lag behind the planned slot: p50 " + secs(*a.lag_p50) + ", p95 "
            + secs(*a.lag_p95) + ", p99 " + secs(*a.lag_p99) + " over "
            + num(in.send_lag.buckets.back().second) + " sends (behind when p95 exceeds "
            + secs(lim.lag_p95_seconds) + "). ";
  else
    text += "Send lag: no sends measured yet. ";
  if (quota_judged)
    text += "Sent " + std::to_string(in.sends_today) + " of about " + num(a.expected_by_now)
            + " planned for the elapsed " + pct(in.day_elapsed) + " of the engine day ("
            + pct(a.missed_share) + " missed; behind above " + pct(lim.missed_share) + "). ";
  else
    text += "Daily quotas: too early in the engine day to judge (" + num(a.expected_by_now)
            + " sends expected by now, " + std::to_string(in.sends_today) + " sent). ";
  if (errors_judged)
    text += "SMTP/IMAP errors: " + std::to_string(a.errors) + " in "
            + std::to_string(a.attempts) + " attempts (" + pct(a.error_share) + "; at most "
            + pct(lim.error_share) + " is normal). ";
  else
    text += "SMTP/IMAP errors: " + std::to_string(a.errors) + " in "
            + std::to_string(a.attempts) + " attempts, too few to judge. ";

  if (in.shards_missing > 0) {
    a.verdict = advise_verdict::fix_first;
    a.recommendation = "restore the " + plural(in.shards_missing, "missing shard", "missing shards")
                       + " first";
    text += std::to_string(in.shards_missing)
            + " shard(s) did not answer: their mailboxes are not running, so the figures "
              "understate the load; see `warmup shards` and the node's log before scaling.";
  } else if (erroring) {
    a.verdict = advise_verdict::fix_first;
    a.recommendation = "reduce SMTP/IMAP errors first";
    text += "The error rate is above " + pct(lim.error_share)
            + ": failed sends skip their slots whatever the node count, so another node would "
              "not help; check the servers, credentials and `warmup_smtp_errors_total` / "
              "`warmup_imap_errors_total` by kind first.";
  } else if (over_capacity || behind) {
    a.verdict = advise_verdict::add_nodes;
    int add = 1;
    if (over_capacity) {
      const auto needed = static_cast<int>(
        std::ceil(double(std::max(in.total_mailboxes, in.node_mailboxes)) / capacity));
      add = std::max(1, needed - static_cast<int>(a.nodes));
    }
    a.node_change = add;
    a.recommendation = "add " + plural(static_cast<std::uint64_t>(add), "node", "nodes");
    std::string why;
    auto reason = [&](bool on, const std::string& r) {
      if (on)
        why += (why.empty() ? "" : ", ") + r;
    };
    reason(over_capacity, "the node runs more mailboxes than its measured capacity");
    reason(overdue_behind, "the overdue backlog is above " + pct(lim.overdue_share));
    reason(lag_behind, "the p95 send lag exceeds " + secs(lim.lag_p95_seconds));
    reason(quota_behind, "the day's sends trail the plan by more than " + pct(lim.missed_share));
    text += "Add " + plural(static_cast<std::uint64_t>(add), "node", "nodes") + ": " + why
            + "; the shards spread over the added node(s) on their next lease round.";
  } else if (a.nodes > 1
             && double(in.total_mailboxes) / double(a.nodes - 1) < lim.low_load * capacity) {
    a.verdict = advise_verdict::remove_node;
    a.node_change = -1;
    a.recommendation = "remove 1 node";
    text += "Nothing is behind and the whole pool would fit on one node fewer at under "
            + pct(lim.low_load) + " of capacity each; one node can go.";
  } else if (a.load > lim.high_load) {
    a.recommendation = "healthy: no change now; plan 1 more node";
    text += "Nothing is behind, but the node is above " + pct(lim.high_load)
            + " of its measured capacity: plan a node before the pool grows further.";
  } else {
    a.recommendation = "healthy: no change";
    text += "Nothing is behind and the node is within its measured capacity: no change.";
  }
  a.explanation = std::move(text);
  return a;
}

std::vector<metric_sample> parse_metrics(std::string_view text) {
  std::vector<metric_sample> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#')
      continue;
    metric_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = std::string(line.substr(0, i));
    bool ok = !s.name.empty();
    if (ok && i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        if (i >= line.size()) {
          ok = false;
          break;
        }
        ++i;   // closing quote
        if (i < line.size() && line[i] == ',')
          ++i;
        s.labels[key] = value;
      }
      if (i >= line.size())
        ok = false;
      else
        ++i;   // '}'
    }
    if (!ok)
      continue;
    while (i < line.size() && line[i] == ' ')
      ++i;
    std::string value(line.substr(i, line.find(' ', i) == std::string_view::npos
                                          ? std::string_view::npos
                                          : line.find(' ', i) - i));
    if (value == "+Inf")
      s.value = HUGE_VAL;
    else if (value == "-Inf")
      s.value = -HUGE_VAL;
    else if (value == "NaN")
      s.value = NAN;
    else {
      char* parsed_end = nullptr;
      s.value = std::strtod(value.c_str(), &parsed_end);
      if (value.empty() || parsed_end != value.c_str() + value.size())
        continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

double metric_sum(const std::vector<metric_sample>& samples, std::string_view name,
                  const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name)
      continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    if (all)
      sum += s.value;
  }
  return sum;
}

histogram_buckets metric_histogram(const std::vector<metric_sample>& samples,
                                   std::string_view name) {
  histogram_buckets h;
  const std::string bucket = std::string(name) + "_bucket";
  for (const auto& s : samples) {
    if (s.name != bucket)
      continue;
    auto it = s.labels.find("le");
    if (it == s.labels.end())
      continue;
    double le = it->second == "+Inf" ? HUGE_VAL : std::strtod(it->second.c_str(), nullptr);
    h.buckets.emplace_back(le, s.value);
  }
  std::sort(h.buckets.begin(), h.buckets.end());
  h.sum = metric_sum(samples, std::string(name) + "_sum");
  h.count = metric_sum(samples, std::string(name) + "_count");
  return h;
}

}  // namespace warmup::app
