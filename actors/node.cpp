// node.cpp: start-up (load, leases, reconcile, spawn) and clean shutdown of a node.
#include "actors/node.hpp"

#include "actors/mailbox.hpp"
#include "actors/services.hpp"
#include "actors/shard.hpp"
#include "storage/open_store.hpp"
#include "warmup/calendar.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <unordered_map>
#include <unistd.h>

namespace warmup {

namespace {

// A single node holds every lease for a long time; the cluster (PostgreSQL) renews
// short leases instead.
constexpr time_ms single_node_lease_ttl = 3650 * ms_per_day;

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0)
    return "node";
  return buf;
}

sandbox::network_params network_params_of(const config::engine_config& cfg) {
  sandbox::network_params p;
  p.seed = cfg.sandbox.seed;
  p.providers = sandbox::providers_named(cfg.sandbox.providers);
  return p;
}

// Mailboxes added to the store while the node runs (CLI, API, import) join it: every few
// seconds of real time the watcher counts the store's rows (removed ones too: rows are
// never deleted, ids only grow) and reads the new ones. Detached: it blocks on the store.
struct pool_watcher_state {
  engine_context* ctx = nullptr;
  std::shared_ptr<sandbox::network> net;
  std::unique_ptr<storage::store> store;   // its own read-only connection
  std::uint64_t known_rows = 0;
  transport_kind network = transport_kind::sandbox;
  bool failing = false;
  static inline const char* name = "pool_watcher";
};

constexpr auto pool_watch_every = std::chrono::seconds(2);

void join_mailbox(caf::stateful_actor<pool_watcher_state>* self, storage::mailbox_record& r) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  if (r.settings.transport != st.network || r.settings.state == mailbox_state::removed)
    return;
  if (ctx.mailbox(r.settings.id) != nullptr)
    return;   // loaded at start (added between the count and the load)
  if (r.settings.organisation.empty())
    r.settings.organisation = std::string(email_domain(r.settings.email));
  const auto* row = ctx.mailboxes.add(r.settings);
  if (row == nullptr) {
    spdlog::error("event=mailbox_join_failed mailbox={} reason=\"its id is below the node's "
                  "table or beyond its capacity: restart the node to run it\"",
                  r.settings.id);
    return;
  }
  st.net->add_mailbox(row->id, row->provider);
  self->send(ctx.directory, atom::add::value, row->id);
  if (st.network == transport_kind::smtp)
    self->send(ctx.transport, atom::resume::value, row->id);   // reads its account
  auto s = shard_of(row->email, static_cast<std::uint32_t>(ctx.shards.size()));
  self->send(ctx.shards[s], atom::add::value, joining_mailbox{row, r.ramp, r.settings.state});
}

void watch_pool(caf::stateful_actor<pool_watcher_state>* self) {
  auto& st = self->state;
  try {
    if (!st.store)
      st.store = storage::open_store(st.ctx->cfg.store.database_url, st.ctx->cfg.data_dir, true);
    storage::mailbox_filter all;
    all.include_removed = true;
    auto rows = st.store->count_mailboxes(all);
    if (rows > st.known_rows) {
      all.offset = st.known_rows;
      auto fresh = st.store->list_mailboxes(all);
      for (auto& r : fresh)
        join_mailbox(self, r);
      st.known_rows += fresh.size();
    }
    if (st.failing)
      spdlog::info("event=pool_watch_recovered");
    st.failing = false;
  } catch (const std::exception& e) {
    if (!st.failing)
      spdlog::warn("event=pool_watch_failed retry_in_s={} error=\"{}\"",
                   pool_watch_every.count(), e.what());
    st.failing = true;
    st.store.reset();
  }
}

