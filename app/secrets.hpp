// secrets.hpp: sealing a mailbox's login secret for the store and opening it again, with
// the key from WARMUP_SECRET_KEY (never logged; errors say what is wrong, not the value).
#pragma once

#include "warmup/account.hpp"

#include <string>

namespace warmup::app {

// The sealed bytes of `s` for mailbox_record::sealed_secret. Throws std::runtime_error
// saying how to set WARMUP_SECRET_KEY when it is missing or malformed.
std::string seal_account_secret(const account_secret& s);

// Opens what seal_account_secret made. Throws std::runtime_error when the key is missing
// or is not the key the secret was sealed with.
account_secret open_account_secret(const std::string& sealed);

}  // namespace warmup::app
