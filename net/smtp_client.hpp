// smtp_client.hpp: sends one warmup message over real SMTP (libcurl): implicit TLS,
// STARTTLS (required, never opportunistic) or plain; AUTH PLAIN/LOGIN or XOAUTH2; each
// failure classified (auth, temporary, permanent_recipient, tls, network, protocol) with the
// server's reply. Blocking: call it from a worker thread, never from an actor scheduler.
#pragma once

#include "net/curl_connection.hpp"
#include "net/mail_error.hpp"
#include "warmup/account.hpp"
#include "warmup/content.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace warmup::net {

// Who the message is from and to, as given to MAIL FROM / RCPT TO (bare addresses).
struct smtp_envelope {
  std::string from;
  std::vector<std::string> recipients;
};

// The envelope a composed message implies: From, then To and every Cc.
smtp_envelope envelope_of(const mail_message& m);

// What the server's reply to a failing command means, from the SMTP code and the command it
// answered: 5xx to RCPT (and to the end of DATA: the message is refused) -> a bounce,
// 4xx anywhere -> temporary, 535/534/530 -> auth, other 5xx -> protocol. Exposed for tests.
mail_error_kind classify_smtp_reply(int code, std::string_view command);

struct smtp_options {
  call_timeouts timeouts{};
  // A new connection per message, like a person's mail client; false keeps it open
  // between sends to the same server (libcurl reuses it).
  bool connection_per_message = true;
};

// One client per mailbox (or per worker): the libcurl handle keeps DNS and TLS sessions
// between sends. Not thread-safe: one call at a time.
class smtp_client {
 public:
  smtp_client(server_endpoint server, tls_policy tls, smtp_options opts);
  smtp_client(server_endpoint server, tls_policy tls) : smtp_client(std::move(server), std::move(tls), smtp_options{}) {}
  // The SMTP endpoint, CA file and verification of an account.
  explicit smtp_client(const mail_account& account, smtp_options opts = {});

  // Sends `rfc5322` (CRLF line ends, headers included) to the envelope's recipients. Any
  // refused recipient fails the whole send (permanent_recipient, the reply names it).
  mail_status send(const smtp_envelope& envelope, std::string_view rfc5322,
                   const mail_login& login);
  // Composes with to_rfc5322() and sends to To + Cc.
  mail_status send(const mail_message& message, const mail_login& login);

  // "smtp://host:port" or "smtps://host:port" as libcurl is given it.
  const std::string& url() const { return url_; }
  const std::string& address() const { return address_; }
  // The dialogue of the last send, credentials removed (for diagnostics and tests).
  const std::vector<transcript_line>& last_transcript() const { return connection_.transcript(); }

 private:
  server_endpoint server_;
  tls_policy tls_;
  smtp_options opts_;
  std::string url_;
  std::string address_;
  curl_connection connection_;
};

}  // namespace warmup::net
