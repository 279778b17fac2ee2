// services.hpp: the node's service actors: store gateway (detached, the only one that
// touches the store), the sandbox transport, the pool directory, and the clock drivers
// that tick the shards (real/accelerated time) or jump simulated time between events.
#pragma once

#include "actors/engine_context.hpp"
#include "messages/interfaces.hpp"
#include "net/sandbox_network.hpp"
#include "storage/store.hpp"
#include "warmup/peers.hpp"
#include "warmup/random.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace warmup {

// How the gateway bounds and survives its store. Back-pressure: when more than queue_max
// rows wait (uncommitted intents and lazy rows, a batch kept for a retry included), a
// shard's batch of lazy rows is answered only once it is committed, and intent answers
// always wait for their commit; a shard sends its next batch only when the last one was
// answered and a mailbox sends only after its intent's answer, so the waiting rows stay
// within about queue_max + shards x store.batch_max. Nothing is dropped.
// Faults: a failed commit is kept as it is (same batches, same sequence number) and
// retried with capped exponential backoff before anything else is written; `ready` is
// false meanwhile. The retry goes through store::apply_many_once under `writer`, so a
// commit that did happen before the connection dropped is not applied twice.
struct store_gateway_options {
  std::chrono::milliseconds lazy_commit{250};
  // How long a commit of intents waits for more to join it after the last batch came (at
  // most 10 times this in all; 0: commits at once).
  std::chrono::microseconds commit_linger{0};
  // Lazy rows gathered before a commit is due whatever lazy_commit says: a commit costs
  // every page it dirties, so more rows per commit write fewer pages per row.
  std::size_t lazy_commit_rows = 100000;
  std::atomic<std::uint64_t>* backlog = nullptr;   // rows waiting, for the console
  std::size_t queue_max = 100000;
  std::atomic<bool>* ready = nullptr;              // false while the store is unreachable
  std::string writer;                              // commit-record name; "": plain apply_many
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{5000};
  // Per shard (shard_count entries; null: none): shards whose lease is lost. Their later
  // batches are answered stale without being written; a lazy batch found stale sets it.
  std::atomic<bool>* lease_lost = nullptr;
  std::size_t shard_count = 0;
  // Where the cost of each commit is counted (null: nowhere).
  store_commit_counters* intent_commits = nullptr;
  store_commit_counters* lazy_commits = nullptr;
};

// One apply_many call, kept whole for its retry.
struct gateway_commit {
  bool intents = false;
  std::uint64_t seq = 0;
  std::vector<storage::write_batch> batches;
  std::vector<caf::typed_response_promise<storage::batch_result>> promises;
};

struct store_gateway_state {
  std::shared_ptr<storage::store> store;
  store_gateway_options opts;
  // Batches waiting for the next group commit, with the shards' response promises.
  std::vector<storage::write_batch> queue;
  std::vector<caf::typed_response_promise<storage::batch_result>> promises;
  // Everything but intents (outcomes, registry, placements, counters, ramps, plans): written
  // in larger transactions, at most lazy_commit behind, always after the intents before it.
  std::vector<storage::write_batch> lazy;
  // Where each shard's lazy batch sits in `lazy`: a shard's later rows are appended to it,
  // so a commit writes one batch per shard (one fencing check, one statement lookup per
  // kind) instead of one per shard flush.
  std::unordered_map<std::uint64_t, std::size_t> lazy_of_shard;
  std::size_t lazy_rows = 0;
  // Where each (mailbox, day) counter row sits in `lazy` (batch, row): a later delta of
  // the same row is added to it instead of becoming another upsert.
  std::unordered_map<std::uint64_t, std::pair<std::size_t, std::size_t>> lazy_stats;
  bool lingered = false;   // the intents queued now are lingering, since linger_began
  std::chrono::steady_clock::time_point linger_began;
  // Lazy-only batches held back (back-pressure): answered once their rows are committed.
  std::vector<caf::typed_response_promise<storage::batch_result>> lazy_promises;
  std::chrono::steady_clock::time_point last_lazy_commit = std::chrono::steady_clock::now();
  std::uint64_t batches = 0;
  std::uint64_t rows = 0;
  // Faults: the commit that failed (retried first), meta values written after it.
  std::optional<gateway_commit> failed;
  std::size_t failed_rows = 0;
  std::map<std::string, std::string> pending_meta;
  // Rotated secrets not yet stored (the store was down): mailbox -> (replaced, new).
  std::map<mailbox_id, std::pair<std::string, std::string>> pending_secrets;
  // Each mailbox's updated_at at the last state listing (atom::status): a change there
  // sends its settings along with its state (an edit to apply to the running actor).
  std::unordered_map<mailbox_id, time_ms> listed_updated_at;
  bool down = false;
  bool retry_scheduled = false;
  std::uint64_t attempts = 0;
  std::chrono::milliseconds backoff{0};
  std::chrono::steady_clock::time_point down_since;
  std::uint64_t seq = 0;
  static inline const char* name = "store_gateway";
};

