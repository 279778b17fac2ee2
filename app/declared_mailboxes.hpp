// declared_mailboxes.hpp: mailboxes declared in the configuration file ([[mailbox]] tables,
// the CSV import's columns as fields), checked and added to the store at start-up.
#pragma once

#include "app/mailbox_commands.hpp"

#include <map>
#include <string>

namespace warmup::app {

// The mailbox a [[mailbox]] table describes; secrets named by *_env fields are read from
// `env`. Throws bad_input naming the file, line and field.
new_mailbox new_mailbox_of(const config::declared_mailbox& d,
                           const std::map<std::string, std::string>& env);

// The whole process environment (secrets of [[mailbox]] tables may be in any variable).
std::map<std::string, std::string> whole_environment();

// Checks every declared mailbox (throws bad_input naming file:line and field for the first
// bad one) and adds those the store does not hold yet; returns how many were added.
// Mailboxes already in the store are left as they are (the store is the truth once added).
std::size_t add_declared_mailboxes(const config::engine_config& cfg, storage::store& st,
                                   time_ms now, const std::map<std::string, std::string>& env);

}  // namespace warmup::app
