// messages.hpp: the values that cross actors (with inspect() for the ones that will cross
// the network), the atoms, and the CAF type-ID block of the project.
#pragma once

#include "storage/store.hpp"
#include "warmup/content.hpp"
#include "warmup/engagement.hpp"
#include "warmup/ramp.hpp"
#include "warmup/types.hpp"

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/type_id.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace warmup {

// A warmup message on its way to a recipient mailbox: "expect message M". Small on
// purpose: the recipient fetches what else it needs from its transport.
struct incoming_mail {
  std::string message_id;
  mailbox_id from = no_mailbox;
  mailbox_id to = no_mailbox;
  std::uint64_t thread = 0;
  std::int32_t turn = 1;
  day_number send_day = 0;       // the sender's local day (its stats row)
  time_ms sent_at = 0;
  std::string subject;
  std::string references;        // for threading a reply
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incoming_mail& x) {
  return f(caf::meta::type_name("incoming_mail"), x.message_id, x.from, x.to, x.thread,
           x.turn, x.send_day, x.sent_at, x.subject, x.references);
}

// Where a recipient found one of the sender's messages, reported back to the sender
// (it feeds the sender's health bands).
struct placement_report {
  mailbox_id sender = no_mailbox;
  day_number send_day = 0;
  std::uint8_t where = 0;        // storage::placement
  bool rescued = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, placement_report& x) {
  return f(caf::meta::type_name("placement_report"), x.sender, x.send_day, x.where,
           x.rescued);
}

// A warmup message its recipient's shard holds until it wakes the recipient: the
// engagement the recipient will apply (decided on arrival, from the recipient's settings)
// and when it first looks at the message.
struct held_mail {
  incoming_mail mail;
  engagement_plan plan;
  time_ms process_at = 0;
};

// What a shard hands a mailbox actor with a wake: the warmup mail that arrived for it and
// the placements of its own messages reported since its last wake. Held at the shard, they
// ride on the wake the mailbox gets anyway (its first look at the mail, or its end of day
// for the placements) instead of costing a message each, plus the mailbox's report.
struct wake_bundle {
  std::vector<held_mail> mail;
  std::vector<placement_report> placed;
  bool empty() const { return mail.empty() && placed.empty(); }
};

// The shard's answer for one send intent a mailbox reported.
enum class intent_answer : std::uint8_t {
  durable,       // new and durable: send it now
  existed,       // the key existed (sent or skipped before a restart): never send it
  not_written,   // the store failed, the shard lost its lease or is stopping: not sent
};

// What a transport answers for one send.
enum class send_status : std::uint8_t {
  sent,
  temporary_failure,   // 4xx, timeout, refused: the slot is skipped (never resent)
  bounced,             // 5xx for the recipient: counts as a bounce
  auth_failure,        // the mailbox becomes disconnected
};

struct send_result {
  send_status status = send_status::sent;
  std::string detail;   // the server's reason; never a secret
};

// A send handed to a transport.
struct outgoing_mail {
  mailbox_id from = no_mailbox;
  mailbox_id to = no_mailbox;
  mailbox_id cc = no_mailbox;    // a second recipient (Cc), or no_mailbox
  mail_message message;
};

// What a recipient's transport should do with one received warmup message.
struct receive_task {
  mailbox_id recipient = no_mailbox;
  std::string message_id;
  engagement_plan engagement;
};

struct receive_result {
  storage::placement where = storage::placement::unknown;   // found in inbox / spam / missing
  bool rescued = false;
  bool filed = false;
  bool disconnected = false;   // login (or TLS set-up) refused: the user must fix it
  std::string detail;          // why it failed, when it did; never a secret
};

// A peer drawn for a sender: who, and on which shard it lives.
struct peer_pick {
  mailbox_id to = no_mailbox;
  shard_id to_shard = 0;
  mailbox_id cc = no_mailbox;
  shard_id cc_shard = 0;
};

// A mailbox actor's state, for introspection (status protocol).
struct mailbox_view {
  mailbox_id id = no_mailbox;
  mailbox_state state = mailbox_state::active;
  int ramp_day = 0;
  int throttle_percent = 100;
  health_band band = health_band::healthy;
  day_number day = 0;
  int planned_today = 0;
  int sent_today = 0;
  time_ms next_due = 0;
};

// What a restarted mailbox actor needs of its local day: the slots that already have an
// intent (never sent again) and the day's stored plan, if it was planned before.
struct day_seed {
  std::vector<std::uint32_t> used_slots;
  std::optional<std::vector<time_ms>> plan;
};

// A mailbox added to the store while the node runs, for its shard: its settings row (in the
// node's table: it never moves), its ramp state and its state.
struct joining_mailbox {
  const mailbox_settings* settings = nullptr;
  ramp_state ramp;
  mailbox_state state = mailbox_state::active;
};

// A node's state, gathered from its shards (status protocol): shards that did not answer
// in time are counted as missing, never waited on forever.
struct node_view {
  std::string node;
  std::uint32_t shards = 0;
  std::uint32_t shards_missing = 0;
  std::uint32_t shards_stopped = 0;
  std::uint64_t mailboxes = 0;
  std::array<std::uint64_t, 6> by_state{};   // indexed by mailbox_state
  std::uint64_t restarts = 0;
  std::uint64_t queued_writes = 0;
  std::uint64_t sends = 0;
  std::uint64_t receipts = 0;
  std::uint64_t replies = 0;
  time_ms engine_now = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_view& x) {
  return f(caf::meta::type_name("node_view"), x.node, x.shards, x.shards_missing,
           x.shards_stopped, x.mailboxes, x.by_state, x.restarts, x.queued_writes, x.sends,
           x.receipts, x.replies, x.engine_now);
}

// A mailbox's state as the store has it (the CLI may have changed it), and its settings
// when they were edited since the gateway last listed them (its updated_at changed; null
// otherwise, and on the first listing of a mailbox).
struct mailbox_state_row {
  mailbox_id id = no_mailbox;
  mailbox_state state = mailbox_state::active;
  std::shared_ptr<const mailbox_settings> edited;
};

// A shard's state, for introspection.
struct shard_view {
  shard_id shard = 0;
  epoch_t epoch = 0;
  std::uint32_t mailboxes = 0;
  std::array<std::uint32_t, 6> by_state{};   // indexed by mailbox_state
  std::uint32_t restarts = 0;
  std::uint64_t queued_writes = 0;
  std::uint64_t heap_size = 0;
  bool stopped = false;
  std::uint64_t mailbox_queue = 0;           // messages waiting in the shard actor's mailbox
};

// One mailbox actor as its shard sees it (the console's shard page).
struct shard_member {
  mailbox_id id = no_mailbox;
  std::string email;
  mailbox_state state = mailbox_state::active;   // restarting while its actor is restarted
  std::uint32_t restarts = 0;
  time_ms due = -1;                              // next wake (-1: none)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_member& x) {
  return f(caf::meta::type_name("shard_member"), x.id, x.email, x.state, x.restarts, x.due);
}

// One slot of today's plan as the mailbox actor holds it (status: the actor's
// slot_status: planned, in_flight, sent, failed, skipped, dropped).
struct plan_slot_view {
  time_ms at = 0;
  mailbox_id to = no_mailbox;
  std::uint8_t status = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_slot_view& x) {
  return f(caf::meta::type_name("plan_slot_view"), x.at, x.to, x.status);
}

// A mailbox actor's live detail: its view, today's plan with each slot's progress, and
// the received warmup mail it has still to engage with.
struct mailbox_detail {
  mailbox_view view;
  std::vector<plan_slot_view> slots;
  std::uint32_t inbound_waiting = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mailbox_detail& x) {
  return f(caf::meta::type_name("mailbox_detail"), x.view, x.slots, x.inbound_waiting);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mailbox_view& x) {
  return f(caf::meta::type_name("mailbox_view"), x.id, x.state, x.ramp_day, x.throttle_percent,
           x.band, x.day, x.planned_today, x.sent_today, x.next_due);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_view& x) {
  return f(caf::meta::type_name("shard_view"), x.shard, x.epoch, x.mailboxes, x.by_state,
           x.restarts, x.queued_writes, x.heap_size, x.stopped, x.mailbox_queue);
}

}  // namespace warmup

