// services.cpp: store gateway, sandbox transport, pool directory and clock drivers.
#include "actors/services.hpp"

#include "warmup/calendar.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <thread>

namespace warmup {

// -- store gateway ------------------------------------------------------------------

namespace {

using gateway_ptr = store_actor::stateful_pointer<store_gateway_state>;

std::size_t row_count(const storage::write_batch& b) {
  return b.outcomes.size() + b.registry.size() + b.placements.size() + b.stats.size()
         + b.ramps.size() + b.plans.size();
}

std::size_t waiting_rows(const store_gateway_state& st) {
  std::size_t n = st.lazy_rows + st.failed_rows;
  for (const auto& b : st.queue)
    n += b.intents.size();
  return n;
}

void publish_backlog(gateway_ptr self) {
  auto& st = self->state;
  if (st.opts.backlog)
    st.opts.backlog->store(waiting_rows(st) + self->mailbox().size(), std::memory_order_relaxed);
}

// Adds the rows of `b` to lazy batch `at` (pushed as a new batch when `at` is the end of
// `lazy`) and returns how many rows were added: a (mailbox, day) counter row that is
// waiting already absorbs b's delta (the shards flush every tick, so one mailbox's
// counters would otherwise be upserted several times per commit).
std::size_t add_lazy(store_gateway_state& st, std::size_t at, storage::write_batch&& b) {
  std::vector<storage::stats_delta> fresh;   // rows base.. of batch `at` once appended
  fresh.reserve(b.stats.size());
  const std::size_t base = at < st.lazy.size() ? st.lazy[at].stats.size() : 0;
  for (auto& d : b.stats) {
    auto key = (static_cast<std::uint64_t>(d.mailbox) << 32)
               | static_cast<std::uint32_t>(d.delta.day);
    auto it = st.lazy_stats.find(key);
    if (it != st.lazy_stats.end() && it->second.first == at) {
      auto row = it->second.second;
      (row < base ? st.lazy[at].stats[row] : fresh[row - base]).delta += d.delta;
    } else {
      st.lazy_stats[key] = {at, base + fresh.size()};
      fresh.push_back(d);
    }
  }
  b.stats = std::move(fresh);
  auto rows = row_count(b);
  if (at == st.lazy.size())
    st.lazy.push_back(std::move(b));
  else
    storage::append(st.lazy[at], std::move(b));
  return rows;
}

bool shard_lost(const store_gateway_state& st, shard_id s) {
  return st.opts.lease_lost != nullptr && s < st.opts.shard_count
         && st.opts.lease_lost[s].load(std::memory_order_acquire);
}

void schedule_retry(gateway_ptr self) {
  auto& st = self->state;
  if (st.retry_scheduled)
    return;
  st.retry_scheduled = true;
  caf::delayed_anon_send(caf::actor_cast<store_actor>(self), st.backoff, atom::flush::value);
}

// The store failed: keep everything, say so once, retry with capped exponential backoff.
void mark_down(gateway_ptr self, const std::exception& e) {
  auto& st = self->state;
  ++st.attempts;
  if (!st.down) {
    st.down = true;
    st.down_since = std::chrono::steady_clock::now();
    st.backoff = st.opts.retry_min;
    if (st.opts.ready)
      st.opts.ready->store(false);
    spdlog::error("event=store_unreachable rows_kept={} retry_in_ms={} error=\"{}\"",
                  waiting_rows(st), st.backoff.count(), e.what());
  } else {
    st.backoff = std::min(st.opts.retry_max, st.backoff * 2);
    spdlog::warn("event=store_retry_failed attempt={} rows_kept={} retry_in_ms={} error=\"{}\"",
                 st.attempts, waiting_rows(st), st.backoff.count(), e.what());
  }
  schedule_retry(self);
}

void mark_up(gateway_ptr self) {
  auto& st = self->state;
  if (!st.down)
    return;
  st.down = false;
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.down_since)
                   .count();
  spdlog::info("event=store_reconnected attempts={} outage_seconds={:.1f} rows_waiting={}",
               st.attempts, seconds, waiting_rows(st));
  st.attempts = 0;
  if (st.opts.ready)
    st.opts.ready->store(true);
}

// Runs one apply_many call; false when the store failed (the call is kept for the retry).
bool run_commit(gateway_ptr self, gateway_commit c) {
  auto& st = self->state;
  std::vector<storage::batch_result> results;
  const auto started = std::chrono::steady_clock::now();
  try {
    results = st.opts.writer.empty() ? st.store->apply_many(c.batches)
                                     : st.store->apply_many_once(st.opts.writer, c.seq, c.batches);
  } catch (const std::exception& e) {
    st.failed_rows = 0;
    for (const auto& b : c.batches)
      st.failed_rows += b.intents.size() + row_count(b);
    st.failed = std::move(c);
    mark_down(self, e);
    return false;
  }
  st.failed_rows = 0;
  st.batches += c.batches.size();
  if (auto* k = c.intents ? st.opts.intent_commits : st.opts.lazy_commits) {
    std::size_t rows = 0;
    for (const auto& b : c.batches)
      rows += b.intents.size() + row_count(b);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
    k->commits.fetch_add(1, std::memory_order_relaxed);
    k->batches.fetch_add(c.batches.size(), std::memory_order_relaxed);
    k->rows.fetch_add(rows, std::memory_order_relaxed);
    k->micros.fetch_add(static_cast<std::uint64_t>(us.count()), std::memory_order_relaxed);
  }
  if (c.intents) {
    for (std::size_t i = 0; i < c.promises.size(); ++i)
      c.promises[i].deliver(std::move(results[i]));
  } else {
    for (std::size_t i = 0; i < results.size(); ++i)
      if (results[i].stale_epoch) {
        auto s = c.batches[i].shard;
        spdlog::error("event=store_writes_rejected shard={} epoch={} reason=\"stale lease "
                      "epoch: another owner holds the shard\"",
                      s, c.batches[i].epoch);
        if (st.opts.lease_lost != nullptr && s < st.opts.shard_count)
          st.opts.lease_lost[s].store(true, std::memory_order_release);
      }
    for (auto& rp : c.promises)
      rp.deliver(storage::batch_result{});
  }
  mark_up(self);
  return true;
}

// Commits every queued intent batch in one transaction and answers each shard: a send
// waits for this, so it happens as soon as the mailbox runs dry.
void commit_intents(gateway_ptr self) {
  auto& st = self->state;
  if (st.queue.empty() || st.down || st.failed)
    return;
  st.lingered = false;
  gateway_commit c;
  c.intents = true;
  c.seq = ++st.seq;
  c.batches = std::move(st.queue);
  c.promises = std::move(st.promises);
  st.queue.clear();
  st.promises.clear();
  run_commit(self, std::move(c));
}

// Writes the rest once enough has gathered (or `force`): each commit costs the pages it
// dirties, so fewer, larger transactions write far less. Intents queued before are
// committed first, so an outcome never reaches the store before its intent.
void commit_lazy(gateway_ptr self, bool force) {
  auto& st = self->state;
  commit_intents(self);
  if (st.lazy.empty() || st.down || st.failed || !st.queue.empty())
    return;
  auto now = std::chrono::steady_clock::now();
  // Due when forced, big enough, old enough, over queue_max, or when a shard waits for it:
  // a held answer (back-pressure) must not wait for a later message, since the shards
  // that would send one may all be waiting (the intents that pushed the rows over
  // queue_max may have been committed meanwhile).
  if (!force && st.lazy_rows < st.opts.lazy_commit_rows && waiting_rows(st) <= st.opts.queue_max
      && st.lazy_promises.empty() && now - st.last_lazy_commit < st.opts.lazy_commit)
    return;
  gateway_commit c;
  c.seq = ++st.seq;
  c.batches = std::move(st.lazy);
  c.promises = std::move(st.lazy_promises);
  st.lazy.clear();
  st.lazy_of_shard.clear();
  st.lazy_stats.clear();
  st.lazy_promises.clear();
  st.lazy_rows = 0;
  st.last_lazy_commit = now;
  run_commit(self, std::move(c));
}

// Meta values written while the store was down, last value per key.
bool write_pending_meta(gateway_ptr self) {
  auto& st = self->state;
  while (!st.pending_meta.empty()) {
    auto it = st.pending_meta.begin();
    try {
      st.store->put_meta(it->first, it->second);
    } catch (const std::exception& e) {
      mark_down(self, e);
      return false;
    }
    st.pending_meta.erase(it);
  }
  return true;
}

// Stores a rotated secret of mailbox `m` in place of `replaced`; false (kept for the retry)
// when the store failed. A secret the user changed meanwhile is left alone.
bool write_secret(gateway_ptr self, mailbox_id m, const std::string& replaced,
                  const std::string& sealed) {
  auto& st = self->state;
  try {
    auto r = st.store->get_mailbox(m);
    if (!r)
      return true;
    if (r->sealed_secret != replaced) {
      spdlog::warn("event=rotated_secret_not_stored mailbox={} reason=\"the mailbox's secret "
                   "was changed since this login; the newer one is kept\"",
                   m);
      return true;
    }
    r->sealed_secret = sealed;
    st.store->update_mailbox(*r);
    spdlog::info("event=rotated_secret_stored mailbox={}", m);
    return true;
  } catch (const std::exception& e) {
    st.pending_secrets[m] = {replaced, sealed};
    mark_down(self, e);
    return false;
  }
}

bool write_pending_secrets(gateway_ptr self) {
  auto& st = self->state;
  while (!st.pending_secrets.empty()) {
    auto node = st.pending_secrets.extract(st.pending_secrets.begin());
    if (!write_secret(self, node.key(), node.mapped().first, node.mapped().second))
      return false;
  }
  return true;
}

// After a failure: the kept commit first (same batches, same sequence number), then the
// meta values and secrets, then whatever gathered meanwhile.
void retry(gateway_ptr self) {
  auto& st = self->state;
  if (st.failed) {
    auto c = std::move(*st.failed);
    st.failed.reset();
    if (!run_commit(self, std::move(c)))
      return;
  }
  if (!write_pending_meta(self) || !write_pending_secrets(self))
    return;
  mark_up(self);
  commit_lazy(self, true);
}

}  // namespace

