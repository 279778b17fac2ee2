// account.cpp: names, default ports and provider presets of mail accounts.
#include "warmup/account.hpp"

#include <array>

namespace warmup {

namespace {
constexpr std::array<std::string_view, 3> security_names{"tls", "starttls", "none"};
constexpr std::array<std::string_view, 2> auth_names{"password", "oauth2"};
}  // namespace

std::string_view to_string(mail_security s) {
  return security_names[static_cast<std::size_t>(s)];
}

std::optional<mail_security> parse_mail_security(std::string_view s) {
  for (std::size_t i = 0; i < security_names.size(); ++i)
    if (security_names[i] == s)
      return static_cast<mail_security>(i);
  return std::nullopt;
}

std::string_view to_string(auth_method a) {
  return auth_names[static_cast<std::size_t>(a)];
}

std::optional<auth_method> parse_auth_method(std::string_view s) {
  for (std::size_t i = 0; i < auth_names.size(); ++i)
    if (auth_names[i] == s)
      return static_cast<auth_method>(i);
  return std::nullopt;
}

std::uint16_t default_smtp_port(mail_security s) {
  switch (s) {
    case mail_security::tls: return 465;
    case mail_security::starttls: return 587;
    case mail_security::none: return 25;
  }
  return 465;
}

std::uint16_t default_imap_port(mail_security s) {
  return s == mail_security::tls ? 993 : 143;
}

namespace {
constexpr std::string_view secret_tag = "warmup-secret-v1";

void put_field(std::string& out, const std::string& v) {
  const auto n = static_cast<std::uint32_t>(v.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xFF));
  out += v;
}

bool get_field(std::string_view& in, std::string& v) {
  if (in.size() < 4)
    return false;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n = (n << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  in.remove_prefix(4);
  if (in.size() < n)
    return false;
  v.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}
}  // namespace

std::string encode_secret(const account_secret& s) {
  std::string out(secret_tag);
  put_field(out, s.password);
  put_field(out, s.refresh_token);
  put_field(out, s.client_secret);
  return out;
}

std::optional<account_secret> decode_secret(std::string_view bytes) {
  if (bytes.substr(0, secret_tag.size()) != secret_tag)
    return std::nullopt;
  bytes.remove_prefix(secret_tag.size());
  account_secret s;
  if (!get_field(bytes, s.password) || !get_field(bytes, s.refresh_token)
      || !get_field(bytes, s.client_secret) || !bytes.empty())
    return std::nullopt;
  return s;
}

bool apply_provider_preset(std::string_view provider, mail_account& a) {
  struct preset {
    std::string_view name, smtp, imap, token_url;
    mail_security smtp_security;
  };
  static constexpr std::array<preset, 3> presets{{
    {"gmail", "smtp.gmail.com", "imap.gmail.com", "https://oauth2.googleapis.com/token",
     mail_security::tls},
    {"outlook", "smtp.office365.com", "outlook.office365.com",
     "https://login.microsoftonline.com/common/oauth2/v2.0/token", mail_security::starttls},
    {"yahoo", "smtp.mail.yahoo.com", "imap.mail.yahoo.com", "", mail_security::tls},
  }};
  for (const auto& p : presets) {
    if (p.name != provider)
      continue;
    if (a.smtp.host.empty()) {
      a.smtp.host = std::string(p.smtp);
      a.smtp.security = p.smtp_security;
    }
    if (a.imap.host.empty()) {
      a.imap.host = std::string(p.imap);
      a.imap.security = mail_security::tls;
    }
    if (a.token_url.empty())
      a.token_url = std::string(p.token_url);
    return true;
  }
  return false;
}

}  // namespace warmup
