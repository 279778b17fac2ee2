// status_command.cpp: `warmup status`, read-only next to a running node.
#include "app/status_command.hpp"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <ostream>

namespace warmup::app {

int status(const cli_session& s, bool as_json, std::ostream& out) {
  auto st = s.open_store_read_only();
  const bool from_node = engine_clock_written(st.get());
  const time_ms now = engine_now(st.get());
  storage::status_summary sum;
  if (st)
    sum = st->status(now, overdue_grace_ms);
  sum.now = now;
  if (as_json) {
    nlohmann::ordered_json j = {{"total_mailboxes", sum.total_mailboxes},
                                {"active_mailboxes_today", sum.active_mailboxes_today},
                                {"sends_today", sum.sends_today},
                                {"inbox_rate_today", sum.inbox_rate_today},
                                {"planned_today", sum.planned_today},
                                {"overdue", sum.overdue},
                                {"now", sum.now}};
    out << j.dump(2) << "\n";
    return exit_ok;
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
  row("Engine Clock:") << format_instant(now)
                       << (from_node ? " (written by the node)"
                                     : st ? " (system clock: no node has run on this store)"
                                          : " (system clock: no store yet in " + s.cfg.data_dir + ")")
                       << "\n";
  return exit_ok;
}

}  // namespace warmup::app
