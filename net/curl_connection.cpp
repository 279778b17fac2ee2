// curl_connection.cpp: the shared libcurl plumbing of the SMTP, IMAP and OAuth2 clients.
#include "net/curl_connection.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace warmup::net {

namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Next space-separated word of `s` from `at`.
std::string_view word_at(std::string_view s, std::size_t& at) {
  while (at < s.size() && s[at] == ' ')
    ++at;
  auto end = s.find(' ', at);
  if (end == std::string_view::npos)
    end = s.size();
  auto w = s.substr(at, end - at);
  at = end;
  return w;
}

bool is_imap_tag(std::string_view w) {
  // libcurl's tags: a letter and digits ("A001"); SMTP verbs are all letters.
  return w.size() >= 2 && std::isalpha(static_cast<unsigned char>(w[0])) &&
         std::all_of(w.begin() + 1, w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string redact_client_line(std::string_view line) {
  static constexpr std::array<std::string_view, 32> harmless{
    "EHLO", "HELO", "MAIL", "RCPT", "DATA", "QUIT", "RSET", "STARTTLS", "NOOP",
    "CAPABILITY", "SELECT", "EXAMINE", "LIST", "UID", "STORE", "COPY", "MOVE", "CREATE",
    "APPEND", "NAMESPACE", "LOGOUT", "STATUS", "EXPUNGE", "SEARCH", "FETCH", "ENABLE",
    "CLOSE", "UNSELECT", "DELETE", "SUBSCRIBE", "ID", "CHECK"};
  std::size_t at = 0;
  auto first = word_at(line, at);
  std::string prefix;
  auto verb = first;
  if (is_imap_tag(first)) {
    prefix = std::string(first) + " ";
    verb = word_at(line, at);
  }
  auto v = upper(verb);
  if (v == "AUTH" || v == "AUTHENTICATE")
    return prefix + v + " " + upper(word_at(line, at));   // the mechanism, never its data
  if (v == "LOGIN")
    return prefix + v;
  if (std::find(harmless.begin(), harmless.end(), v) != harmless.end())
    return std::string(line);
  return "(sasl data)";
}

struct curl_callbacks {
  static int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* self) {
    auto& c = *static_cast<curl_connection*>(self);
    if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
      return 0;
    std::string_view chunk{data, size};
    bool in = type == CURLINFO_HEADER_IN;
    // libcurl hands over whole lines; split anyway in case several come at once.
    while (!chunk.empty()) {
      auto nl = chunk.find('\n');
      auto line = chunk.substr(0, nl);
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      if (!line.empty() && c.transcript_.size() < 10'000)
        c.transcript_.push_back({in, in ? std::string(line) : redact_client_line(line)});
      if (nl == std::string_view::npos)
        break;
      chunk.remove_prefix(nl + 1);
    }
    return 0;
  }

  static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* self) {
    auto& c = *static_cast<curl_connection*>(self);
    c.body_.append(data, size * n);
    return size * n;
  }
};

curl_connection::curl_connection() : error_buffer_(CURL_ERROR_SIZE + 1, '\0') {
  global_init_once();
  curl_ = curl_easy_init();
  if (curl_ == nullptr)
    throw std::runtime_error("libcurl: curl_easy_init failed (out of memory?)");
}

curl_connection::~curl_connection() {
  if (curl_ != nullptr)
    curl_easy_cleanup(curl_);
}

curl_connection::curl_connection(curl_connection&& other) noexcept
    : curl_(std::exchange(other.curl_, nullptr)),
      body_(std::move(other.body_)),
      transcript_(std::move(other.transcript_)),
      error_buffer_(std::move(other.error_buffer_)) {}

curl_connection& curl_connection::operator=(curl_connection&& other) noexcept {
  if (this != &other) {
    if (curl_ != nullptr)
      curl_easy_cleanup(curl_);
    curl_ = std::exchange(other.curl_, nullptr);
    body_ = std::move(other.body_);
    transcript_ = std::move(other.transcript_);
    error_buffer_ = std::move(other.error_buffer_);
  }
  return *this;
}

void curl_connection::prepare(const std::string& url, const tls_policy& tls,
                              const call_timeouts& limits, const mail_login* login) {
  curl_easy_reset(curl_);   // keeps the connection cache, DNS cache and TLS sessions
  body_.clear();
  transcript_.clear();
  error_buffer_.assign(CURL_ERROR_SIZE + 1, '\0');
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);   // called from many threads
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect.count()));
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total.count()));
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buffer_.data());
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &curl_callbacks::on_write);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
  // The debug hook is the only way to see the server's reply text (and IMAP's tagged
  // lines); with a hook set, VERBOSE prints nothing.
  curl_easy_setopt(curl_, CURLOPT_DEBUGFUNCTION, &curl_callbacks::on_debug);
  curl_easy_setopt(curl_, CURLOPT_DEBUGDATA, this);
  curl_easy_setopt(curl_, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty())
    curl_easy_setopt(curl_, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (login != nullptr) {
    curl_easy_setopt(curl_, CURLOPT_USERNAME, login->username.c_str());
    if (login->method == auth_method::oauth2) {
      curl_easy_setopt(curl_, CURLOPT_XOAUTH2_BEARER, login->secret.c_str());
      // XOAUTH2 is what Google and Microsoft document for IMAP/SMTP (Outlook has no
      // OAUTHBEARER); libcurl would otherwise prefer OAUTHBEARER when offered.
      curl_easy_setopt(curl_, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
    } else {
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, login->secret.c_str());
    }
  }
}

curl_code curl_connection::perform() {
  return static_cast<curl_code>(curl_easy_perform(curl_));
}

std::string curl_connection::error_text(curl_code code) const {
  std::string text = error_buffer_.data();
  if (text.empty())
    text = curl_easy_strerror(static_cast<CURLcode>(code));
  return text;
}

mail_error curl_connection::error_from(curl_code code, std::string host) const {
  mail_error e;
  e.host = std::move(host);
  e.detail = error_text(code);
  switch (static_cast<CURLcode>(code)) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
      e.kind = mail_error_kind::temporary;
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      e.kind = mail_error_kind::network;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
      e.kind = mail_error_kind::tls;
      break;
    case CURLE_LOGIN_DENIED:
      e.kind = mail_error_kind::auth;
      break;
    default:
      e.kind = mail_error_kind::protocol;
  }
  return e;
}

std::string endpoint_address(const server_endpoint& e, std::uint16_t default_port) {
  return e.host + ":" + std::to_string(e.port != 0 ? e.port : default_port);
}

namespace {

std::size_t read_upload(char* out, std::size_t size, std::size_t n, void* self) {
  auto& c = *static_cast<upload_cursor*>(self);
  auto len = std::min(size * n, c.data.size() - c.at);
  std::memcpy(out, c.data.data() + c.at, len);
  c.at += len;
  return len;
}

}  // namespace

void set_upload(CURL* c, upload_cursor& cursor) {
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &cursor);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(cursor.data.size()));
}

}  // namespace warmup::net
