// shards_command.cpp: `warmup shards` and `warmup advise` over a running node's API.
#include "app/shards_command.hpp"

#include "app/advise.hpp"
#include "app/api_client.hpp"
#include "app/cli_session.hpp"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <ostream>

namespace warmup::app {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* state_columns[] = {"active", "paused", "throttled", "disconnected",
                                         "restarting", "removed"};

std::uint64_t u64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::uint64_t>() : 0;
}

// `text` broken into lines of at most `width` characters at spaces (a terminal paragraph).
std::string wrap(const std::string& text, std::size_t width) {
  std::string out, line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(' ', pos);
    if (end == std::string::npos)
      end = text.size();
    auto word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty())
      continue;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

}  // namespace

int shards(const api_client& node, bool as_json, std::ostream& out) {
  auto j = node.get("/api/v1/shards");
  if (as_json) {
    out << j.dump(2) << "\n";
    return exit_ok;
  }
  out << std::left << std::setw(7) << "SHARD" << std::setw(9) << "STATE" << std::right
      << std::setw(7) << "EPOCH" << std::setw(11) << "MAILBOXES";
  for (const char* h : {"ACTIVE", "PAUSED", "THROTTLED", "DISCONN", "RESTARTING", "REMOVED",
                        "QUEUE", "WRITES", "RESTARTS"})
    out << std::setw(11) << h;
  out << "\n";
  std::uint64_t running = 0, mailboxes = 0;
  const auto& rows = j.value("shards", nlohmann::json::array());
  for (const auto& s : rows) {
    const auto state = s.value("state", std::string("missing"));
    out << std::left << std::setw(7) << u64(s, "shard") << std::setw(9) << state << std::right;
    if (state == "missing") {
      out << std::setw(7) << "-" << std::setw(11) << "-";
      for (int i = 0; i < 9; ++i)
        out << std::setw(11) << "-";
      out << "\n";
      continue;
    }
    running += state == "running" ? 1 : 0;
    mailboxes += u64(s, "mailboxes");
    out << std::setw(7) << u64(s, "epoch") << std::setw(11) << u64(s, "mailboxes");
    const auto& by = s.value("by_state", nlohmann::json::object());
    for (const char* st : state_columns)
      out << std::setw(11) << u64(by, st);
    out << std::setw(11) << u64(s, "mailbox_queue") << std::setw(11) << u64(s, "queued_writes")
        << std::setw(11) << u64(s, "restarts") << "\n";
  }
  out << "node " << j.value("node", std::string("?")) << ": " << running << " of " << rows.size()
      << " shards running, " << mailboxes << " mailboxes";
  if (auto missing = j.value("missing", nlohmann::json::array()); !missing.empty())
    out << "; " << missing.size() << " missing (did not answer in time)";
  out << "\n";
  return exit_ok;
}

int advise(const api_client& node, bool as_json, std::ostream& out) {
  auto info = node.get("/api/v1/node");
  auto st = node.get("/api/v1/status");
  auto samples = parse_metrics(node.get_text("/metrics"));
  advise_inputs in;
  in.node = info.value("node", std::string{});
  in.shard_count = info.value("shard_count", std::uint32_t{0});
  in.shards_running = static_cast<std::uint32_t>(info.value("shards_running", nlohmann::json::array()).size());
  in.shards_missing = static_cast<std::uint32_t>(info.value("shards_missing", nlohmann::json::array()).size());
  in.node_mailboxes = static_cast<std::uint64_t>(metric_sum(samples, "warmup_mailboxes")
                                                 - metric_sum(samples, "warmup_mailboxes",
                                                              {{"state", "removed"}}));
  in.total_mailboxes = u64(st, "total_mailboxes");
  in.planned_today = u64(st, "planned_today");
  in.sends_today = u64(st, "sends_today");
  in.overdue = u64(st, "overdue");
  const auto now = st.value("now", time_ms{0});
  in.day_elapsed = double(((now % ms_per_day) + ms_per_day) % ms_per_day) / double(ms_per_day);
  in.send_lag = metric_histogram(samples, "warmup_send_lag_seconds");
  in.sends_total = static_cast<std::uint64_t>(metric_sum(samples, "warmup_sends_total"));
  in.send_failures_total = static_cast<std::uint64_t>(metric_sum(samples, "warmup_send_failures_total"));
  in.smtp_errors_total = static_cast<std::uint64_t>(metric_sum(samples, "warmup_smtp_errors_total"));
  in.imap_errors_total = static_cast<std::uint64_t>(metric_sum(samples, "warmup_imap_errors_total"));
  const advise_limits limits;
  auto a = advise(in, limits);
  if (as_json) {
    auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    json j = {{"node", in.node},
              {"recommendation", a.recommendation},
              {"verdict", std::string(to_string(a.verdict))},
              {"node_change", a.node_change},
              {"explanation", a.explanation},
              {"figures",
               {{"nodes_estimated", a.nodes},
                {"shard_count", in.shard_count},
                {"shards_running", in.shards_running},
                {"shards_missing", in.shards_missing},
                {"node_mailboxes", in.node_mailboxes},
                {"total_mailboxes", in.total_mailboxes},
                {"capacity_per_node", limits.capacity_per_node},
                {"load", a.load},
                {"planned_today", in.planned_today},
                {"sends_today", in.sends_today},
                {"overdue", in.overdue},
                {"overdue_share", a.overdue_share},
                {"send_lag_p50_seconds", opt(a.lag_p50)},
                {"send_lag_p95_seconds", opt(a.lag_p95)},
                {"send_lag_p99_seconds", opt(a.lag_p99)},
                {"day_elapsed", in.day_elapsed},
                {"expected_sends_by_now", a.expected_by_now},
                {"missed_share", a.missed_share},
                {"errors", a.errors},
                {"attempts", a.attempts},
                {"error_share", a.error_share}}},
              {"assumptions",
               {{"capacity_per_node",
                 "the largest pool bench/sim_throughput ran on the 2-core reference machine "
                 "(10,000 mailboxes, 0 skipped slots): measured, not a found limit"},
                {"nodes_estimated", "shard_count / shards this node runs, rounded up"}}}};
    out << j.dump(2) << "\n";
    return exit_ok;
  }
  out << "Recommendation: " << a.recommendation << "\n\n" << wrap(a.explanation, 88) << "\n";
  return exit_ok;
}

}  // namespace warmup::app
