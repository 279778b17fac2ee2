// oauth_token_source.cpp: the refresh_token grant over libcurl and the access token cache.
#include "net/oauth_token_source.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

namespace warmup::net {

namespace {

std::string form_escape(CURL* c, const std::string& s) {
  char* e = curl_easy_escape(c, s.c_str(), static_cast<int>(s.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

// "https://host:port/path" -> "host:port" for error messages.
std::string host_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

mail_result<oauth_token> parse_token_response(long http_status, const std::string& body,
                                              const std::string& host) {
  mail_error e;
  e.host = host;
  e.reply_code = static_cast<int>(http_status);
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    e.kind = http_status >= 500 || http_status == 429 ? mail_error_kind::temporary
                                                       : mail_error_kind::protocol;
    e.detail = "token endpoint answered HTTP " + std::to_string(http_status) + " without JSON";
    return e;
  }
  if (http_status == 200 && json.contains("access_token") && json["access_token"].is_string()) {
    oauth_token t;
    t.access_token = json["access_token"].get<std::string>();
    if (json.contains("expires_in")) {
      const auto& x = json["expires_in"];
      if (x.is_number_integer())
        t.expires_in = x.get<std::int64_t>();
      else if (x.is_string())   // some servers send it as a string
        t.expires_in = std::atoll(x.get<std::string>().c_str());
    }
    if (t.expires_in <= 0)
      t.expires_in = 3600;    // RFC 6749 leaves it optional; an hour is the common value
    if (json.contains("refresh_token") && json["refresh_token"].is_string())
      t.refresh_token = json["refresh_token"].get<std::string>();
    if (t.access_token.empty()) {
      e.kind = mail_error_kind::protocol;
      e.detail = "token endpoint sent an empty access_token";
      return e;
    }
    return t;
  }
  std::string error = json.value("error", "");
  std::string description = json.value("error_description", "");
  e.reply = error + (description.empty() ? "" : ": " + description);
  // The refresh token or client is no longer good: the user must reconnect the mailbox.
  if (error == "invalid_grant" || error == "invalid_client" || error == "unauthorized_client" ||
      http_status == 401)
    e.kind = mail_error_kind::auth;
  else if (http_status >= 500 || http_status == 429 || error == "temporarily_unavailable")
    e.kind = mail_error_kind::temporary;
  else
    e.kind = mail_error_kind::protocol;
  e.detail = "token endpoint answered HTTP " + std::to_string(http_status);
  return e;
}

oauth_token_source::oauth_token_source(oauth_client client, std::string refresh_token,
                                       tls_policy tls, oauth_options opts)
    : client_(std::move(client)),
      refresh_token_(std::move(refresh_token)),
      tls_(std::move(tls)),
      opts_(opts) {}

oauth_token_source::oauth_token_source(const mail_account& account, std::string client_secret,
                                       std::string refresh_token, oauth_options opts)
    : oauth_token_source(
          oauth_client{account.token_url, account.oauth_client_id, std::move(client_secret)},
          std::move(refresh_token), tls_policy{account.ca_file, account.tls_verify}, opts) {}

mail_result<std::string> oauth_token_source::access_token() {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return access_token(now.count());
}

mail_result<std::string> oauth_token_source::access_token(time_ms now) {
  std::lock_guard guard{mutex_};
  if (!access_token_.empty() && now < renew_at_)
    return access_token_;
  auto host = host_of(client_.token_url);
  if (client_.token_url.empty()) {
    mail_error e;
    e.kind = mail_error_kind::auth;
    e.detail = "no OAuth2 token URL for this account (set token_url or a provider preset)";
    return e;
  }
  connection_.prepare(client_.token_url, tls_, opts_.timeouts, nullptr);
  CURL* c = connection_.handle();
  std::string form = "grant_type=refresh_token&refresh_token=" + form_escape(c, refresh_token_) +
                     "&client_id=" + form_escape(c, client_.client_id);
  if (!client_.client_secret.empty())
    form += "&client_secret=" + form_escape(c, client_.client_secret);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
  ++exchanges_;
  auto code = connection_.perform();
  // the form holds the refresh token and client secret: do not leave it in memory
  std::fill(form.begin(), form.end(), '\0');
  if (code != CURLE_OK)
    return connection_.error_from(code, host);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  auto token = parse_token_response(status, connection_.body(), host);
  if (!token) {
    access_token_.clear();
    return token.error();
  }
  access_token_ = token->access_token;
  auto margin_ms = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.margin).count();
  // A token shorter-lived than twice the margin is kept for half its life instead.
  auto life_ms = token->expires_in * 1000;
  renew_at_ = now + (life_ms > 2 * margin_ms ? life_ms - margin_ms : life_ms / 2);
  if (!token->refresh_token.empty() && token->refresh_token != refresh_token_) {
    refresh_token_ = token->refresh_token;
    rotated_ = true;
  }
  return access_token_;
}

mail_result<mail_login> oauth_token_source::login(const std::string& username, time_ms now) {
  auto token = access_token(now);
  if (!token)
    return token.error();
  return mail_login{username, *token, auth_method::oauth2};
}

void oauth_token_source::invalidate() {
  std::lock_guard guard{mutex_};
  access_token_.clear();
  renew_at_ = 0;
}

std::string oauth_token_source::refresh_token() const {
  std::lock_guard guard{mutex_};
  return refresh_token_;
}

bool oauth_token_source::refresh_token_rotated() const {
  std::lock_guard guard{mutex_};
  return rotated_;
}

std::uint64_t oauth_token_source::exchanges() const {
  std::lock_guard guard{mutex_};
  return exchanges_;
}

}  // namespace warmup::net
