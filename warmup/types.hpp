// types.hpp: the domain's shared value types (ids, times, mailbox settings, slots).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warmup {

// Every instant in the engine is a count of milliseconds since the Unix epoch (UTC),
// taken from the clock abstraction, never from the system clock in domain code.
using time_ms = std::int64_t;
// A calendar day as a count of days since 1970-01-01 (the mailbox's local date).
using day_number = std::int32_t;
// The store's integer id of a mailbox (dense, assigned at insertion, never reused).
using mailbox_id = std::uint32_t;
// A shard index in [0, shard_count).
using shard_id = std::uint32_t;
// A shard's lease epoch: every shard-owned write carries it (always 1 on a single node).
using epoch_t = std::uint64_t;

constexpr time_ms ms_per_second = 1000;
constexpr time_ms ms_per_minute = 60 * ms_per_second;
constexpr time_ms ms_per_hour = 60 * ms_per_minute;
constexpr time_ms ms_per_day = 24 * ms_per_hour;
constexpr mailbox_id no_mailbox = 0xFFFFFFFFu;

// Lifecycle of a mailbox as the user and the engine see it.
enum class mailbox_state : std::uint8_t {
  active,        // warming up
  paused,        // paused by the user (or by the health bands, see health.hpp)
  throttled,     // sending at a reduced ramp because of spam placement
  disconnected,  // authentication failed; waits for `warmup mailbox resume`
  restarting,    // its actor crashed and is being restarted with backoff
  removed,       // soft-deleted; keeps its history
};
std::string_view to_string(mailbox_state s);
std::optional<mailbox_state> parse_mailbox_state(std::string_view s);

// Which mail network carries a mailbox's mail.
enum class transport_kind : std::uint8_t { sandbox, smtp };
std::string_view to_string(transport_kind k);
std::optional<transport_kind> parse_transport_kind(std::string_view s);

// Ramp shape: how many warmup emails a day, growing from `start` by `step` per
// completed sending day up to `ceiling`, with +-`variance` daily noise.
struct ramp_params {
  int start = 3;
  double step = 2.0;
  int ceiling = 40;
  double variance = 0.2;        // +-20% per day
  bool weekdays_only = false;   // if true, weekend target is 0
  double weekend_factor = 0.3;  // used when !weekdays_only
  friend bool operator==(const ramp_params&, const ramp_params&) = default;
};

// Sending calendar in the mailbox's local time.
struct window_params {
  int start_minute = 8 * 60;       // 08:00 local
  int end_minute = 18 * 60 + 30;   // 18:30 local
  int min_gap_minutes = 12;        // minimum gap between two sends
  friend bool operator==(const window_params&, const window_params&) = default;
};

// Engagement rates applied by a mailbox to the warmup mail it receives.
struct engagement_params {
  double read_rate = 0.90;
  double important_rate = 0.15;
  double star_rate = 0.08;
  double reply_rate = 0.35;
  double rescue_rate = 1.0;
  int max_thread_turns = 4;
  friend bool operator==(const engagement_params&, const engagement_params&) = default;
};

// Everything the domain needs to know about one mailbox (no secrets here: credentials
// live in the store, encrypted, and only the transport sees them).
struct mailbox_settings {
  mailbox_id id = no_mailbox;
  std::string email;          // lower-cased address, the stable identity (shard hash input)
  std::string display_name;
  std::string provider;       // "gmail", "outlook", "yahoo", "custom", or a sandbox provider
  std::string organisation;   // defaults to the email's domain
  std::string timezone = "UTC";  // IANA name
  transport_kind transport = transport_kind::sandbox;
  ramp_params ramp;
  window_params window;
  engagement_params engagement;
  mailbox_state state = mailbox_state::active;
  day_number created_day = 0;
};

// The domain part of an address ("b.example" for "a@b.example"), lower-cased.
std::string_view email_domain(std::string_view email);

// Stable shard assignment, documented and never std::hash:
//   shard = XXH64(lower-cased email bytes, seed 0) mod shard_count
shard_id shard_of(std::string_view email, std::uint32_t shard_count);

// The idempotency key of one planned send: (mailbox, local day, slot index). Replies use
// slot indices >= reply_slot_base so they never collide with planned openers.
struct slot_key {
  mailbox_id mailbox = no_mailbox;
  day_number day = 0;
  std::uint32_t slot = 0;
  friend bool operator==(const slot_key&, const slot_key&) = default;
  friend auto operator<=>(const slot_key&, const slot_key&) = default;
};
constexpr std::uint32_t reply_slot_base = 1000;
std::string to_string(const slot_key& k);  // "mailbox/day/slot", e.g. "42/20419/3"

}  // namespace warmup
