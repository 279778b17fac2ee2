// oauth_token_source.hpp: OAuth2 access tokens for XOAUTH2 logins: exchanges a mailbox's
// refresh token at the provider's token URL (Google, Microsoft, or any RFC 6749 server)
// and caches the access token until shortly before it expires. Thread-safe: the SMTP and
// IMAP workers of one mailbox may share one source.
#pragma once

#include "net/curl_connection.hpp"
#include "net/mail_error.hpp"
#include "warmup/account.hpp"
#include "warmup/types.hpp"

#include <chrono>
#include <mutex>
#include <string>

namespace warmup::net {

struct oauth_client {
  std::string token_url;       // e.g. https://oauth2.googleapis.com/token
  std::string client_id;
  std::string client_secret;   // optional (public clients have none); never logged
};

struct oauth_options {
  call_timeouts timeouts{std::chrono::milliseconds{10'000}, std::chrono::milliseconds{20'000}};
  // A token is renewed this long before it expires, so a login never races its expiry.
  std::chrono::seconds margin{300};
};

// The token endpoint's answer, parsed. Exposed for tests.
struct oauth_token {
  std::string access_token;
  std::int64_t expires_in = 0;       // seconds
  std::string refresh_token;         // a rotated refresh token (Microsoft), or empty
};
// Reads a token endpoint's JSON body; an error (auth for invalid_grant/invalid_client,
// protocol for anything unreadable) carries the provider's error and description.
mail_result<oauth_token> parse_token_response(long http_status, const std::string& body,
                                              const std::string& host);

class oauth_token_source {
 public:
  oauth_token_source(oauth_client client, std::string refresh_token, tls_policy tls = {},
                     oauth_options opts = {});
  // The token URL from the account (or its provider preset) and its client id.
  oauth_token_source(const mail_account& account, std::string client_secret,
                     std::string refresh_token, oauth_options opts = {});

  // A valid access token at `now` (ms since the epoch, real time): the cached one until
  // (expiry - margin), else a fresh one from the token URL.
  mail_result<std::string> access_token(time_ms now);
  mail_result<std::string> access_token();   // now = the system clock
  // The login for XOAUTH2 with the current access token.
  mail_result<mail_login> login(const std::string& username, time_ms now);

  // Forget the cached token (the server refused it): the next call asks again.
  void invalidate();
  // The refresh token in use: the provider may rotate it; the caller re-seals it when
  // refresh_token_rotated() says so.
  std::string refresh_token() const;
  bool refresh_token_rotated() const;
  // How many times the token URL was asked (for tests and metrics).
  std::uint64_t exchanges() const;

 private:
  mutable std::mutex mutex_;
  oauth_client client_;
  std::string refresh_token_;
  bool rotated_ = false;
  tls_policy tls_;
  oauth_options opts_;
  curl_connection connection_;
  std::string access_token_;
  time_ms renew_at_ = 0;
  std::uint64_t exchanges_ = 0;
};

}  // namespace warmup::net
