// content.hpp: natural warmup mail: subjects and bodies from the corpus the project
// ships (warmup/corpus/), Message-IDs in the style of the sending provider, and threaded
// replies (Re:, In-Reply-To, References). No tags, no fixed headers a filter could key on.
#pragma once

#include "warmup/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace warmup {

// One email as the engine composes it; transports turn it into RFC 5322 text.
struct mail_message {
  std::string message_id;      // "<...@...>" with angle brackets
  std::string from;            // addresses
  std::string from_name;
  std::string to;
  std::string to_name;
  std::vector<std::string> cc;
  std::string subject;
  std::string body;            // plain text, CRLF-free ('\n' line ends)
  std::string in_reply_to;     // parent Message-ID or empty
  std::string references;      // space-separated Message-IDs, oldest first
  time_ms date = 0;
  std::uint64_t thread = 0;    // the engine's thread id (first message's hash)
  int turn = 1;                // 1 = opener, 2 = first reply, ...
};

// A Message-ID in the style of `provider` for a sender at `sender_domain`: e.g. Gmail's
// "<CA+...@mail.gmail.com>", Outlook's "<...@...prod.outlook.com>", else a generic
// "<hex.hex@domain>". Unique per seed.
std::string make_message_id(std::string_view provider, std::string_view sender_domain,
                            std::uint64_t seed);

// Whether a composed message gets its body text. A transport that never reads it (the
// sandbox network places mail by the sender's reputation) spares its composition; every
// other field is the same either way.
enum class body_text : std::uint8_t { compose, omit };

// A new thread from `from` to `to` (names may be empty: derived from the address).
mail_message compose_opener(std::uint64_t seed, const mailbox_settings& from,
                            const mailbox_settings& to, time_ms date,
                            body_text body = body_text::compose);

// A reply by `from` to `parent`: "Re: " subject (never "Re: Re:"), In-Reply-To = parent
// id, References = parent's references + parent id, body answers and quotes briefly.
mail_message compose_reply(std::uint64_t seed, const mailbox_settings& from,
                           const mail_message& parent, time_ms date,
                           body_text body = body_text::compose);

// RFC 5322 text of a message (CRLF line ends), headers a normal client would write.
std::string to_rfc5322(const mail_message& m);

// How many distinct subjects/bodies the corpus can produce (for tests of variety).
std::size_t corpus_subject_count();
std::size_t corpus_body_count();

}  // namespace warmup
