// status_command.hpp: `warmup status`: today's figures from the store, on the engine clock.
#pragma once

#include "app/cli_session.hpp"

#include <iosfwd>
#include <string>

namespace warmup::app {

// Grace before a planned slot without a send intent counts as overdue (engine time).
constexpr time_ms overdue_grace_ms = 5 * ms_per_minute;

// Prints Total Mailboxes, Active Mailboxes Today, Sends Today, Inbox Rate Today, Planned
// Today and Overdue (JSON keys total_mailboxes, active_mailboxes_today, sends_today,
// inbox_rate_today, planned_today, overdue, now). Opens the store read-only; with no store
// yet, every figure is 0.
int status(const cli_session& s, bool json, std::ostream& out);

// The same figures from a running node (GET /api/v1/status); throws api_error or
// node_unreachable (see api_client.hpp).
class api_client;
int status(const api_client& node, bool json, std::ostream& out);

// Prints `sum` as `warmup status` does; `clock_note` follows the engine clock's time.
void print_status(const storage::status_summary& sum, const std::string& clock_note, bool json,
                  std::ostream& out);

}  // namespace warmup::app
