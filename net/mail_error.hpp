// mail_error.hpp: how a real SMTP/IMAP/OAuth2 call fails, in the few kinds the engine acts
// on (disconnect the mailbox, skip the slot, count a bounce), with the server's own words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace warmup::net {

enum class mail_error_kind : std::uint8_t {
  auth,                 // login refused (wrong password, revoked token): disconnect the mailbox
  temporary,            // 4xx, timeout, connection refused: try the next slot, never resend
  permanent_recipient,  // 5xx for a recipient: a bounce
  tls,                  // handshake or certificate verification failed (names host and why)
  network,              // the host cannot be resolved or the connection broke mid-way
  protocol,             // the server said something we did not expect (or a 5xx elsewhere)
};
std::string_view to_string(mail_error_kind k);

// One failure. Never carries a secret: replies to AUTH/LOGIN are kept (they explain the
// refusal), what the client sent for them is not.
struct mail_error {
  mail_error_kind kind = mail_error_kind::protocol;
  std::string host;      // "host:port" the call talked to
  int reply_code = 0;    // SMTP reply code / HTTP status when known, else 0
  std::string reply;     // the server's last reply text, e.g. "550 5.1.1 <x@y>: User unknown"
  std::string detail;    // what failed in our words and libcurl's (error buffer)
  // "auth failure at smtp.example.com:587: 535 5.7.8 ... (Login denied)"
  std::string message() const;
};

// Either a value or a mail_error (C++20 has no std::expected).
template <class T>
class mail_result {
 public:
  mail_result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  mail_result(mail_error error) : v_(std::in_place_index<1>, std::move(error)) {}
  explicit operator bool() const { return v_.index() == 0; }
  bool has_value() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const mail_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, mail_error> v_;
};

// The result of a call that returns nothing but may fail.
struct mail_done {};
using mail_status = mail_result<mail_done>;
inline mail_status mail_ok() { return mail_done{}; }

}  // namespace warmup::net
