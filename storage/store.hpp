// store.hpp: the one store interface every backend implements (SQLite now, PostgreSQL
// next). Calls are blocking: call them from the store gateway's detached actor or from
// the CLI, never from a cooperative scheduler thread.
#pragma once

#include "warmup/account.hpp"
#include "warmup/health.hpp"
#include "warmup/ramp.hpp"
#include "warmup/types.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace warmup::storage {

// Thrown for every store failure; `what()` says what failed and where (never a secret).
struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The mailbox (email) exists already.
struct duplicate_mailbox : store_error {
  using store_error::store_error;
};
// The store's schema is newer than this binary understands.
struct schema_too_new : store_error {
  using store_error::store_error;
};

struct mailbox_record {
  mailbox_settings settings;     // settings.id is assigned by add_mailbox
  std::string ramp_preset = "standard";  // a preset name, or "custom"
  ramp_state ramp;
  time_ms created_at = 0;
  time_ms updated_at = 0;
  // Real mail only (settings.transport == smtp): servers and login, and the secret
  // (password or OAuth2 refresh token) sealed by the caller (net/secret_box); the store
  // keeps the sealed bytes as they are and never sees the plain secret.
  mail_account account;
  std::string sealed_secret;
};

struct mailbox_filter {
  std::optional<mailbox_state> state;
  std::optional<std::string> provider;
  std::optional<std::string> domain;     // email domain
  bool include_removed = false;
  std::size_t offset = 0;
  std::size_t limit = static_cast<std::size_t>(-1);
};

enum class placement : std::uint8_t { unknown, inbox, spam, missing };
std::string_view to_string(placement p);
std::optional<placement> parse_placement(std::string_view s);

enum class intent_status : std::uint8_t {
  pending,   // recorded before the hand-off to the transport
  sent,      // the transport accepted it
  failed,    // temporary failure; the slot is skipped (never resent)
  bounced,   // permanent recipient failure
  skipped,   // reconciled after a crash: outcome unknown, never resent
};
std::string_view to_string(intent_status s);
std::optional<intent_status> parse_intent_status(std::string_view s);

// A send about to happen. Inserted before the hand-off; the key makes it unique.
struct send_intent {
  slot_key key;
  mailbox_id to = no_mailbox;
  std::string message_id;
  time_ms planned_at = 0;
  time_ms recorded_at = 0;
};

struct send_outcome {
  slot_key key;
  intent_status status = intent_status::sent;
  time_ms at = 0;
  std::string detail;            // server reason on failure; never a secret
};

// The registry of Message-IDs this engine generated (identifies warmup mail, threads
// replies after a restart).
struct registry_entry {
  std::string message_id;
  mailbox_id from = no_mailbox;
  mailbox_id to = no_mailbox;
  std::uint64_t thread = 0;
  int turn = 1;
  time_ms sent_at = 0;
  std::string subject;
  std::string in_reply_to;
  std::string references;
};

struct placement_update {
  std::string message_id;
  placement where = placement::unknown;
  bool rescued = false;
  time_ms at = 0;
  // The registered message's sent_at (registry_entry::sent_at), 0 when unknown. SQLite
  // finds the entry in that UTC day's part of its registry index with one seek; without it
  // (or when the entry is not on that day) it probes the days present, newest first.
  // PostgreSQL ignores it.
  time_ms sent_at = 0;
};

// Adds to a (mailbox, local day) counter row; `delta.day` names the day.
struct stats_delta {
  mailbox_id mailbox = no_mailbox;
  day_stats delta;
};

struct ramp_update {
  mailbox_id mailbox = no_mailbox;
  ramp_state ramp;
  mailbox_state state = mailbox_state::active;
};

// A mailbox's plan for one local day (slots with their UTC times), for status/overdue.
struct plan_record {
  mailbox_id mailbox = no_mailbox;
  day_number day = 0;
  int target = 0;
  std::vector<time_ms> slot_times;   // index = slot number
};

// Everything one shard wants written, applied in one transaction, fenced by the
// shard's lease epoch: a stale epoch rejects the whole batch.
struct write_batch {
  shard_id shard = 0;
  epoch_t epoch = 1;
  std::vector<send_intent> intents;
  std::vector<send_outcome> outcomes;
  std::vector<registry_entry> registry;
  std::vector<placement_update> placements;
  std::vector<stats_delta> stats;
  std::vector<ramp_update> ramps;
  std::vector<plan_record> plans;
  bool empty() const;
};

// Moves every row of `from` to the end of `to`, kind by kind, keeping their order (the
// shard and epoch of `to` stay).
void append(write_batch& to, write_batch&& from);