caf::behavior pool_watcher(caf::stateful_actor<pool_watcher_state>* self, engine_context* ctx,
                           std::shared_ptr<sandbox::network> net, std::uint64_t known_rows,
                           transport_kind network) {
  auto& st = self->state;
  st.ctx = ctx;
  st.net = std::move(net);
  st.known_rows = known_rows;
  st.network = network;
  self->delayed_send(self, pool_watch_every, atom::tick::value);
  return {
    [=](atom::tick) {
      watch_pool(self);
      self->delayed_send(self, pool_watch_every, atom::tick::value);
    },
  };
}

}  // namespace

engine_node::engine_node(caf::actor_system& sys, config::engine_config cfg, engine_clock clock,
                         std::shared_ptr<storage::store> store)
  : sys_(sys), ctx_(std::make_unique<engine_context>()), store_(std::move(store)) {
  ctx_->cfg = std::move(cfg);
  ctx_->clock = clock;
  ctx_->tracker = std::make_unique<work_tracker>(clock.kind()
                                                 == engine_clock::mode::simulated);
  ctx_->node_name = ctx_->cfg.node.name.empty() ? host_name() : ctx_->cfg.node.name;
  net_ = std::make_shared<sandbox::network>(network_params_of(ctx_->cfg));
  cluster_.enabled = !ctx_->cfg.store.database_url.empty();
  cluster_.address = host_name();
}

void engine_node::use_real_mail(secret_opener open_secret, mail_transport_options opts) {
  open_secret_ = std::move(open_secret);
  mail_opts_ = std::move(opts);
}

engine_node::~engine_node() {
  stop();
}

