// mail_error.cpp: names and the one-line description of mail failures.
#include "net/mail_error.hpp"

#include <array>

namespace warmup::net {

std::string_view to_string(mail_error_kind k) {
  static constexpr std::array<std::string_view, 6> names{
    "auth", "temporary", "permanent_recipient", "tls", "network", "protocol"};
  return names[static_cast<std::size_t>(k)];
}

std::string mail_error::message() const {
  std::string out{to_string(kind)};
  out += " failure";
  if (!host.empty())
    out += " at " + host;
  if (!reply.empty())
    out += ": " + reply;
  if (!detail.empty())
    out += (reply.empty() ? ": " : " (") + detail + (reply.empty() ? "" : ")");
  return out;
}

}  // namespace warmup::net