struct batch_result {
  bool stale_epoch = false;                // nothing was written
  std::vector<bool> intent_inserted;       // per intent: false = key existed already
};

struct intent_row {
  send_intent intent;
  std::optional<send_outcome> outcome;
};

struct lease {
  shard_id shard = 0;
  std::string owner;
  epoch_t epoch = 0;
  time_ms expires_at = 0;
};

// One node of a cluster as the node registry knows it. `generation` grows with every
// start of the node (a restarted process registers a higher one), so a heartbeat from an
// older incarnation that is still running is refused instead of keeping it alive.
struct node_info {
  std::string id;                 // the node's name, unique in the cluster
  std::string address;            // where its peers reach it (host:port)
  std::uint64_t generation = 0;
  std::uint32_t capacity = 1;     // relative weight for shard placement
  time_ms heartbeat_at = 0;       // set by the store (PostgreSQL: the DB clock)
};

// The figures of `warmup status`, for the UTC day containing `now`.
struct status_summary {
  std::uint64_t total_mailboxes = 0;          // not removed
  std::uint64_t active_mailboxes = 0;         // state active or throttled
  std::uint64_t active_mailboxes_today = 0;   // sent at least one mail today
  std::uint64_t sends_today = 0;              // outcomes `sent` today
  std::uint64_t planned_today = 0;            // plan slots falling in today
  std::uint64_t overdue = 0;                  // plan slots due > grace ago with no intent
  std::uint64_t inbox_today = 0;
  std::uint64_t spam_today = 0;
  double inbox_rate_today = 0.0;              // inbox / (inbox + spam), 0 with no data
  time_ms now = 0;
};

class store {
public:
  virtual ~store() = default;

  // Schema: creates or upgrades; throws schema_too_new for a newer schema.
  virtual void migrate() = 0;
  virtual int schema_version() = 0;
  static int latest_schema_version();

  // Mailboxes.
  virtual mailbox_id add_mailbox(const mailbox_record& r) = 0;   // throws duplicate_mailbox
  // Many at once (demo start, imports): ids in input order. Backends do it in one
  // transaction (a duplicate adds none); this default adds one by one.
  virtual std::vector<mailbox_id> add_mailboxes(const std::vector<mailbox_record>& rs);
  virtual std::optional<mailbox_record> get_mailbox(mailbox_id id) = 0;
  virtual std::optional<mailbox_record> find_mailbox(const std::string& email) = 0;
  virtual std::vector<mailbox_record> list_mailboxes(const mailbox_filter& f) = 0;
  virtual std::uint64_t count_mailboxes(const mailbox_filter& f) = 0;
  // Every mailbox, removed ones too, in id order: its state and when it was last changed
  // (a running node's periodic look for what the CLI or the console changed). Backends
  // read these three columns alone: at 100k mailboxes whole records took ~340 ms on
  // SQLite. The default lists whole records.
  struct mailbox_stamp {
    mailbox_id id = no_mailbox;
    mailbox_state state = mailbox_state::active;
    time_ms updated_at = 0;
  };
  virtual std::vector<mailbox_stamp> mailbox_stamps();
  virtual bool set_mailbox_state(mailbox_id id, mailbox_state s) = 0;  // false: unknown id
  virtual bool remove_mailbox(mailbox_id id) = 0;   // soft delete: state removed
  // Replaces what the user owns of mailbox r.settings.id: display name, provider,
  // organisation, time zone, ramp parameters and preset, window, engagement rates, the
  // account and the sealed secret; updated_at = r.updated_at. Never the email (the shard
  // hash input), the state or the ramp state. False for an unknown id. The default throws.
  virtual bool update_mailbox(const mailbox_record& r);

  // Shard leases. On a single node every shard is acquired once at start-up (epoch
  // increments each start). acquire returns the new epoch or nullopt when another owner
  // holds an unexpired lease.
  virtual std::optional<epoch_t> acquire_lease(shard_id s, const std::string& owner,
                                               time_ms now, time_ms ttl) = 0;
  virtual bool renew_lease(shard_id s, const std::string& owner, epoch_t epoch,
                           time_ms now, time_ms ttl) = 0;
  virtual void release_lease(shard_id s, const std::string& owner, epoch_t epoch) = 0;
  virtual std::optional<lease> get_lease(shard_id s) = 0;

  // Node registry (the cluster's arbiter of who is alive). register_node inserts or
  // updates the node and stamps its heartbeat; it returns false (changing nothing) when a
  // newer generation of that node is registered already. heartbeat stamps heartbeat_at
  // for the node at exactly that generation and returns false otherwise (unknown node,
  // or superseded by a restart). Stamps use the store's clock: the DB clock on
  // PostgreSQL, the wall clock on SQLite. list_nodes is ordered by id. The defaults
  // throw store_error (a backend without a registry).
  virtual bool register_node(const node_info& n);
  virtual bool heartbeat(const std::string& node_id, std::uint64_t generation);
  virtual std::vector<node_info> list_nodes();