node_start_report engine_node::start() {
  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  actors_before_start_ = sys_.registry().running();
  node_start_report rep;
  auto& ctx = *ctx_;
  auto& store = *store_;
  auto shard_count = ctx.cfg.node.shard_count;
  auto now = ctx.clock.now();

  // 1. The pool: the mailboxes of this node's mail network (sandbox or real mail; the two
  // never exchange mail).
  const auto network = parse_transport_kind(ctx.cfg.transport).value_or(transport_kind::sandbox);
  {
    // Counted before the load: a mailbox added from here on is read again by the pool
    // watcher (and skipped there if the load got it too).
    storage::mailbox_filter all;
    all.include_removed = true;
    rows_at_start_ = store.count_mailboxes(all);
  }
  auto records = store.list_mailboxes(storage::mailbox_filter{});
  if (auto other = std::count_if(records.begin(), records.end(),
                                 [&](const auto& r) { return r.settings.transport != network; }))
    spdlog::warn("event=mailboxes_of_other_transport count={} transport={} note=\"not run by "
                 "this node: set transport to match them\"",
                 other, ctx.cfg.transport);
  records.erase(std::remove_if(records.begin(), records.end(),
                               [&](const auto& r) { return r.settings.transport != network; }),
                records.end());
  mailbox_id max_id = 0;
  for (auto& r : records)
    max_id = std::max(max_id, r.settings.id);
  ctx.mailboxes.assign(records.empty() ? 0 : max_id + 1, mailbox_settings{});
  for (auto& r : records) {
    auto& m = ctx.mailboxes[r.settings.id];
    m = r.settings;
    if (m.organisation.empty())
      m.organisation = std::string(email_domain(m.email));
    net_->add_mailbox(m.id, m.provider);
  }
  rep.mailboxes = records.size();
  if (auto snap = store.get_meta("sandbox.snapshot")) {
    std::string why;
    if (!net_->restore(*snap, &why))
      spdlog::warn("event=sandbox_restore_failed reason=\"{}\"", why);
  }

  // 2. Leases: every shard, epoch incremented on each start. On a shared store the node
  // registers first (generation = start time: a restart supersedes the killed process)
  // and its leases are short, renewed by the lease keeper.
  if (cluster_.enabled) {
    generation_ = static_cast<std::uint64_t>(engine_clock::system_now());
    if (!store.register_node({ctx.node_name, cluster_.address, generation_, 1, 0}))
      throw storage::store_error("node " + ctx.node_name
                                 + ": a newer start of this node is registered already; "
                                   "give each node its own node.name");
  }
  const time_ms lease_ttl = cluster_.enabled ? cluster_.lease_ttl : single_node_lease_ttl;
  std::vector<epoch_t> epochs(shard_count, 0);
  for (shard_id s = 0; s < shard_count; ++s) {
    auto e = store.acquire_lease(s, ctx.node_name, now, lease_ttl);
    if (!e)
      throw storage::store_error(
        "shard " + std::to_string(s) + " is leased by another node"
        + (cluster_.enabled ? std::string(" (until its lease expires)")
                            : std::string("; a single node with the embedded store cannot "
                                          "share its data directory")));
    epochs[s] = *e;
    rep.max_epoch = std::max(rep.max_epoch, *e);
  }

  // 3. Reconcile: an intent without an outcome means the process died between recording
  // and handing off. Whether it left is unknown; it is marked skipped, never resent.
  auto pending = store.pending_intents();
  std::vector<storage::write_batch> fixes(shard_count);
  for (auto& in : pending) {
    const auto* m = ctx.mailbox(in.key.mailbox);
    auto s = m ? shard_of(m->email, shard_count) : 0;
    fixes[s].outcomes.push_back({in.key, storage::intent_status::skipped, now,
                                 "reconciled after restart: outcome unknown, not resent"});
  }
  for (shard_id s = 0; s < shard_count; ++s) {
    if (fixes[s].outcomes.empty())
      continue;
    fixes[s].shard = s;
    fixes[s].epoch = epochs[s];
    store.apply(fixes[s]);
  }
  rep.reconciled = pending.size();

  // 4. Seeds: ramp state, the slots of today that already have an intent, and today's
  // plan when it was made before (the restart continues it).
  // Read in two queries for the whole pool (a round trip per mailbox is most of a large
  // pool's start-up on a database server).
  std::vector<std::vector<mailbox_seed>> seeds(shard_count);
  std::vector<day_number> days(ctx.mailboxes.size(), 0);
  day_number first_day = 0, last_day = -1;
  for (auto& r : records) {
    auto day = local_day(now, ctx.mailboxes[r.settings.id].timezone);
    days[r.settings.id] = day;
    first_day = last_day < first_day ? day : std::min(first_day, day);
    last_day = std::max(last_day, day);
  }
  std::unordered_map<mailbox_id, std::vector<std::uint32_t>> used;
  std::unordered_map<mailbox_id, std::vector<time_ms>> plans;
  if (!records.empty()) {
    auto rows = store.days_between(first_day, last_day);
    for (const auto& k : rows.intent_keys)
      if (k.mailbox < days.size() && days[k.mailbox] == k.day)
        used[k.mailbox].push_back(k.slot);
    for (auto& p : rows.plans)
      if (p.mailbox < days.size() && days[p.mailbox] == p.day)
        plans[p.mailbox] = std::move(p.slot_times);
  }
  for (auto& r : records) {
    const auto* settings = &ctx.mailboxes[r.settings.id];
    mailbox_seed seed{settings, r.ramp, r.settings.state, days[r.settings.id], {}, {}};
    if (auto it = used.find(r.settings.id); it != used.end()) {
      seed.used_slots = std::move(it->second);
      std::sort(seed.used_slots.begin(), seed.used_slots.end());
    }
    if (auto it = plans.find(r.settings.id); it != plans.end())
      seed.used_plan = std::move(it->second);
    seeds[shard_of(settings->email, shard_count)].push_back(std::move(seed));
  }

  // 5. Actors. The store is the gateway's alone from here on.
  epochs_ = epochs;
  if (cluster_.enabled) {
    ctx.shard_lease_lost = std::make_unique<std::atomic<bool>[]>(shard_count);
    for (shard_id s = 0; s < shard_count; ++s)
      ctx.shard_lease_lost[s].store(false);
  }
  store_gateway_options gw;
  gw.lazy_commit = std::chrono::milliseconds(ctx.cfg.store.lazy_commit_ms);
  gw.commit_linger = std::chrono::microseconds(ctx.cfg.store.commit_linger_us);
  gw.lazy_commit_rows = static_cast<std::size_t>(std::max(1, ctx.cfg.store.lazy_commit_rows));
  gw.backlog = &ctx.counters.store_queued_rows;
  gw.queue_max = static_cast<std::size_t>(std::max(1, ctx.cfg.store.queue_max));
  gw.ready = &ctx.store_ready;
  gw.writer = "gateway." + ctx.node_name;
  gw.lease_lost = ctx.shard_lease_lost.get();
  gw.shard_count = ctx.shard_lease_lost ? shard_count : 0;
  gw.intent_commits = &ctx.counters.intent_commits;
  gw.lazy_commits = &ctx.counters.lazy_commits;
  ctx.store_ready.store(true);
  ctx.store = sys_.spawn<caf::detached>(store_gateway_with_options, store_, std::move(gw));
  if (cluster_.enabled)
    lease_keeper_ = sys_.spawn<caf::detached>(lease_keeper, ctx_.get(), store_, epochs,
                                              generation_, cluster_.lease_ttl,
                                              cluster_.renew_every);
  if (network == transport_kind::smtp) {
    if (!open_secret_)
      throw storage::store_error("transport smtp: the node was started without a way to open "
                                 "secrets (use_real_mail)");
    std::vector<real_mailbox> real;
    for (auto& r : records)
      real.push_back({r.settings.id, r.settings.email, r.settings.provider, r.account,
                      r.sealed_secret});
    ctx.transport = spawn_mail_transport(sys_, ctx_.get(), std::move(real), mail_opts_,
                                         open_secret_);
  } else {
    ctx.transport = sys_.spawn(sandbox_transport, ctx_.get(), net_);
    ctx.sandbox = net_.get();
  }
  ctx.directory = sys_.spawn(directory, ctx_.get());
  ctx.shard_next_due = std::make_unique<std::atomic<time_ms>[]>(shard_count);
  for (shard_id s = 0; s < shard_count; ++s)
    ctx.shard_next_due[s].store(-1);
  ctx.shards.resize(shard_count);
  for (shard_id s = 0; s < shard_count; ++s)
    ctx.shards[s] = sys_.spawn(shard, ctx_.get(), s, epochs[s], std::move(seeds[s]));
  rep.shards = shard_count;
  if (ctx.clock.kind() == engine_clock::mode::simulated) {
    driver_ = sys_.spawn(sim_driver, ctx_.get(), net_);
    auto driver = driver_;
    ctx.tracker->on_idle([driver] { caf::anon_send(driver, atom::quiet::value); });
  } else {
    driver_ = sys_.spawn(ticker, ctx_.get(), net_);
  }
  node_ = sys_.spawn(node, ctx_.get(), std::chrono::milliseconds(5000));
  if (ctx.clock.kind() != engine_clock::mode::simulated)
    pool_watcher_ = sys_.spawn<caf::detached>(pool_watcher, ctx_.get(), net_, rows_at_start_,
                                              network);
  running_ = true;
  started_at_ = clk::now();
  rep.seconds = std::chrono::duration<double>(clk::now() - t0).count();
  spdlog::info("event=node_started node={} mailboxes={} shards={} max_epoch={} "
               "reconciled={} seconds={:.3f} clock={} time_scale={}",
               ctx.node_name, rep.mailboxes, rep.shards, rep.max_epoch, rep.reconciled,
               rep.seconds,
               ctx.clock.kind() == engine_clock::mode::simulated ? "simulated" : "scaled",
               ctx.clock.factor());
  return rep;
}

