// peers.hpp: the pool directory and peer selection. A weighted draw over every eligible
// mailbox of the pool in O(log N) per draw (a sum tree over blocks of recipients ordered
// by provider and organisation), with inbound caps and a 7-day pair history.
#pragma once

#include "warmup/random.hpp"
#include "warmup/types.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace warmup {

struct peer_rules {
  double internal_share = 0.0;      // share of draws within the sender's organisation
  double other_domain_weight = 3.0; // (other organisations are always other domains)
  double other_provider_weight = 2.0;  // multiplies other_domain_weight
  double healthy_weight = 1.8;      // recipient is healthy and at its ramp ceiling
  double pair_decay = 0.4;          // x0.4 per message of this pair in the last 7 days
  int pair_max = 4;                 // 4+ messages of a pair in 7 days: excluded
  int pair_window_days = 7;
  double inbound_cap_factor = 1.5;  // inbound per day <= 1.5 x recipient's daily limit
  double min_capacity_weight = 0.05;   // x max(0.05, remaining inbound / cap)
  double cc_rate = 0.10;            // chance a send Cc's a second draw
  friend bool operator==(const peer_rules&, const peer_rules&) = default;
};

// What the directory knows of one pool member.
struct peer_member {
  mailbox_id id = no_mailbox;
  std::string_view email;           // copied by the directory
  std::string_view provider;        // copied (interned) by the directory
  std::string_view organisation;    // copied (interned)
  int daily_limit = 0;              // its ramp ceiling or today's target
  bool healthy_steady = false;
  bool active = true;               // inactive members are never drawn
};

struct peer_choice {
  mailbox_id to = no_mailbox;
  std::optional<mailbox_id> cc;
};

class peer_directory {
public:
  explicit peer_directory(peer_rules rules = {});
  ~peer_directory();
  peer_directory(peer_directory&&) noexcept;
  peer_directory& operator=(peer_directory&&) noexcept;

  const peer_rules& rules() const;
  // Adds or updates a member (by id). Cheap; the draw structure is rebuilt lazily.
  void upsert(const peer_member& m);
  void remove(mailbox_id id);
  void set_active(mailbox_id id, bool active);
  void set_daily_limit(mailbox_id id, int daily_limit);
  std::size_t size() const;

  // Starts UTC day `day`: resets inbound counts and forgets pair history older than
  // the pair window.
  void start_day(day_number day);

  // Draws a recipient for `sender` by the rules (never the sender itself, never the
  // sender's organisation except for the internal share, never a member at its inbound
  // cap, never a pair at pair_max) and records the inbound and the pair. nullopt when no
  // member is eligible.
  std::optional<peer_choice> choose(mailbox_id sender, rng& r);

  // Records a message that did not come from choose() (replies): inbound and pair.
  void record(mailbox_id from, mailbox_id to);

  int inbound_today(mailbox_id id) const;
  int pair_count(mailbox_id a, mailbox_id b) const;  // messages either way, in window

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace warmup
