// mailbox_import.hpp: `warmup mailbox import FILE.csv`: many mailboxes from a CSV file with
// a header row; bad rows are reported by line and skipped, good rows are imported.
#pragma once

#include "app/cli_session.hpp"

#include <iosfwd>
#include <string>

namespace warmup::app {

// Columns: email (required), provider, timezone, preset, name, organisation. Writes the
// summary "imported N, skipped M" to `out`, bad rows ("FILE:LINE: reason") and the progress
// bar (when `progress`) to `err`. Returns 0 when every row was good, 2 when any was bad;
// throws bad_input for a file that cannot be imported at all (unknown column, no email
// column, unreadable file).
int mailbox_import(const cli_session& s, const std::string& file, bool progress,
                   std::ostream& out, std::ostream& err);

}  // namespace warmup::app