std::uint64_t engine_node::run_until(time_ms until) {
  caf::scoped_actor self{sys_};
  std::uint64_t steps = 0;
  self->request(driver_, caf::infinite, atom::start::value, until)
    .receive([&](std::uint64_t n) { steps = n; },
             [&](caf::error& err) {
               spdlog::error("event=simulation_failed error=\"{}\"", to_string(err));
             });
  return steps;
}

std::vector<shard_view> engine_node::shard_views() {
  std::vector<shard_view> out;
  caf::scoped_actor self{sys_};
  for (auto& s : ctx_->shards)
    self->request(s, std::chrono::seconds(5), atom::status::value)
      .receive([&](const shard_view& v) { out.push_back(v); }, [&](caf::error&) {});
  return out;
}

node_view engine_node::status() {
  node_view v;
  caf::scoped_actor self{sys_};
  self->request(node_, std::chrono::seconds(10), atom::status::value)
    .receive([&](const node_view& x) { v = x; },
             [&](caf::error& err) {
               spdlog::warn("event=node_status_failed error=\"{}\"", to_string(err));
             });
  return v;
}

std::vector<std::optional<shard_view>>
engine_node::gather_shard_views(std::chrono::milliseconds timeout) {
  std::vector<std::optional<shard_view>> out(ctx_->shards.size());
  if (!running_)
    return out;
  caf::scoped_actor self{sys_};
  // Every request leaves before the first answer is awaited: the wait is one timeout in
  // all, not one per shard.
  using handle_t = decltype(self->request(ctx_->shards[0], timeout, atom::status::value));
  std::vector<handle_t> pending;
  pending.reserve(ctx_->shards.size());
  for (auto& s : ctx_->shards)
    pending.push_back(self->request(s, timeout, atom::status::value));
  for (std::size_t i = 0; i < pending.size(); ++i)
    pending[i].receive([&](const shard_view& v) { out[i] = v; }, [](caf::error&) {});
  return out;
}

