// status_command.hpp: `warmup status`: today's figures from the store, on the engine clock.
#pragma once

#include "app/cli_session.hpp"

#include <iosfwd>

namespace warmup::app {

// Grace before a planned slot without a send intent counts as overdue (engine time).
constexpr time_ms overdue_grace_ms = 5 * ms_per_minute;

// Prints Total Mailboxes, Active Mailboxes Today, Sends Today, Inbox Rate Today, Planned
// Today and Overdue (JSON keys total_mailboxes, active_mailboxes_today, sends_today,
// inbox_rate_today, planned_today, overdue, now). Opens the store read-only; with no store
// yet, every figure is 0.
int status(const cli_session& s, bool json, std::ostream& out);

}  // namespace warmup::app