// Node-local messages: they never leave the process (the store gateway, the transport
// and the directory are always local to the shard that talks to them), so they carry no
// serialization code.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::storage::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::storage::batch_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::storage::send_intent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::outgoing_mail)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::send_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::receive_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::wake_bundle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<warmup::intent_answer>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<warmup::storage::send_intent>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::receive_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<warmup::peer_pick>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<warmup::mailbox_state_row>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::day_seed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::joining_mailbox)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const warmup::mailbox_settings>)

// Atoms of the internal protocols (at most 10 characters each).
namespace warmup::atom {
using tick = caf::atom_constant<caf::atom("tick")>;
using wake = caf::atom_constant<caf::atom("wake")>;
using schedule = caf::atom_constant<caf::atom("schedule")>;
using expect = caf::atom_constant<caf::atom("expect")>;
using placed = caf::atom_constant<caf::atom("placed")>;
using intent = caf::atom_constant<caf::atom("intent")>;
using write = caf::atom_constant<caf::atom("write")>;
using apply = caf::atom_constant<caf::atom("apply")>;
using send = caf::atom_constant<caf::atom("send")>;
using process = caf::atom_constant<caf::atom("process")>;
using peers = caf::atom_constant<caf::atom("peers")>;
using record = caf::atom_constant<caf::atom("record")>;
using status = caf::atom_constant<caf::atom("status")>;
using stop = caf::atom_constant<caf::atom("stop")>;
using flush = caf::atom_constant<caf::atom("flush")>;
using meta = caf::atom_constant<caf::atom("meta")>;
using load = caf::atom_constant<caf::atom("load")>;
using pause = caf::atom_constant<caf::atom("pause")>;
using resume = caf::atom_constant<caf::atom("resume")>;
using start = caf::atom_constant<caf::atom("start")>;
using quiet = caf::atom_constant<caf::atom("quiet")>;
using upsert = caf::atom_constant<caf::atom("upsert")>;
using restart = caf::atom_constant<caf::atom("restart")>;
using detail = caf::atom_constant<caf::atom("detail")>;
using members = caf::atom_constant<caf::atom("members")>;
using secret = caf::atom_constant<caf::atom("secret")>;
using add = caf::atom_constant<caf::atom("add")>;
using settings = caf::atom_constant<caf::atom("settings")>;
}  // namespace warmup::atom

// Types that will cross the network between nodes; registered on every node with
// cfg.add_message_types<caf::id_block::warmup>().
CAF_BEGIN_TYPE_ID_BLOCK(warmup, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(warmup, (warmup::incoming_mail))
CAF_ADD_TYPE_ID(warmup, (warmup::placement_report))
CAF_ADD_TYPE_ID(warmup, (warmup::mailbox_view))
CAF_ADD_TYPE_ID(warmup, (warmup::shard_view))
CAF_ADD_TYPE_ID(warmup, (warmup::node_view))
CAF_ADD_TYPE_ID(warmup, (warmup::shard_member))
CAF_ADD_TYPE_ID(warmup, (std::vector<warmup::shard_member>))
CAF_ADD_TYPE_ID(warmup, (warmup::mailbox_detail))
CAF_END_TYPE_ID_BLOCK(warmup)