std::optional<std::vector<shard_member>>
engine_node::shard_members(shard_id s, std::chrono::milliseconds timeout) {
  if (!running_ || s >= ctx_->shards.size())
    return std::nullopt;
  std::optional<std::vector<shard_member>> out;
  caf::scoped_actor self{sys_};
  self->request(ctx_->shards[s], timeout, atom::members::value)
    .receive([&](std::vector<shard_member>& v) { out = std::move(v); }, [](caf::error&) {});
  return out;
}

std::optional<mailbox_detail> engine_node::mailbox_detail_of(mailbox_id m,
                                                             std::chrono::milliseconds timeout) {
  const auto* settings = ctx_->mailbox(m);
  if (!running_ || settings == nullptr || ctx_->shards.empty())
    return std::nullopt;
  auto s = shard_of(settings->email, static_cast<std::uint32_t>(ctx_->shards.size()));
  std::optional<mailbox_detail> out;
  caf::scoped_actor self{sys_};
  self->request(ctx_->shards[s], timeout, atom::detail::value, m)
    .receive([&](mailbox_detail& d) { out = std::move(d); }, [](caf::error&) {});
  return out;
}

bool engine_node::pause_mailbox(mailbox_id m) {
  const auto* settings = ctx_->mailbox(m);
  if (!running_ || settings == nullptr || ctx_->shards.empty())
    return false;
  auto s = shard_of(settings->email, static_cast<std::uint32_t>(ctx_->shards.size()));
  caf::anon_send(ctx_->shards[s], atom::pause::value, m);
  return true;
}

bool engine_node::resume_mailbox(mailbox_id m) {
  const auto* settings = ctx_->mailbox(m);
  if (!running_ || settings == nullptr || ctx_->shards.empty())
    return false;
  auto s = shard_of(settings->email, static_cast<std::uint32_t>(ctx_->shards.size()));
  caf::anon_send(ctx_->shards[s], atom::resume::value, m);
  return true;
}

