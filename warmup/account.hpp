// account.hpp: how a real mailbox is reached: SMTP and IMAP endpoints, login and TLS
// settings (the secret itself is never here: it is sealed at rest, see net/secret_box).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warmup {

// How a connection is secured: implicit TLS (465/993), STARTTLS upgrade (587/143), or
// plain text (loopback test servers only; the engine logs it).
enum class mail_security : std::uint8_t { tls, starttls, none };
std::string_view to_string(mail_security s);
std::optional<mail_security> parse_mail_security(std::string_view s);

// How the engine logs in: a password (AUTH PLAIN/LOGIN) or an OAuth2 refresh token that
// is exchanged for an access token (XOAUTH2).
enum class auth_method : std::uint8_t { password, oauth2 };
std::string_view to_string(auth_method a);
std::optional<auth_method> parse_auth_method(std::string_view s);

struct server_endpoint {
  std::string host;
  std::uint16_t port = 0;          // 0: the default for the protocol and security
  mail_security security = mail_security::tls;
  friend bool operator==(const server_endpoint&, const server_endpoint&) = default;
};

// The well-known ports: SMTP 465 (tls) / 587 (starttls) / 25 (none);
// IMAP 993 (tls) / 143 (starttls, none).
std::uint16_t default_smtp_port(mail_security s);
std::uint16_t default_imap_port(mail_security s);

// Everything but the secret needed to send and read a real mailbox's mail.
struct mail_account {
  server_endpoint smtp;
  server_endpoint imap;
  std::string username;            // login name; empty: the mailbox's email
  auth_method auth = auth_method::password;
  std::string oauth_client_id;     // OAuth2 only
  std::string token_url;           // OAuth2 token endpoint; empty: the provider preset's
  std::string ca_file;             // extra CA bundle for private servers; empty: system
  bool tls_verify = true;          // false only when the user says so (logged each start)
  friend bool operator==(const mail_account&, const mail_account&) = default;
  bool configured() const { return !smtp.host.empty() && !imap.host.empty(); }
};

// What a mailbox logs in with. Only ever held in memory by the CLI that seals it and by
// the transport that opens it; the store keeps it sealed (see net/secret_box).
struct account_secret {
  std::string password;        // AUTH PLAIN/LOGIN
  std::string refresh_token;   // OAuth2
  std::string client_secret;   // OAuth2 client secret, where the provider needs one
  friend bool operator==(const account_secret&, const account_secret&) = default;
};
// The plain bytes that get sealed: a version tag and the three fields, each length-
// prefixed (so any byte, NUL included, round-trips). decode returns nullopt on bytes it
// did not write.
std::string encode_secret(const account_secret& s);
std::optional<account_secret> decode_secret(std::string_view bytes);

// Provider presets: servers, security and OAuth2 token endpoint of the big providers.
// Known: "gmail" (Google), "outlook" (Microsoft 365 / Outlook.com), "yahoo".
// Fills only fields that are empty/zero in `a`; returns false for an unknown preset.
bool apply_provider_preset(std::string_view provider, mail_account& a);

}  // namespace warmup
