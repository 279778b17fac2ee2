// smtp_client.cpp: one SMTP send with libcurl and the reading of its failure.
#include "net/smtp_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace warmup::net {

namespace {

// "<a@b>" -> "a@b" (libcurl adds the brackets itself).
std::string bare_address(std::string_view a) {
  while (!a.empty() && (a.front() == '<' || a.front() == ' '))
    a.remove_prefix(1);
  while (!a.empty() && (a.back() == '>' || a.back() == ' '))
    a.remove_suffix(1);
  return std::string(a);
}

int reply_code(std::string_view line) {
  if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
      !std::isdigit(static_cast<unsigned char>(line[1])) ||
      !std::isdigit(static_cast<unsigned char>(line[2])))
    return 0;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

// The first reply >= 400 in the dialogue and the command it answered; multi-line replies
// ("550-...", "550 ...") are joined with a space.
struct failing_reply {
  int code = 0;
  std::string text;
  std::string command;
};

failing_reply first_failing_reply(const std::vector<transcript_line>& lines) {
  failing_reply out;
  std::string last_command = "(greeting)";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    if (!l.from_server) {
      last_command = l.text;
      continue;
    }
    int code = reply_code(l.text);
    if (code < 400)
      continue;
    out.code = code;
    out.command = last_command;
    out.text = l.text;
    // continuation lines of the same reply
    for (std::size_t j = i + 1; l.text.size() > 3 && l.text[3] == '-' && j < lines.size() &&
                                lines[j].from_server && reply_code(lines[j].text) == code;
         ++j) {
      out.text += " " + lines[j].text.substr(std::min<std::size_t>(4, lines[j].text.size()));
      if (lines[j].text.size() > 3 && lines[j].text[3] != '-')
        break;
    }
    return out;
  }
  return out;
}

std::string verb_of(std::string_view command) {
  auto end = command.find_first_of(" :");
  std::string v(command.substr(0, end));
  for (auto& c : v)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return v;
}

}  // namespace

smtp_envelope envelope_of(const mail_message& m) {
  smtp_envelope e;
  e.from = bare_address(m.from);
  e.recipients.push_back(bare_address(m.to));
  for (const auto& cc : m.cc)
    e.recipients.push_back(bare_address(cc));
  return e;
}

mail_error_kind classify_smtp_reply(int code, std::string_view command) {
  auto verb = verb_of(command);
  if (verb == "AUTH" || verb == "(SASL")   // 454 is "try again later", 5xx is a refusal
    return code >= 500 ? mail_error_kind::auth : mail_error_kind::temporary;
  if (code == 530)                         // authentication required
    return mail_error_kind::auth;
  if (code >= 400 && code < 500)
    return mail_error_kind::temporary;
  // the reply to DATA or to the end of the data: the message is refused
  if (code >= 500 && (verb == "RCPT" || verb == "DATA"))
    return mail_error_kind::permanent_recipient;
  return mail_error_kind::protocol;
}

smtp_client::smtp_client(server_endpoint server, tls_policy tls, smtp_options opts)
    : server_(std::move(server)), tls_(std::move(tls)), opts_(opts) {
  address_ = endpoint_address(server_, default_smtp_port(server_.security));
  url_ = (server_.security == mail_security::tls ? "smtps://" : "smtp://") + address_;
}

smtp_client::smtp_client(const mail_account& account, smtp_options opts)
    : smtp_client(account.smtp, tls_policy{account.ca_file, account.tls_verify}, opts) {}

mail_status smtp_client::send(const mail_message& message, const mail_login& login) {
  return send(envelope_of(message), to_rfc5322(message), login);
}

mail_status smtp_client::send(const smtp_envelope& envelope, std::string_view rfc5322,
                              const mail_login& login) {
  if (envelope.recipients.empty()) {
    mail_error e;
    e.kind = mail_error_kind::protocol;
    e.host = address_;
    e.detail = "no recipients";
    return e;
  }
  connection_.prepare(url_, tls_, opts_.timeouts, login.username.empty() ? nullptr : &login);
  CURL* c = connection_.handle();
  if (server_.security == mail_security::starttls)
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (opts_.connection_per_message)
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  std::string from = "<" + bare_address(envelope.from) + ">";
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_slist* rcpt = nullptr;
  for (const auto& r : envelope.recipients)
    rcpt = curl_slist_append(rcpt, ("<" + bare_address(r) + ">").c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  upload_cursor cursor{rfc5322};
  set_upload(c, cursor);
  auto code = connection_.perform();
  curl_slist_free_all(rcpt);
  if (code == CURLE_OK)
    return mail_ok();

  auto e = connection_.error_from(code, address_);
  auto reply = first_failing_reply(connection_.transcript());
  // A connection-level failure (refused, TLS, DNS) keeps libcurl's kind; a server reply
  // decides otherwise. STARTTLS refused is a TLS problem whatever the code.
  if (reply.code != 0 && e.kind != mail_error_kind::tls) {
    e.reply_code = reply.code;
    e.reply = reply.text;
    if (code == CURLE_LOGIN_DENIED)
      e.kind = reply.code >= 500 ? mail_error_kind::auth : mail_error_kind::temporary;
    else
      e.kind = classify_smtp_reply(reply.code, reply.command);
  } else if (reply.code != 0) {
    e.reply_code = reply.code;
    e.reply = reply.text;
  }
  return e;
}

}  // namespace warmup::net
