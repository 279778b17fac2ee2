// curl_connection.hpp: one libcurl easy handle with what every mail call shares: time
// limits, certificate checks, login, a redacted protocol transcript (to quote the server's
// reply in errors) and the mapping of libcurl failures to mail_error kinds.
#pragma once

#include "net/mail_error.hpp"
#include "warmup/account.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

typedef void CURL;  // NOLINT: libcurl's own spelling, so <curl/curl.h> stays out of headers
using curl_code = int;

namespace warmup::net {

// Time limits of one call; every call has them (the engine never blocks unbounded).
struct call_timeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds total{60'000};
};

// How the server's certificate is checked: against the system store or `ca_file`;
// `verify = false` only when the user said so for this account.
struct tls_policy {
  std::string ca_file;
  bool verify = true;
};

// Who logs in and with what. `secret` is the password, or an OAuth2 access token when
// `method` is oauth2 (sent with SASL XOAUTH2). Never logged, never in a mail_error.
struct mail_login {
  std::string username;
  std::string secret;
  auth_method method = auth_method::password;
};

// A line of the conversation: what the server said, or what we sent with arguments of
// login commands (and SASL continuations) removed.
struct transcript_line {
  bool from_server = false;
  std::string text;
};

// Drops credentials from a client line: "A002 LOGIN u p" -> "A002 LOGIN", "AUTH PLAIN x"
// -> "AUTH PLAIN", a bare SASL continuation -> "(sasl data)". Exposed for tests.
std::string redact_client_line(std::string_view line);

class curl_connection {
 public:
  curl_connection();
  ~curl_connection();
  curl_connection(curl_connection&& other) noexcept;
  curl_connection& operator=(curl_connection&& other) noexcept;
  curl_connection(const curl_connection&) = delete;
  curl_connection& operator=(const curl_connection&) = delete;

  CURL* handle() const { return curl_; }

  // Clears the options of the previous call (the open connection and TLS sessions stay
  // cached) and sets URL, time limits, certificate checks, login and the transcript.
  void prepare(const std::string& url, const tls_policy& tls, const call_timeouts& limits,
               const mail_login* login);
  // Runs the call; the body the server sent lands in body(), the dialogue in transcript().
  curl_code perform();

  const std::string& body() const { return body_; }
  const std::vector<transcript_line>& transcript() const { return transcript_; }
  // libcurl's error buffer for the last call, or its generic text for the code.
  std::string error_text(curl_code code) const;
  // The error for a failed call: kind from the libcurl code (refused/timeout -> temporary,
  // certificate/handshake -> tls, login denied -> auth, ...), host and libcurl's reason.
  // Protocols refine it with the server's reply (see smtp_client, imap_session).
  mail_error error_from(curl_code code, std::string host) const;

 private:
  friend struct curl_callbacks;

  CURL* curl_ = nullptr;
  std::string body_;
  std::vector<transcript_line> transcript_;
  std::vector<char> error_buffer_;
};

// Bytes libcurl uploads (SMTP DATA, IMAP APPEND); must outlive the call's perform().
struct upload_cursor {
  std::string_view data;
  std::size_t at = 0;
};
// Makes the prepared call upload `cursor`'s bytes (read callback, size, upload mode).
void set_upload(CURL* c, upload_cursor& cursor);

// "host:port" of an endpoint with the protocol default filled in.
std::string endpoint_address(const server_endpoint& e, std::uint16_t default_port);

}  // namespace warmup::net