  // Batched, epoch-fenced writes (one transaction).
  virtual batch_result apply(const write_batch& b) = 0;
  // Several shards' batches in one transaction (group commit), each fenced on its own.
  // The default applies them one by one.
  virtual std::vector<batch_result> apply_many(const std::vector<write_batch>& batches);
  // apply_many that is safe to call again with the same `writer` and `seq` after a
  // failure whose commit status is unknown (the connection dropped during COMMIT): the
  // transaction also records (writer, seq, results) under meta key "commit.<writer>", and a
  // call whose seq is already recorded writes nothing and returns the recorded results.
  // Without it a retried batch would add its stats deltas twice and report its intents as
  // existing. One writer calls it with increasing seq and retries a seq until it succeeds
  // before the next. The default (SQLite: a local commit is never in doubt) is apply_many.
  virtual std::vector<batch_result> apply_many_once(const std::string& writer, std::uint64_t seq,
                                                    const std::vector<write_batch>& batches);

  // Reads for restart and introspection. Day ranges include both ends.
  virtual std::vector<intent_row> intents(mailbox_id m, day_number from_day,
                                          day_number to_day) = 0;
  // Intents with no outcome (crash between intent and outcome): reconciled to `skipped`.
  virtual std::vector<send_intent> pending_intents() = 0;
  virtual std::vector<day_stats> stats(mailbox_id m, day_number from_day,
                                       day_number to_day) = 0;
  virtual std::optional<registry_entry> find_message(const std::string& message_id) = 0;
  // How many Message-IDs the registry holds: audits compare it with the sent intents
  // (one registered message per send, none sent without an intent).
  virtual std::uint64_t count_messages() = 0;
  virtual std::optional<plan_record> plan(mailbox_id m, day_number day) = 0;
  // Start-up in two reads instead of two per mailbox: the keys of every intent and every
  // stored plan with a day in [from_day, to_day], of all mailboxes. The default asks
  // mailbox by mailbox.
  struct day_rows {
    std::vector<slot_key> intent_keys;
    std::vector<plan_record> plans;
  };
  virtual day_rows days_between(day_number from_day, day_number to_day);
  virtual status_summary status(time_ms now, time_ms overdue_grace) = 0;

  // What a backend holds in memory to keep intent keys unique without writing a key index
  // (SQLite since schema step 6: a table of the keys of each day its writer has touched
  // recently). For benchmarks and tests; a backend that holds nothing reports zeros.
  struct intent_key_memory {
    std::uint64_t days = 0;    // days held
    std::uint64_t keys = 0;    // intent keys held
    std::uint64_t bytes = 0;   // heap bytes of the tables that hold them
  };
  virtual intent_key_memory intent_keys_held() const { return {}; }

  // Small key/value metadata (engine clock, sandbox network snapshot).
  virtual void put_meta(const std::string& key, const std::string& value) = 0;
  virtual std::optional<std::string> get_meta(const std::string& key) = 0;
};

// Opens (creating if needed) the SQLite store at `path` and migrates it.
// `read_only` opens an existing store for the CLI next to a running node (WAL mode).
std::unique_ptr<store> open_sqlite(const std::string& path, bool read_only = false);

// Which clock a PostgreSQL store judges lease expiry by.
//   database: expires_at = DB now() + ttl, expiry compared with DB now(); the `now`
//             argument of acquire_lease / renew_lease is ignored. One clock for every
//             node of a cluster: a skewed node clock can neither steal a live lease nor
//             keep a dead one. The default.
//   caller:   `now` is used exactly as SQLite does (the engine's own, possibly
//             simulated, clock): for a single node on a simulated clock and the contract
//             tests, which check lease arithmetic on hand-picked instants.
enum class lease_clock : std::uint8_t { database, caller };

struct postgres_options {
  lease_clock leases = lease_clock::database;
  bool read_only = false;           // the CLI next to running nodes: never migrates
  std::size_t max_connections = 4;  // the pool (the store gateway, the console's reader)
};

// Opens the PostgreSQL store at `url` (postgres://user[:password]@host[:port]/db?...),
// and migrates it (under an advisory lock: several nodes may start at once) unless
// read-only. Errors never contain the password (see redact_url in open_store.hpp).
std::unique_ptr<store> open_postgres(const std::string& url, const postgres_options& o = {});

}  // namespace warmup::storage
