// mailbox.hpp: the mailbox actor: one per mailbox under warmup; owns its ramp state and
// today's plan, sends at its slots, engages with the warmup mail it receives.
#pragma once

#include "actors/engine_context.hpp"
#include "messages/interfaces.hpp"
#include "warmup/ramp.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace warmup {

// How a mailbox actor starts: its settings, its persisted ramp, the slots of `used_day`
// that already have an intent (a restart must never send them again) and, when that day
// was planned before, its stored plan (a restart continues it rather than planning anew).
struct mailbox_seed {
  const mailbox_settings* settings = nullptr;
  ramp_state ramp;
  mailbox_state state = mailbox_state::active;
  day_number used_day = 0;
  std::vector<std::uint32_t> used_slots;
  std::optional<std::vector<time_ms>> used_plan;   // slot times of used_day, -1 = dropped
  // Settings edited while the node runs (then `settings` points into it): the actor owns
  // them with its shard. Null for the node's table row, which outlives every actor.
  std::shared_ptr<const mailbox_settings> edited = nullptr;
};

struct mailbox_actor_state {
  // Slot lifecycle inside today's plan.
  enum class slot_status : std::uint8_t { planned, in_flight, sent, failed, skipped, dropped };
  struct slot_entry {
    time_ms at = 0;
    mailbox_id to = no_mailbox;
    mailbox_id cc = no_mailbox;
    slot_status status = slot_status::planned;
  };
  // A received warmup message and what this mailbox will do with it.
  enum class inbound_stage : std::uint8_t { waiting, processing, reply_due, replying };
  struct inbound_entry {
    incoming_mail mail;
    engagement_plan plan;
    time_ms process_at = 0;
    time_ms reply_at = 0;
    inbound_stage stage = inbound_stage::waiting;
    std::uint8_t failed_visits = 0;   // IMAP visits that failed (retried a few times)
  };
  // A composed message whose send intent went to the shard; sent once the shard answers
  // that the intent is durable and new.
  struct awaited_send {
    slot_key key;
    mail_message msg;
    mailbox_id to = no_mailbox;
    mailbox_id cc = no_mailbox;
    bool is_reply = false;
  };
  // A compact per-day record of this mailbox as a sender (health input).
  struct history_day {
    day_number day = 0;
    std::uint16_t planned = 0, sent = 0, inbox = 0, spam = 0, missing = 0, bounces = 0;
  };

  // What a restart continues (the slots of `day` that already have an intent, and the
  // day's stored plan). Only an actor started on a day that has either holds one, until
  // its first plan: an idle mailbox pays a null pointer, not ~60 B of empty containers.
  struct restart_seed {
    day_number day = 0;
    std::vector<std::uint32_t> used_slots;
    std::optional<std::vector<time_ms>> used_plan;
  };

  // Fields ordered by size (no padding holes): one of these per mailbox.
  // The node's table row (not owned: an aliasing pointer with no control block, so no
  // allocation and no reference counting), or a copy edited while the node runs (owned).
  std::shared_ptr<const mailbox_settings> settings;
  const engine_context* ctx = nullptr;
  shard_actor shard;
  time_ms day_end = 0;                   // UTC instant of the next local midnight
  time_ms scheduled = -1;                // the due time last reported to the shard
  std::vector<slot_entry> slots;
  std::vector<inbound_entry> inbound;
  std::vector<awaited_send> awaiting;    // intents reported, answers not back (oldest first)
  std::unique_ptr<restart_seed> restart;
  std::array<history_day, 8> history{};
  ramp_state ramp;
  std::uint32_t local = 0;               // index in the shard
  day_number day = 0;                    // local day of the current plan (0: none yet)
  int target = 0;
  mailbox_state state = mailbox_state::active;
  bool peers_requested = false;
};

// What recipient `r` will do with warmup message `mail` and when it first looks at it.
// Its shard decides this on arrival (the recipient's own settings and seed), so that the
// mail can wait at the shard for the wake that first look needs.
held_mail receive_plan(const mailbox_settings& r, incoming_mail mail);

// The mailbox actor. Its handlers find their actor through the one running on the
// calling thread (set around each activation), so a single behaviour, built once, serves
// every mailbox actor: a behaviour of eight handlers costs ~336 B of heap per actor when
// each handler captures `self` (memory target: <= 2 KiB per idle mailbox).
class mailbox_actor_impl final : public mailbox_actor::base {
public:
  mailbox_actor_impl(caf::actor_config& cfg, const engine_context* ctx, shard_actor shard,
                     std::uint32_t local, mailbox_seed seed);

  behavior_type make_behavior() override;
  caf::resumable::resume_result resume(caf::execution_unit* unit,
                                       std::size_t max_throughput) override;
  // Drops the state when the actor quits (as a stateful actor does): the shard handle
  // it holds would otherwise keep the shard alive in a cycle.
  void on_exit() override;
  const char* name() const override { return "mailbox"; }

  mailbox_actor_state state;
};

}  // namespace warmup
