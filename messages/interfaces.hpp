// interfaces.hpp: every typed actor interface of the engine, one comment per handler.
#pragma once

#include "messages/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace warmup {

// One mailbox under warmup: owns its ramp state and today's plan.
using mailbox_actor = caf::typed_actor<
  // Do all work due at `now`: day rollover and planning, sends, receipts, replies; first
  // take what the shard held for this mailbox (warmup mail that arrived for it, with the
  // engagement decided; where recipients found its own messages).
  caf::reacts_to<atom::wake, time_ms, wake_bundle>,
  // The shard's answers for the oldest send intents this mailbox reported, in order.
  caf::reacts_to<atom::intent, std::vector<intent_answer>>,
  // The user paused / resumed this mailbox.
  caf::reacts_to<atom::pause>,
  caf::reacts_to<atom::resume>,
  // The user edited this mailbox's settings (same id and email): ramp, window, time zone,
  // engagement and display name apply from here on (see the handler for when).
  caf::reacts_to<atom::settings, std::shared_ptr<const mailbox_settings>>,
  // Introspection: the mailbox's current state.
  caf::replies_to<atom::status>::with<mailbox_view>,
  // Introspection: the state plus today's plan with each slot's progress.
  caf::replies_to<atom::detail>::with<mailbox_detail>>;

// In a mailbox's report to its shard: the due time did not change.
constexpr time_ms due_unchanged = -2;

// A shard: supervises its mailbox actors, wakes them from one heap of due times, routes
// messages to them, and batches their writes under its lease epoch.
using shard_actor = caf::typed_actor<
  // Wake every mailbox due at or before `now`.
  caf::reacts_to<atom::tick, time_ms>,
  // Warmup message on its way to a mailbox of this shard: held, with the engagement its
  // recipient will apply, until the wake of its first look.
  caf::reacts_to<atom::expect, incoming_mail>,
  // Where a recipient found a message of a (sending) mailbox of this shard: counted in
  // its day stats, held for its next wake (its health history).
  caf::reacts_to<atom::placed, placement_report>,
  // Pause / resume a mailbox of this shard (by id).
  caf::reacts_to<atom::pause, mailbox_id>,
  caf::reacts_to<atom::resume, mailbox_id>,
  // The end of one activation of mailbox `local` (index in this shard): its writes, merged
  // into the shard's next epoch-fenced batch; the send intents it waits on (answered with
  // one atom::intent message once their batch is durable); its next due time (-1: nothing
  // due; due_unchanged: as before); how many wakes it handled (their intents are all in).
  caf::reacts_to<atom::write, storage::write_batch, std::vector<storage::send_intent>,
                 std::uint32_t, time_ms, std::uint32_t>,
  // Restart crashed mailbox actor `local` (sent by the shard to itself after a backoff).
  caf::reacts_to<atom::restart, std::uint32_t>,
  // Introspection: the shard's state.
  caf::replies_to<atom::status>::with<shard_view>,
  // Introspection: every mailbox actor of the shard with its state and next wake.
  caf::replies_to<atom::members>::with<std::vector<shard_member>>,
  // Introspection: one mailbox's live detail, answered by its actor (error: not here).
  caf::replies_to<atom::detail, mailbox_id>::with<mailbox_detail>,
  // Stop: flush pending writes, stop the mailbox actors; true when all was written.
  caf::replies_to<atom::stop>::with<bool>,
  // A mailbox added while the node runs: spawn its actor (it plans its day at once).
  caf::reacts_to<atom::add, joining_mailbox>,
  // A child's settings edited while the node runs: kept for its restarts and its
  // receipts' engagement, and passed on to its actor.
  caf::reacts_to<atom::settings, std::shared_ptr<const mailbox_settings>>>;

// The store gateway: the only actor that touches the store; runs detached (blocking I/O).
using store_actor = caf::typed_actor<
  // Apply one shard's batch in one transaction (rejected whole on a stale epoch).
  caf::replies_to<atom::apply, storage::write_batch>::with<storage::batch_result>,
  // Set a metadata value (engine clock, sandbox snapshot).
  caf::reacts_to<atom::meta, std::string, std::string>,
  // Used slots and stored plan of a mailbox's local day (restart after a crash).
  caf::replies_to<atom::load, mailbox_id, day_number>::with<day_seed>,
  // Every mailbox's state in the store (the CLI pauses and resumes through the store).
  caf::replies_to<atom::status>::with<std::vector<mailbox_state_row>>,
  // Barrier: answered once everything received before it is written.
  caf::replies_to<atom::flush>::with<bool>,
  // A mailbox's sealed secret changed under the engine (the provider rotated its OAuth2
  // refresh token): mailbox, the sealed bytes it replaces, the new sealed bytes. Stored only
  // while the store still holds the replaced bytes (a user's newer secret wins).
  caf::reacts_to<atom::secret, mailbox_id, std::string, std::string>>;

// A transport: the mail network a mailbox sends through and reads its mail from.
using transport_actor = caf::typed_actor<
  // Send one message.
  caf::replies_to<atom::send, outgoing_mail>::with<send_result>,
  // Process one received warmup message: find it, rescue, flag, file.
  caf::replies_to<atom::process, receive_task>::with<receive_result>,
  // The mailbox was resumed (e.g. after its password was fixed): forget its cached logins
  // and connections and read its account again.
  caf::reacts_to<atom::resume, mailbox_id>>;

// The pool directory of this node: peer selection over all pool members.
using directory_actor = caf::typed_actor<
  // Draw `n` recipients for `sender` on UTC day `day` by the peer rules.
  caf::replies_to<atom::peers, mailbox_id, std::int32_t, day_number>::with<std::vector<peer_pick>>,
  // Record a message that did not come from a draw (a reply) for caps and pair history.
  caf::reacts_to<atom::record, mailbox_id, mailbox_id>,
  // A mailbox's daily limit changed (its ramp moved) or it became (in)active.
  caf::reacts_to<atom::upsert, mailbox_id, std::int32_t, bool>,
  // A mailbox added while the node runs (its row is in the node's table): a new peer.
  caf::reacts_to<atom::add, mailbox_id>>;

// The node actor: answers for the whole node (status protocol over its shards).
using node_actor = caf::typed_actor<
  // The node's state, gathered from every shard with a timeout.
  caf::replies_to<atom::status>::with<node_view>>;

}  // namespace warmup
