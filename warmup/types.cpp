// types.cpp: names and parsing of the shared domain enums, the shard hash, slot keys.
#include "warmup/types.hpp"

#include "warmup/random.hpp"

#include <array>
#include <string>

namespace warmup {

namespace {
constexpr std::array<std::string_view, 6> state_names = {
  "active", "paused", "throttled", "disconnected", "restarting", "removed"};
constexpr std::array<std::string_view, 2> transport_names = {"sandbox", "smtp"};
}  // namespace

std::string_view to_string(mailbox_state s) {
  return state_names[static_cast<std::size_t>(s)];
}

std::optional<mailbox_state> parse_mailbox_state(std::string_view s) {
  for (std::size_t i = 0; i < state_names.size(); ++i)
    if (state_names[i] == s)
      return static_cast<mailbox_state>(i);
  return std::nullopt;
}

std::string_view to_string(transport_kind k) {
  return transport_names[static_cast<std::size_t>(k)];
}

std::optional<transport_kind> parse_transport_kind(std::string_view s) {
  for (std::size_t i = 0; i < transport_names.size(); ++i)
    if (transport_names[i] == s)
      return static_cast<transport_kind>(i);
  return std::nullopt;
}

std::string_view email_domain(std::string_view email) {
  auto at = email.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : email.substr(at + 1);
}

shard_id shard_of(std::string_view email, std::uint32_t shard_count) {
  // Routing calls this for every message: an address (at most 254 characters) is lowered
  // on the stack, not in a heap string.
  std::array<char, 256> buffer;
  std::string heap;
  char* lower = buffer.data();
  if (email.size() > buffer.size()) {
    heap.resize(email.size());
    lower = heap.data();
  }
  for (std::size_t i = 0; i < email.size(); ++i) {
    char c = email[i];
    lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return static_cast<shard_id>(stable_hash(std::string_view(lower, email.size()))
                               % (shard_count == 0 ? 1 : shard_count));
}

std::string to_string(const slot_key& k) {
  return std::to_string(k.mailbox) + "/" + std::to_string(k.day) + "/"
         + std::to_string(k.slot);
}

}  // namespace warmup
