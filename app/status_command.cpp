// status_command.cpp: `warmup status` from a running node's API, or read-only from the store.
#include "app/status_command.hpp"

#include "app/api_client.hpp"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <ostream>

namespace warmup::app {

void print_status(const storage::status_summary& sum, const std::string& clock_note, bool as_json,
                  std::ostream& out) {
  if (as_json) {
    nlohmann::ordered_json j = {{"total_mailboxes", sum.total_mailboxes},
                                {"active_mailboxes_today", sum.active_mailboxes_today},
                                {"sends_today", sum.sends_today},
                                {"inbox_rate_today", sum.inbox_rate_today},
                                {"planned_today", sum.planned_today},
                                {"overdue", sum.overdue},
                                {"now", sum.now}};
    out << j.dump(2) << "\n";
    return;
  }
  auto row = [&](const char* label) -> std::ostream& {
    return out << std::left << std::setw(24) << label;
  };
  row("Total Mailboxes:") << sum.total_mailboxes << "\n";
  row("Active Mailboxes Today:") << sum.active_mailboxes_today << "\n";
  row("Sends Today:") << sum.sends_today << "\n";
  row("Inbox Rate Today:");
  if (sum.inbox_today + sum.spam_today == 0)
    out << "n/a (no placements seen today)\n";
  else
    out << std::fixed << std::setprecision(1) << sum.inbox_rate_today * 100 << "% ("
        << sum.inbox_today << " inbox, " << sum.spam_today << " spam)\n";
  row("Planned Today:") << sum.planned_today << "\n";
  row("Overdue:") << sum.overdue << (sum.overdue > 0 ? " (planned sends more than 5 min late)" : "")
                  << "\n";
  row("Engine Clock:") << format_instant(sum.now) << clock_note << "\n";
}

int status(const cli_session& s, bool as_json, std::ostream& out) {
  auto st = s.open_store_read_only();
  const bool from_node = engine_clock_written(st.get());
  const time_ms now = engine_now(st.get());
  storage::status_summary sum;
  if (st)
    sum = st->status(now, overdue_grace_ms);
  sum.now = now;
  print_status(sum,
               from_node ? " (written by the node)"
               : st      ? " (system clock: no node has run on this store)"
                         : " (system clock: no store yet in " + s.cfg.data_dir + ")",
               as_json, out);
  return exit_ok;
}

int status(const api_client& node, bool as_json, std::ostream& out) {
  auto j = node.get("/api/v1/status");
  storage::status_summary sum;
  auto u = [&](const char* key) { return j.value(key, std::uint64_t{0}); };
  sum.total_mailboxes = u("total_mailboxes");
  sum.active_mailboxes = u("active_mailboxes");
  sum.active_mailboxes_today = u("active_mailboxes_today");
  sum.sends_today = u("sends_today");
  sum.planned_today = u("planned_today");
  sum.overdue = u("overdue");
  sum.inbox_today = u("inbox_today");
  sum.spam_today = u("spam_today");
  sum.inbox_rate_today = j.value("inbox_rate_today", 0.0);
  sum.now = j.value("now", time_ms{0});
  // The node's own clock, read live: the same label the store path gives a node's clock.
  print_status(sum, " (written by the node)", as_json, out);
  return exit_ok;
}

}  // namespace warmup::app