// Spawn with caf::detached: every handler blocks on the store.
store_actor::behavior_type
store_gateway(store_actor::stateful_pointer<store_gateway_state> self,
              std::shared_ptr<storage::store> store,
              std::chrono::milliseconds lazy_commit = std::chrono::milliseconds{250});
// The same gateway publishing its backlog to `backlog` for the console (a separate name:
// CAF's spawn does not apply default arguments).
store_actor::behavior_type
store_gateway_with_backlog(store_actor::stateful_pointer<store_gateway_state> self,
                           std::shared_ptr<storage::store> store,
                           std::chrono::milliseconds lazy_commit,
                           std::atomic<std::uint64_t>* backlog);
// The node's gateway: bounded, retrying, idempotent (see store_gateway_options).
store_actor::behavior_type
store_gateway_with_options(store_actor::stateful_pointer<store_gateway_state> self,
                           std::shared_ptr<storage::store> store, store_gateway_options opts);

// Cluster store only: keeps the node's registration and its shard leases alive. Every
// `period` it heartbeats and renews each lease it still holds; a renewal the store refuses
// marks the shard lost (event=shard_lease_lost) and the shard stops. A store that does not
// answer is retried at the next period (the lease outlives a few of them). Spawn detached.
struct lease_keeper_state {
  engine_context* ctx = nullptr;
  std::shared_ptr<storage::store> store;
  std::vector<epoch_t> epochs;          // by shard
  std::uint64_t generation = 0;
  time_ms ttl = 30000;
  std::chrono::milliseconds period{10000};
  static inline const char* name = "lease_keeper";
};
caf::behavior lease_keeper(caf::stateful_actor<lease_keeper_state>* self, engine_context* ctx,
                           std::shared_ptr<storage::store> store, std::vector<epoch_t> epochs,
                           std::uint64_t generation, time_ms ttl,
                           std::chrono::milliseconds period);

struct sandbox_transport_state {
  const engine_context* ctx = nullptr;
  std::shared_ptr<sandbox::network> net;
  static inline const char* name = "sandbox_transport";
};

// One send and one receive visit on the sandbox network (thread-safe, sub-microsecond):
// the sandbox transport actor answers with these, and a node on the sandbox lets its
// mailbox actors call them directly (engine_context::sandbox), without an actor hop.
send_result sandbox_send(sandbox::network& net, mailbox_id from, mailbox_id to, mailbox_id cc,
                         const mail_message& msg, time_ms now);
receive_result sandbox_process(sandbox::network& net, const receive_task& t, time_ms now);

// The sandbox transport: the simulated mail network behind the transport interface.
transport_actor::behavior_type
sandbox_transport(transport_actor::stateful_pointer<sandbox_transport_state> self,
                  const engine_context* ctx, std::shared_ptr<sandbox::network> net);

struct directory_state {
  const engine_context* ctx = nullptr;
  peer_directory peers;
  day_number day = -1;
  rng draws{0};
  // Senders that asked for recipients today and got none at all (reported once a day).
  std::uint64_t without_peers = 0;
  mailbox_id without_peers_example = no_mailbox;
  static inline const char* name = "directory";
};

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self, const engine_context* ctx);

// Real/accelerated time: every tick_ms of wall time, tick every shard with the engine
// time; every second, publish the engine time and housekeeping.
struct ticker_state {
  const engine_context* ctx = nullptr;
  std::shared_ptr<sandbox::network> net;
  std::uint64_t ticks = 0;
  day_number last_cleanup = 0;
  std::unordered_map<mailbox_id, mailbox_state> known;   // states last seen in the store
  static inline const char* name = "ticker";
};
caf::behavior ticker(caf::stateful_actor<ticker_state>* self, const engine_context* ctx,
                     std::shared_ptr<sandbox::network> net);

// Simulated time: when no work is in flight, jump the clock to the earliest due time of
// all shards and tick them; stop at `until` and answer the `start` request then.
struct sim_driver_state {
  const engine_context* ctx = nullptr;
  std::shared_ptr<sandbox::network> net;
  time_ms until = 0;
  time_ms quantum = 5 * ms_per_minute;   // engine time covered by one step (< the 12 min gap)
  std::uint64_t steps = 0;            // since the driver started
  std::uint64_t steps_at_start = 0;   // ... when the current run_until began
  day_number last_cleanup = 0;
  caf::response_promise done;
  static inline const char* name = "sim_driver";
};
caf::behavior sim_driver(caf::stateful_actor<sim_driver_state>* self, const engine_context* ctx,
                         std::shared_ptr<sandbox::network> net);

struct node_actor_state {
  const engine_context* ctx = nullptr;
  static inline const char* name = "node";
};

// The node actor: gathers its shards' views (each asked with `timeout`) into one.
node_actor::behavior_type node(node_actor::stateful_pointer<node_actor_state> self,
                               const engine_context* ctx, std::chrono::milliseconds timeout);

}  // namespace warmup
