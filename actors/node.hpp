// node.hpp: one engine node: loads the pool from the store, takes the shard leases,
// reconciles sends a crash left unfinished, spawns the actors, and stops them cleanly.
#pragma once

#include "actors/engine_context.hpp"
#include "actors/mail_transport.hpp"
#include "net/sandbox_network.hpp"
#include "storage/store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace warmup {

struct node_start_report {
  std::size_t mailboxes = 0;
  std::size_t shards = 0;
  std::size_t reconciled = 0;      // intents left pending by a crash, marked skipped
  epoch_t max_epoch = 0;
  double seconds = 0;              // load + spawn wall time
};

// A node on a shared store (PostgreSQL): it registers itself, holds short shard leases
// that a detached lease keeper renews, and gives them back on a clean stop. The embedded
// store (SQLite) is a single node: long leases, no registry.
struct cluster_options {
  bool enabled = false;                 // default: on when cfg.store.database_url is set
  time_ms lease_ttl = 30000;            // judged by the DB clock
  std::chrono::milliseconds renew_every{10000};
  std::string address;                  // registered for peers: console URL or host name
};

class engine_node {
public:
  // `clock` decides the mode: simulated clocks are driven by run_until().
  engine_node(caf::actor_system& sys, config::engine_config cfg, engine_clock clock,
              std::shared_ptr<storage::store> store);
  ~engine_node();
  engine_node(const engine_node&) = delete;
  engine_node& operator=(const engine_node&) = delete;

  // Real mail (transport = "smtp"): how stored secrets are opened, and the transport's
  // limits. Call before start().
  void use_real_mail(secret_opener open_secret, mail_transport_options opts = {});

  // Overrides the cluster defaults (tests: short leases). Call before start().
  void use_cluster(cluster_options o) { cluster_ = std::move(o); }
  const cluster_options& cluster() const { return cluster_; }
  // The generation this start registered (cluster only; 0 before start).
  std::uint64_t generation() const { return generation_; }

  // Blocking; call from a non-scheduler thread (main). Throws storage::store_error.
  node_start_report start();
  // Simulated clock only: runs the engine until engine time `until`; returns the number
  // of clock steps this call took. Blocking.
  std::uint64_t run_until(time_ms until);
  // Flushes every shard and stops all actors; safe to call twice. Returns false if a
  // shard could not flush (its writes are lost and it said so in the log).
  bool stop();

  const engine_context& context() const { return *ctx_; }
  sandbox::network& network() { return *net_; }
  // Per-shard views gathered with a timeout (introspection, tests).
  std::vector<shard_view> shard_views();
  // The node actor's answer: the whole node, shards that did not answer counted missing.
  node_view status();

  // -- introspection for the console: call from a non-scheduler thread while the node
  // runs (stop the console before stop()); every answer is waited for at most `timeout`.
  caf::actor_system& system() { return sys_; }
  bool running() const { return running_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  // Every shard asked at once; a shard that did not answer in time is nullopt.
  std::vector<std::optional<shard_view>> gather_shard_views(std::chrono::milliseconds timeout);
  // A shard's mailbox actors; nullopt for an unknown shard or no answer in time.
  std::optional<std::vector<shard_member>> shard_members(shard_id s,
                                                         std::chrono::milliseconds timeout);
  // A mailbox actor's live detail through its shard; nullopt when the mailbox does not run
  // on this node (removed, not joined yet) or did not answer in time.
  std::optional<mailbox_detail> mailbox_detail_of(mailbox_id m, std::chrono::milliseconds timeout);
  // Tells a running mailbox actor at once (the store change is the caller's); false when
  // the mailbox does not run on this node.
  bool pause_mailbox(mailbox_id m);
  bool resume_mailbox(mailbox_id m);

private:
  caf::actor_system& sys_;
  std::unique_ptr<engine_context> ctx_;
  std::shared_ptr<storage::store> store_;
  std::shared_ptr<sandbox::network> net_;
  caf::actor driver_;
  caf::actor lease_keeper_;
  caf::actor pool_watcher_;
  std::uint64_t rows_at_start_ = 0;   // store rows (removed too) counted before the load
  cluster_options cluster_;
  std::uint64_t generation_ = 0;
  std::vector<epoch_t> epochs_;
  node_actor node_;
  bool running_ = false;
  // Actors running in the system before start(): stop() waits until the count is back.
  std::size_t actors_before_start_ = 0;
  secret_opener open_secret_;
  mail_transport_options mail_opts_;
  std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
};

}  // namespace warmup