bool engine_node::stop() {
  if (!running_)
    return true;
  running_ = false;
  auto& ctx = *ctx_;
  caf::scoped_actor self{sys_};
  if (pool_watcher_) {
    // First, and waited for: no mailbox joins a shard that is stopping.
    self->send_exit(pool_watcher_, caf::exit_reason::user_shutdown);
    self->wait_for(pool_watcher_);
    pool_watcher_ = nullptr;
  }
  if (ctx.clock.kind() != engine_clock::mode::simulated)
    self->send(driver_, atom::stop::value);
  bool all_flushed = true;
  // Every shard asked at once: a store that is down at shutdown costs one timeout, not
  // one per shard (a shard's last batch waits for the store).
  if (!ctx.shards.empty()) {
    using stop_handle = decltype(self->request(ctx.shards[0], std::chrono::seconds(60),
                                               atom::stop::value));
    std::vector<stop_handle> stops;
    stops.reserve(ctx.shards.size());
    for (auto& s : ctx.shards)
      stops.push_back(self->request(s, std::chrono::seconds(60), atom::stop::value));
    for (auto& h : stops)
      h.receive([&](bool ok) { all_flushed = all_flushed && ok; },
                [&](caf::error& err) {
                  all_flushed = false;
                  spdlog::error("event=shard_stop_failed error=\"{}\"", to_string(err));
                });
  }
  // Persist the simulated network's memory and the engine time, then drain the store.
  self->send(ctx.store, atom::meta::value, std::string{"sandbox.snapshot"}, net_->snapshot());
  self->send(ctx.store, atom::meta::value, std::string{"engine.now_ms"},
             std::to_string(ctx.clock.now()));
  // False when the store is down or a commit failed: what the gateway still holds is lost
  // with it (intents among it are reconciled as skipped at the next start).
  self->request(ctx.store, std::chrono::seconds(60), atom::flush::value)
    .receive([&](bool ok) { all_flushed = all_flushed && ok; },
             [&](caf::error&) { all_flushed = false; });
  for (auto& s : ctx.shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  if (lease_keeper_) {
    self->send_exit(lease_keeper_, caf::exit_reason::user_shutdown);
    lease_keeper_ = nullptr;
    // Given back at once: another node may take the shards without waiting for expiry.
    // A lost lease is not ours to give (release matches owner and epoch anyway).
    try {
      for (shard_id s = 0; s < epochs_.size(); ++s)
        if (!ctx.shard_lease_lost || !ctx.shard_lease_lost[s].load())
          store_->release_lease(s, ctx.node_name, epochs_[s]);
    } catch (const std::exception& e) {
      spdlog::warn("event=lease_release_failed error=\"{}\"", e.what());
    }
  }
  self->send_exit(driver_, caf::exit_reason::user_shutdown);
  self->send_exit(node_, caf::exit_reason::user_shutdown);
  self->send_exit(ctx.directory, caf::exit_reason::user_shutdown);
  self->send_exit(ctx.transport, caf::exit_reason::user_shutdown);
  self->send_exit(ctx.store, caf::exit_reason::user_shutdown);
  // They go asynchronously, and every one of them (each mailbox actor too) reads the
  // engine context: nothing in it is cleared, and the node may not be destroyed, until they
  // are gone. Bounded: another node's actors in the same system would keep the count up.
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (sys_.registry().running() > actors_before_start_ + 1   // + 1: `self`
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto left = sys_.registry().running();
    if (left > actors_before_start_ + 1)
      spdlog::warn("event=node_stop_actors_still_running count={}",
                   left - actors_before_start_ - 1);
  }
  ctx.tracker->on_idle(nullptr);
  ctx.shards.clear();
  ctx.store = nullptr;
  ctx.transport = nullptr;
  ctx.sandbox = nullptr;
  ctx.directory = nullptr;
  driver_ = nullptr;
  node_ = nullptr;
  spdlog::info("event=node_stopped node={} flushed={} sends={} receipts={} replies={}",
               ctx.node_name, all_flushed, ctx.counters.sends.load(),
               ctx.counters.receipts.load(), ctx.counters.replies.load());
  return all_flushed;
}

}  // namespace warmup
