// mailbox.hpp: the mailbox actor: one per mailbox under warmup; owns its ramp state and
// today's plan, sends at its slots, engages with the warmup mail it receives.
#pragma once

#include "actors/engine_context.hpp"
#include "messages/interfaces.hpp"
#include "warmup/ramp.hpp"

#include <array>
#include <cstdint>
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
  // A compact per-day record of this mailbox as a sender (health input).
  struct history_day {
    day_number day = 0;
    std::uint16_t planned = 0, sent = 0, inbox = 0, spam = 0, missing = 0, bounces = 0;
  };

  const engine_context* ctx = nullptr;
  const mailbox_settings* settings = nullptr;
  shard_actor shard;
  std::uint32_t local = 0;               // index in the shard
  ramp_state ramp;
  mailbox_state state = mailbox_state::active;
  day_number day = 0;                    // local day of the current plan (0: none yet)
  time_ms day_end = 0;                   // UTC instant of the next local midnight
  int target = 0;
  bool peers_requested = false;
  std::vector<slot_entry> slots;
  std::vector<inbound_entry> inbound;
  std::array<history_day, 8> history{};
  time_ms scheduled = -1;                // the due time last reported to the shard
  day_number used_day = 0;
  std::vector<std::uint32_t> used_slots;
  std::optional<std::vector<time_ms>> used_plan;

  static inline const char* name = "mailbox";
};

mailbox_actor::behavior_type
mailbox(mailbox_actor::stateful_pointer<mailbox_actor_state> self,
        const engine_context* ctx, shard_actor shard, std::uint32_t local, mailbox_seed seed);

}  // namespace warmup
