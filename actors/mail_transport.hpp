// mail_transport.hpp: the real-mail transport: SMTP sends and IMAP processing for the
// node's real mailboxes, done by a bounded pool of detached workers (blocking libcurl
// calls never run on the cooperative scheduler), with a per-host concurrency limit,
// connection reuse per mailbox and capped exponential backoff for sends that failed
// before any message data left (never a resend of something the server may have taken).
#pragma once

#include "actors/engine_context.hpp"
#include "messages/interfaces.hpp"
#include "net/curl_connection.hpp"
#include "warmup/account.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace warmup {

// What the transport knows of one real mailbox (the secret stays sealed until a worker
// needs to log in).
struct real_mailbox {
  mailbox_id id = no_mailbox;
  std::string email;
  std::string provider;
  mail_account account;
  std::string sealed_secret;
};

// Seals a secret for the store (app/secrets); the transport uses it to keep a refresh
// token the provider rotated (Microsoft does), so the next start logs in with the new one.
using secret_sealer = std::function<std::string(const account_secret& s)>;

struct mail_transport_options {
  std::size_t workers = 8;                 // detached worker threads
  std::size_t per_host = 4;                // concurrent calls per SMTP or IMAP host
  net::call_timeouts timeouts{};
  int send_attempts = 4;                   // tries of a send that never reached DATA
  std::chrono::milliseconds first_backoff{2000};
  std::chrono::milliseconds max_backoff{60000};
  std::string warmup_folder = "Warmup";
  std::size_t sessions_per_worker = 512;   // cached connections per worker
  int cleanup_days = 14;                   // warmup mail older than this leaves the folder
  bool cleanup_archives = false;           // move to Archive instead of deleting
  secret_sealer seal_secret;               // empty: a rotated refresh token lives in memory only
};

// The transport's options from the [mail] configuration.
mail_transport_options mail_options_of(const config::mail_config& c);

// Turns sealed bytes back into the secret (app/secrets: key from the environment).
using secret_opener = std::function<account_secret(const std::string& sealed)>;
// Whether the provider keeps a copy of mail sent over SMTP in its Sent folder itself
// (Gmail, Microsoft 365); for every other server the transport appends the copy.
bool provider_saves_sent_mail(const std::string& provider);

transport_actor spawn_mail_transport(caf::actor_system& sys, const engine_context* ctx,
                                     std::vector<real_mailbox> mailboxes,
                                     mail_transport_options opts, secret_opener open_secret);

}  // namespace warmup