store_actor::behavior_type
store_gateway(store_actor::stateful_pointer<store_gateway_state> self,
              std::shared_ptr<storage::store> store, std::chrono::milliseconds lazy_commit) {
  store_gateway_options o;
  o.lazy_commit = lazy_commit;
  return store_gateway_with_options(self, std::move(store), std::move(o));
}

store_actor::behavior_type
store_gateway_with_backlog(store_actor::stateful_pointer<store_gateway_state> self,
                           std::shared_ptr<storage::store> store,
                           std::chrono::milliseconds lazy_commit,
                           std::atomic<std::uint64_t>* backlog) {
  store_gateway_options o;
  o.lazy_commit = lazy_commit;
  o.backlog = backlog;
  return store_gateway_with_options(self, std::move(store), std::move(o));
}

store_actor::behavior_type
store_gateway_with_options(store_actor::stateful_pointer<store_gateway_state> self,
                           std::shared_ptr<storage::store> store, store_gateway_options opts) {
  self->state.store = std::move(store);
  self->state.opts = std::move(opts);
  if (self->state.opts.queue_max == 0)
    self->state.opts.queue_max = 1;
  return {
    // Group commit: intents queue up while more messages wait and are written in one
    // transaction when the mailbox runs dry; the rest of a batch waits for a larger one.
    [=](atom::apply, storage::write_batch& b) -> caf::result<storage::batch_result> {
      auto& st = self->state;
      if (shard_lost(st, b.shard)) {
        // The lease is gone: nothing of this shard is written any more.
        storage::batch_result stale;
        stale.stale_epoch = true;
        stale.intent_inserted.assign(b.intents.size(), false);
        return stale;
      }
      storage::write_batch intents;
      intents.shard = b.shard;
      intents.epoch = b.epoch;
      intents.intents = std::move(b.intents);
      b.intents.clear();
      if (!b.empty()) {
        auto key = (static_cast<std::uint64_t>(b.epoch) << 32) | b.shard;
        auto at = st.lazy_of_shard.try_emplace(key, st.lazy.size()).first->second;
        st.lazy_rows += add_lazy(st, at, std::move(b));
      }
      caf::result<storage::batch_result> answer = storage::batch_result{};
      if (!intents.intents.empty()) {
        auto rp = self->make_response_promise<storage::batch_result>();
        st.queue.push_back(std::move(intents));
        st.promises.push_back(rp);
        answer = rp;
      } else if (waiting_rows(st) > st.opts.queue_max) {
        // Back-pressure: this shard hears back once its rows are committed.
        auto rp = self->make_response_promise<storage::batch_result>();
        st.lazy_promises.push_back(rp);
        answer = rp;
      }
      if (!st.down && (self->mailbox().empty() || st.queue.size() >= 256
                       || waiting_rows(st) > st.opts.queue_max)) {
        // Group commit: queued intents wait until no batch has arrived for commit_linger
        // (at most 10 x commit_linger since the first waited), so that the other shards'
        // batches of the same moment share the commit: the shards of one tick report one
        // after the other. A commit costs every page it dirties, whatever the rows; this
        // is PostgreSQL's commit_delay. Sleeping is fine: the gateway has its own thread.
        if (!st.queue.empty() && st.opts.commit_linger.count() > 0 && st.queue.size() < 256) {
          auto now = std::chrono::steady_clock::now();
          if (!st.lingered) {
            st.lingered = true;
            st.linger_began = now;
          }
          auto until = std::min(now + st.opts.commit_linger,
                                st.linger_began + 10 * st.opts.commit_linger);
          auto nap = std::min<std::chrono::microseconds>(st.opts.commit_linger,
                                                         std::chrono::microseconds(50));
          while (self->mailbox().empty() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(nap);
          if (!self->mailbox().empty()) {
            publish_backlog(self);
            return answer;   // what arrived meanwhile joins; the last of it commits
          }
        }
        commit_intents(self);
        commit_lazy(self, st.opts.lazy_commit.count() == 0);
      }
      publish_backlog(self);
      return answer;
    },
    [=](atom::meta, const std::string& key, const std::string& value) {
      auto& st = self->state;
      commit_lazy(self, false);
      if (st.down || st.failed) {
        st.pending_meta[key] = value;
        return;
      }
      try {
        st.store->put_meta(key, value);
      } catch (const std::exception& e) {
        st.pending_meta[key] = value;
        mark_down(self, e);
      }
    },
    [=](atom::secret, mailbox_id m, const std::string& replaced, const std::string& sealed) {
      auto& st = self->state;
      if (st.down || st.failed) {
        st.pending_secrets[m] = {replaced, sealed};
        return;
      }
      write_secret(self, m, replaced, sealed);
    },
    [=](atom::load, mailbox_id m, day_number day) -> caf::result<day_seed> {
      auto& st = self->state;
      commit_lazy(self, true);
      if (st.down)
        return caf::make_error(caf::sec::runtime_error, "the store is unreachable");
      try {
        day_seed seed;
        for (auto& row : st.store->intents(m, day, day))
          seed.used_slots.push_back(row.intent.key.slot);
        if (auto stored = st.store->plan(m, day))
          seed.plan = std::move(stored->slot_times);
        return seed;
      } catch (const std::exception& e) {
        mark_down(self, e);
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [=](atom::status) -> caf::result<std::vector<mailbox_state_row>> {
      auto& st = self->state;
      commit_lazy(self, true);
      if (st.down)
        return caf::make_error(caf::sec::runtime_error, "the store is unreachable");
      try {
        // Three columns of every mailbox; the whole record only of one that changed.
        auto stamps = st.store->mailbox_stamps();
        std::vector<mailbox_state_row> rows;
        rows.reserve(stamps.size());
        for (const auto& m : stamps) {
          mailbox_state_row row{m.id, m.state, nullptr};
          // Inequality, not order: the CLI stamps wall time, the console engine time.
          auto [seen, first] = st.listed_updated_at.try_emplace(m.id, m.updated_at);
          if (!first && seen->second != m.updated_at) {
            seen->second = m.updated_at;
            if (auto r = st.store->get_mailbox(m.id))
              row.edited = std::make_shared<const mailbox_settings>(std::move(r->settings));
          }
          rows.push_back(std::move(row));
        }
        return rows;
      } catch (const std::exception& e) {
        mark_down(self, e);
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    // Barrier (and the retry timer, sent anonymously): true once everything received
    // before it is written; false while the store is unreachable (all is kept).
    [=](atom::flush) {
      auto& st = self->state;
      if (!self->current_sender())
        st.retry_scheduled = false;   // the retry timer
      if (st.down || st.failed || !st.pending_meta.empty() || !st.pending_secrets.empty())
        retry(self);
      else
        commit_lazy(self, true);
      publish_backlog(self);
      return !st.down && !st.failed && st.queue.empty() && st.lazy.empty();
    },
  };
}

// -- lease keeper -------------------------------------------------------------------

caf::behavior lease_keeper(caf::stateful_actor<lease_keeper_state>* self, engine_context* ctx,
                           std::shared_ptr<storage::store> store, std::vector<epoch_t> epochs,
                           std::uint64_t generation, time_ms ttl,
                           std::chrono::milliseconds period) {
  auto& st = self->state;
  st.ctx = ctx;
  st.store = std::move(store);
  st.epochs = std::move(epochs);
  st.generation = generation;
  st.ttl = ttl;
  st.period = period;
  self->delayed_send(self, period, atom::tick::value);
  return {
    [=](atom::tick) {
      auto& s = self->state;
      try {
        if (!s.store->heartbeat(s.ctx->node_name, s.generation))
          spdlog::error("event=node_superseded node={} generation={} note=\"a newer start of "
                        "this node registered; this one keeps running only until its leases "
                        "go\"",
                        s.ctx->node_name, s.generation);
        for (shard_id i = 0; i < s.epochs.size(); ++i) {
          auto& lost = s.ctx->shard_lease_lost[i];
          if (lost.load(std::memory_order_acquire))
            continue;
          if (!s.store->renew_lease(i, s.ctx->node_name, s.epochs[i], s.ctx->clock.now(),
                                    s.ttl)) {
            lost.store(true, std::memory_order_release);
            spdlog::error("event=shard_lease_lost shard={} epoch={} reason=\"renewal refused: "
                          "the lease expired or another owner took it\"",
                          i, s.epochs[i]);
          }
        }
      } catch (const std::exception& e) {
        // The store is down: the gateway reports it; the lease survives a few periods.
        spdlog::warn("event=lease_renewal_failed error=\"{}\"", e.what());
      }
      self->delayed_send(self, s.period, atom::tick::value);
    },
  };
}

// -- sandbox transport --------------------------------------------------------------

send_result sandbox_send(sandbox::network& net, mailbox_id from, mailbox_id to, mailbox_id cc,
                         const mail_message& msg, time_ms now) {
  sandbox::mail m;
  m.from = from;
  m.to = to;
  m.message_id = msg.message_id;
  m.in_reply_to = msg.in_reply_to;
  m.thread = msg.thread;
  m.turn = std::max(0, msg.turn - 1);
  auto d = net.deliver(m, now);
  if (cc != no_mailbox && d.status == sandbox::delivery_status::accepted) {
    m.to = cc;
    net.deliver(m, now);
  }
  send_result r;
  switch (d.status) {
    case sandbox::delivery_status::accepted:
      r.status = send_status::sent;
      break;
    case sandbox::delivery_status::bounced:
      r.status = send_status::bounced;
      r.detail = "550 5.1.1 recipient unknown (sandbox simulation)";
      break;
    case sandbox::delivery_status::temporary_failure:
      r.status = send_status::temporary_failure;
      r.detail = "451 4.3.0 try again later (sandbox simulation)";
      break;
  }
  return r;
}

receive_result sandbox_process(sandbox::network& net, const receive_task& t, time_ms now) {
  receive_result r;
  auto where = net.find(t.recipient, t.message_id);
  switch (where) {
    case sandbox::folder::none:
      r.where = storage::placement::missing;
      return r;
    case sandbox::folder::spam:
      r.where = storage::placement::spam;
      break;
    default:
      r.where = storage::placement::inbox;
      break;
  }
  // Rescue only what really is in spam.
  if (where == sandbox::folder::spam && t.engagement.rescue)
    r.rescued = net.rescue(t.recipient, t.message_id, now);
  sandbox::flags f;
  f.read = t.engagement.read;
  f.important = t.engagement.important;
  f.starred = t.engagement.star;
  net.set_flags(t.recipient, t.message_id, f, now);
  // Filed so it never clutters the inbox; left in spam when not rescued.
  if (where != sandbox::folder::spam || r.rescued)
    r.filed = net.file(t.recipient, t.message_id, now);
  return r;
}

transport_actor::behavior_type
sandbox_transport(transport_actor::stateful_pointer<sandbox_transport_state> self,
                  const engine_context* ctx, std::shared_ptr<sandbox::network> net) {
  self->state.ctx = ctx;
  self->state.net = std::move(net);
  return {
    [=](atom::send, const outgoing_mail& out) {
      auto& st = self->state;
      return sandbox_send(*st.net, out.from, out.to, out.cc, out.message, st.ctx->clock.now());
    },
    [=](atom::process, const receive_task& t) {
      auto& st = self->state;
      return sandbox_process(*st.net, t, st.ctx->clock.now());
    },
    [=](atom::resume, mailbox_id) {
      // Simulated mailboxes have no logins to forget.
    },
  };
}

// -- directory ----------------------------------------------------------------------

namespace {

peer_member peer_member_of(const mailbox_settings& m) {
  peer_member pm;
  pm.id = m.id;
  pm.email = m.email;
  pm.provider = m.provider;
  pm.organisation = m.organisation;
  pm.daily_limit = m.ramp.ceiling;
  pm.active = m.state != mailbox_state::paused && m.state != mailbox_state::disconnected;
  return pm;
}

}  // namespace

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self, const engine_context* ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  st.peers = peer_directory(ctx->cfg.peers);
  st.draws = rng(seed_of(ctx->cfg.sandbox.seed, 0x70656572));
  for (auto& m : ctx->mailboxes) {
    if (m.id == no_mailbox || m.state == mailbox_state::removed)
      continue;
    st.peers.upsert(peer_member_of(m));
  }
  {
    // A pool where nobody may mail anybody sends nothing: say why at once.
    std::map<std::string_view, std::size_t> organisations;
    std::size_t pool = 0;
    for (auto& m : ctx->mailboxes)
      if (m.id != no_mailbox && m.state != mailbox_state::removed) {
        ++pool;
        ++organisations[m.organisation];
      }
    if (pool == 1)
      spdlog::warn("event=pool_without_peers mailboxes=1 reason=\"a warmup pool needs at least "
                   "two mailboxes: there is nobody to send to\"");
    else if (organisations.size() == 1 && pool > 1 && ctx->cfg.peers.internal_share <= 0.0)
      spdlog::warn("event=pool_without_peers mailboxes={} organisation=\"{}\" reason=\"every "
                   "mailbox is in the same organisation and peers.internal_share is 0, so no "
                   "mailbox has a recipient: give the mailboxes their organisations or set "
                   "peers.internal_share\"",
                   pool, organisations.begin()->first);
  }
  auto shard_count = static_cast<std::uint32_t>(ctx->cfg.node.shard_count);
  return {
    [=](atom::peers, mailbox_id sender, std::int32_t n, day_number day) {
      auto& s = self->state;
      if (day != s.day) {
        if (s.without_peers > 0)
          spdlog::warn("event=senders_without_peers day={} count={} example_mailbox={} "
                       "reason=\"no eligible recipient: all candidates are in the sender's "
                       "organisation, paused, disconnected or at their inbound cap\"",
                       format_day(s.day), s.without_peers, s.without_peers_example);
        s.without_peers = 0;
        s.day = day;
        s.peers.start_day(day);
      }
      std::vector<peer_pick> picks;
      picks.reserve(static_cast<std::size_t>(std::max(0, n)));
      for (std::int32_t i = 0; i < n; ++i) {
        auto c = s.peers.choose(sender, s.draws);
        if (!c)
          break;
        peer_pick p;
        p.to = c->to;
        if (const auto* m = s.ctx->mailbox(c->to))
          p.to_shard = shard_of(m->email, shard_count);
        if (c->cc) {
          p.cc = *c->cc;
          if (const auto* m = s.ctx->mailbox(*c->cc))
            p.cc_shard = shard_of(m->email, shard_count);
        }
        picks.push_back(p);
      }
      if (picks.empty() && n > 0) {
        ++s.without_peers;
        s.without_peers_example = sender;
      }
      return picks;
    },
    [=](atom::record, mailbox_id from, mailbox_id to) { self->state.peers.record(from, to); },
    [=](atom::upsert, mailbox_id m, std::int32_t limit, bool active) {
      auto& s = self->state;
      s.peers.set_daily_limit(m, std::max(1, static_cast<int>(limit)));
      s.peers.set_active(m, active);
    },
    [=](atom::add, mailbox_id id) {
      auto& s = self->state;
      const auto* m = s.ctx->mailbox(id);
      if (m == nullptr || m->state == mailbox_state::removed)
        return;
      s.peers.upsert(peer_member_of(*m));
    },
  };
}

// -- clock drivers ------------------------------------------------------------------

namespace {

// Once per simulated day: drop old filed mail in the sandbox, keep its memory small.
void daily_housekeeping(sandbox::network* net, day_number& last, time_ms now) {
  auto today = static_cast<day_number>(now / ms_per_day);
  if (net == nullptr || today == last)
    return;
  last = today;
  auto dropped = net->cleanup(now, 3 * ms_per_day);
  spdlog::debug("event=sandbox_cleanup day={} dropped={}", format_day(today), dropped);
}

}  // namespace

namespace {

// What of an edit a running node applies: the row's identity and what other actors read
// from the node's table (email, provider, organisation, transport: peer rules, the
// sandbox, shard routing) stay as the node loaded them until its next start.
std::shared_ptr<const mailbox_settings> running_settings(const mailbox_settings& running,
                                                         const mailbox_settings& edited) {
  auto out = std::make_shared<mailbox_settings>(edited);
  out->id = running.id;
  out->email = running.email;
  out->provider = running.provider;
  out->organisation = running.organisation;
  out->transport = running.transport;
  out->created_day = running.created_day;
  out->state = running.state;
  return out;
}

// Pause / resume / removal and settings edits done with the CLI or the console while the
// node runs reach the mailbox actors here. A mailbox added while the node runs is joined
// by the pool watcher (node.cpp); until then it is not in the node's table and is passed
// over, its state recorded when it is.
void apply_user_states(caf::stateful_actor<ticker_state>* self,
                       const std::vector<mailbox_state_row>& rows) {
  auto& st = self->state;
  auto shard_count = static_cast<std::uint32_t>(st.ctx->shards.size());
  for (auto& row : rows) {
    const auto* m = st.ctx->mailbox(row.id);
    if (m == nullptr)
      continue;   // not joined yet (or of the other transport): nothing runs to apply it to
    if (row.edited)
      self->send(st.ctx->shards[shard_of(m->email, shard_count)], atom::settings::value,
                 running_settings(*m, *row.edited));
    auto [it, fresh] = st.known.emplace(row.id, m->state);
    auto before = it->second;
    it->second = row.state;
    if (before == row.state)
      continue;
    auto& shard = st.ctx->shards[shard_of(m->email, shard_count)];
    bool stop_now = row.state == mailbox_state::paused || row.state == mailbox_state::removed;
    bool was_stopped = before == mailbox_state::paused || before == mailbox_state::removed
                       || before == mailbox_state::disconnected;
    if (stop_now && !was_stopped) {
      self->send(shard, atom::pause::value, row.id);
      spdlog::info("event=mailbox_paused_by_user mailbox={} email={}", row.id, m->email);
    } else if (row.state == mailbox_state::active && was_stopped) {
      self->send(shard, atom::resume::value, row.id);
      spdlog::info("event=mailbox_resumed_by_user mailbox={} email={}", row.id, m->email);
    }
  }
}

}  // namespace

caf::behavior ticker(caf::stateful_actor<ticker_state>* self, const engine_context* ctx,
                     std::shared_ptr<sandbox::network> net) {
  self->state.ctx = ctx;
  self->state.net = std::move(net);
  auto period = std::chrono::milliseconds(std::max(1, ctx->cfg.clock.tick_ms));
  self->send(self, atom::tick::value);
  return {
    [=](atom::tick) {
      auto& st = self->state;
      auto now = st.ctx->clock.now();
      for (auto& s : st.ctx->shards)
        self->send(s, atom::tick::value, now);
      // Once a second of wall time: publish engine time for `warmup status`.
      if (++st.ticks % static_cast<std::uint64_t>(std::max<std::int64_t>(1, 1000 / period.count())) == 1
          || period.count() >= 1000) {
        self->send(st.ctx->store, atom::meta::value, std::string{"engine.now_ms"},
                   std::to_string(now));
        daily_housekeeping(st.net.get(), st.last_cleanup, now);
      }
      // Every five seconds of wall time: apply what the CLI changed in the store.
      if (st.ticks % static_cast<std::uint64_t>(std::max<std::int64_t>(1, 5000 / period.count())) == 2)
        self->request(st.ctx->store, std::chrono::seconds(30), atom::status::value)
          .then([=](const std::vector<mailbox_state_row>& rows) { apply_user_states(self, rows); },
                [](caf::error&) {});
      self->delayed_send(self, period, atom::tick::value);
    },
    [=](atom::stop) { self->quit(); },
  };
}

caf::behavior sim_driver(caf::stateful_actor<sim_driver_state>* self, const engine_context* ctx,
                         std::shared_ptr<sandbox::network> net) {
  self->state.ctx = ctx;
  self->state.net = std::move(net);
  auto step = [=] {
    auto& st = self->state;
    auto& clock = st.ctx->clock;
    auto now = clock.now();
    time_ms next = std::numeric_limits<time_ms>::max();
    for (std::size_t i = 0; i < st.ctx->shards.size(); ++i) {
      auto d = st.ctx->shard_next_due[i].load(std::memory_order_acquire);
      if (d >= 0)
        next = std::min(next, d);
    }
    // One step covers a quantum of engine time: every event due inside it runs at the
    // step's time (at most a quantum late), so a step is a batch of work rather than one
    // event behind a barrier of every shard.
    if (next != std::numeric_limits<time_ms>::max())
      next = std::max(next, now) + st.quantum;
    next = std::max(next, now + 1);
    if (next >= st.until) {
      clock.set(st.until);
      self->send(st.ctx->store, atom::meta::value, std::string{"engine.now_ms"},
                 std::to_string(st.until));
      if (st.done.pending())
        st.done.deliver(st.steps - st.steps_at_start);
      return;
    }
    clock.set(next);
    ++st.steps;
    daily_housekeeping(st.net.get(), st.last_cleanup, next);
    if (st.steps % 4096 == 0)
      self->send(st.ctx->store, atom::meta::value, std::string{"engine.now_ms"},
                 std::to_string(next));
    // Only shards with work due in this step are ticked.
    std::vector<std::size_t> due;
    for (std::size_t i = 0; i < st.ctx->shards.size(); ++i) {
      auto d = st.ctx->shard_next_due[i].load(std::memory_order_acquire);
      if (d >= 0 && d <= next)
        due.push_back(i);
    }
    if (due.empty()) {
      self->send(self, atom::quiet::value);
      return;
    }
    st.ctx->tracker->begin(static_cast<std::int64_t>(due.size()));
    for (auto i : due)
      self->send(st.ctx->shards[i], atom::tick::value, next);
  };
  return {
    // Run until engine time `until`; answers the number of steps this run took.
    [=](atom::start, time_ms until) {
      auto& st = self->state;
      st.until = until;
      st.steps_at_start = st.steps;
      st.done = self->make_response_promise();
      if (st.ctx->tracker->pending() == 0)
        step();
      return st.done;
    },
    [=](atom::quiet) {
      if (self->state.ctx->tracker->pending() == 0 && self->state.done.pending())
        step();
    },
  };
}

}  // namespace warmup

namespace warmup {

// -- node ---------------------------------------------------------------------------

node_actor::behavior_type node(node_actor::stateful_pointer<node_actor_state> self,
                               const engine_context* ctx, std::chrono::milliseconds timeout) {
  self->state.ctx = ctx;
  return {
    [=](atom::status) -> caf::result<node_view> {
      auto& st = self->state;
      auto rp = self->make_response_promise<node_view>();
      auto view = std::make_shared<node_view>();
      view->node = st.ctx->node_name;
      view->shards = static_cast<std::uint32_t>(st.ctx->shards.size());
      view->sends = st.ctx->counters.sends.load();
      view->receipts = st.ctx->counters.receipts.load();
      view->replies = st.ctx->counters.replies.load();
      view->engine_now = st.ctx->clock.now();
      auto open = std::make_shared<std::size_t>(st.ctx->shards.size());
      if (*open == 0) {
        rp.deliver(*view);
        return rp;
      }
      auto done = [=]() mutable {
        if (--*open == 0)
          rp.deliver(*view);
      };
      for (auto& s : st.ctx->shards)
        self->request(s, timeout, atom::status::value)
          .then(
            [=](const shard_view& v) mutable {
              view->mailboxes += v.mailboxes;
              for (std::size_t i = 0; i < v.by_state.size(); ++i)
                view->by_state[i] += v.by_state[i];
              view->restarts += v.restarts;
              view->queued_writes += v.queued_writes;
              if (v.stopped)
                view->shards_stopped++;
              done();
            },
            [=](caf::error&) mutable {
              view->shards_missing++;
              done();
            });
      return rp;
    },
  };
}

}  // namespace warmup
