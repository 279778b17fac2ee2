// receive_flow.hpp: what a recipient mailbox does with one warmup message over IMAP, in
// the order a person would: find it (INBOX, then Junk), note where it landed, rescue it
// from Junk to INBOX only if it really is there, mark it read / flagged on the UID it has
// after any move, then file it into the warmup folder so it never clutters the inbox.
// Blocking (a worker thread's job); every step bounded by the session's time limits.
#pragma once

#include "net/imap_session.hpp"
#include "warmup/engagement.hpp"

#include <string>

namespace warmup::net {

enum class found_in : std::uint8_t { inbox, spam, missing };

struct receive_outcome {
  found_in where = found_in::missing;
  bool rescued = false;
  bool filed = false;
  std::string folder;          // where the message is now
  std::uint32_t uid = 0;       // its UID there (0: the server did not say)
};

struct receive_flow_options {
  std::string warmup_folder = "Warmup";   // under the personal namespace; created if missing
  bool file_messages = true;              // false leaves them where engagement put them
};

mail_result<receive_outcome> process_warmup_message(imap_session& s,
                                                    const std::string& message_id,
                                                    const engagement_plan& plan,
                                                    const receive_flow_options& opts = {});

}  // namespace warmup::net
