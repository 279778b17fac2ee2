// imap_receipt.hpp: what a recipient mailbox does with one received warmup message over
// IMAP, in the order a person would: find it (INBOX, then Junk), rescue it from Junk, mark
// it read / starred, file it into the warmup folder; every flag lands on the message's
// current UID (a move gives it a new one).
#pragma once

#include "net/imap_session.hpp"
#include "net/mail_error.hpp"

#include <cstdint>
#include <string>

namespace warmup::net {

struct receipt_actions {
  bool read = false;        // \Seen
  bool star = false;        // \Flagged
  bool important = false;   // \Flagged too: plain IMAP has no importance flag
  bool rescue = false;      // Junk -> INBOX, only when it really is in Junk
  std::string file_into;    // top-level folder to file it into (created if missing), or ""
};

struct receipt_outcome {
  enum class found_in : std::uint8_t { none, inbox, junk };
  found_in where = found_in::none;
  bool rescued = false;
  bool filed = false;
  std::string folder;       // where it is now
  std::uint32_t uid = 0;    // its UID there (0 when the server did not say after a move)
};

// Applies `actions` to the message with `message_id`; a message in neither INBOX nor Junk
// is `none` (not an error). Flags are set before filing so they travel with the move.
mail_result<receipt_outcome> process_receipt(imap_session& session, const std::string& message_id,
                                             const receipt_actions& actions);

}  // namespace warmup::net
