// services.cpp: store gateway, sandbox transport, pool directory and clock drivers.
#include "actors/services.hpp"

#include "warmup/calendar.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

namespace warmup {

// -- store gateway ------------------------------------------------------------------

namespace {

using gateway_ptr = store_actor::stateful_pointer<store_gateway_state>;

std::size_t row_count(const storage::write_batch& b) {
  return b.outcomes.size() + b.registry.size() + b.placements.size() + b.stats.size()
         + b.ramps.size() + b.plans.size();
}

// Commits every queued intent batch in one transaction and answers each shard: a send
// waits for this, so it happens as soon as the mailbox runs dry.
void commit_intents(gateway_ptr self) {
  auto& st = self->state;
  if (st.queue.empty())
    return;
  auto batches = std::move(st.queue);
  auto promises = std::move(st.promises);
  st.queue.clear();
  st.promises.clear();
  try {
    auto results = st.store->apply_many(batches);
    st.batches += batches.size();
    for (std::size_t i = 0; i < promises.size(); ++i)
      promises[i].deliver(std::move(results[i]));
  } catch (const std::exception& e) {
    spdlog::error("event=store_apply_failed batches={} error=\"{}\"", batches.size(), e.what());
    for (auto& rp : promises)
      rp.deliver(caf::make_error(caf::sec::runtime_error, e.what()));
  }
}

// Writes the rest once enough has gathered (or `force`): each commit costs the pages it
// dirties, so fewer, larger transactions write far less. Intents queued before are
// committed first, so an outcome never reaches the store before its intent.
void commit_lazy(gateway_ptr self, bool force) {
  auto& st = self->state;
  commit_intents(self);
  if (st.lazy.empty())
    return;
  auto now = std::chrono::steady_clock::now();
  if (!force && st.lazy_rows < 20000 && now - st.last_lazy_commit < st.lazy_commit)
    return;
  auto batches = std::move(st.lazy);
  st.lazy.clear();
  st.lazy_rows = 0;
  st.last_lazy_commit = now;
  try {
    auto results = st.store->apply_many(batches);
    st.batches += batches.size();
    for (std::size_t i = 0; i < results.size(); ++i)
      if (results[i].stale_epoch)
        spdlog::error("event=store_writes_rejected shard={} epoch={} reason=\"stale lease "
                      "epoch: another owner holds the shard\"",
                      batches[i].shard, batches[i].epoch);
  } catch (const std::exception& e) {
    spdlog::error("event=store_apply_failed batches={} error=\"{}\"", batches.size(), e.what());
  }
}

}  // namespace

store_actor::behavior_type
store_gateway(store_actor::stateful_pointer<store_gateway_state> self,
              std::shared_ptr<storage::store> store, std::chrono::milliseconds lazy_commit) {
  return store_gateway_with_backlog(self, std::move(store), lazy_commit, nullptr);
}

store_actor::behavior_type
store_gateway_with_backlog(store_actor::stateful_pointer<store_gateway_state> self,
                           std::shared_ptr<storage::store> store,
                           std::chrono::milliseconds lazy_commit,
                           std::atomic<std::uint64_t>* backlog) {
  self->state.store = std::move(store);
  self->state.lazy_commit = lazy_commit;
  self->state.backlog = backlog;
  return {
    // Group commit: intents queue up while more messages wait and are written in one
    // transaction when the mailbox runs dry; the rest of a batch waits for a larger one.
    [=](atom::apply, storage::write_batch& b) -> caf::result<storage::batch_result> {
      auto& st = self->state;
      storage::write_batch intents;
      intents.shard = b.shard;
      intents.epoch = b.epoch;
      intents.intents = std::move(b.intents);
      b.intents.clear();
      if (!b.empty()) {
        st.lazy_rows += row_count(b);
        st.lazy.push_back(std::move(b));
      }
      caf::result<storage::batch_result> answer = storage::batch_result{};
      if (!intents.intents.empty()) {
        auto rp = self->make_response_promise<storage::batch_result>();
        st.queue.push_back(std::move(intents));
        st.promises.push_back(rp);
        answer = rp;
      }
      if (self->mailbox().empty() || st.queue.size() >= 256) {
        commit_intents(self);
        commit_lazy(self, st.lazy_commit.count() == 0);
      }
      if (st.backlog)
        st.backlog->store(st.lazy_rows + st.queue.size() + self->mailbox().size(),
                          std::memory_order_relaxed);
      return answer;
    },
    [=](atom::meta, const std::string& key, const std::string& value) {
      commit_lazy(self, false);
      try {
        self->state.store->put_meta(key, value);
      } catch (const std::exception& e) {
        spdlog::error("event=store_meta_failed key={} error=\"{}\"", key, e.what());
      }
    },
    [=](atom::load, mailbox_id m, day_number day) -> caf::result<day_seed> {
      commit_lazy(self, true);
      try {
        day_seed seed;
        for (auto& row : self->state.store->intents(m, day, day))
          seed.used_slots.push_back(row.intent.key.slot);
        if (auto stored = self->state.store->plan(m, day))
          seed.plan = std::move(stored->slot_times);
        return seed;
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [=](atom::status) -> caf::result<std::vector<mailbox_state_row>> {
      commit_lazy(self, true);
      try {
        storage::mailbox_filter all;
        all.include_removed = true;
        std::vector<mailbox_state_row> rows;
        for (auto& r : self->state.store->list_mailboxes(all))
          rows.push_back({r.settings.id, r.settings.state});
        return rows;
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [=](atom::flush) {
      commit_lazy(self, true);
      return true;
    },
  };
}

// -- sandbox transport --------------------------------------------------------------

transport_actor::behavior_type
sandbox_transport(transport_actor::stateful_pointer<sandbox_transport_state> self,
                  const engine_context* ctx, std::shared_ptr<sandbox::network> net) {
  self->state.ctx = ctx;
  self->state.net = std::move(net);
  return {
    [=](atom::send, const outgoing_mail& out) {
      auto& st = self->state;
      sandbox::mail m;
      m.from = out.from;
      m.to = out.to;
      m.message_id = out.message.message_id;
      m.in_reply_to = out.message.in_reply_to;
      m.thread = out.message.thread;
      m.turn = std::max(0, out.message.turn - 1);
      auto d = st.net->deliver(m, st.ctx->clock.now());
      if (out.cc != no_mailbox && d.status == sandbox::delivery_status::accepted) {
        m.to = out.cc;
        st.net->deliver(m, st.ctx->clock.now());
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
    },
    [=](atom::process, const receive_task& t) {
      auto& st = self->state;
      auto now = st.ctx->clock.now();
      receive_result r;
      auto where = st.net->find(t.recipient, t.message_id);
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
        r.rescued = st.net->rescue(t.recipient, t.message_id, now);
      sandbox::flags f;
      f.read = t.engagement.read;
      f.important = t.engagement.important;
      f.starred = t.engagement.star;
      st.net->set_flags(t.recipient, t.message_id, f, now);
      // Filed so it never clutters the inbox; left in spam when not rescued.
      if (where != sandbox::folder::spam || r.rescued)
        r.filed = st.net->file(t.recipient, t.message_id, now);
      return r;
    },
  };
}

// -- directory ----------------------------------------------------------------------

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self, const engine_context* ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  st.peers = peer_directory(ctx->cfg.peers);
  st.draws = rng(seed_of(ctx->cfg.sandbox.seed, 0x70656572));
  for (auto& m : ctx->mailboxes) {
    if (m.id == no_mailbox || m.state == mailbox_state::removed)
      continue;
    peer_member pm;
    pm.id = m.id;
    pm.email = m.email;
    pm.provider = m.provider;
    pm.organisation = m.organisation;
    pm.daily_limit = m.ramp.ceiling;
    pm.active = m.state != mailbox_state::paused && m.state != mailbox_state::disconnected;
    st.peers.upsert(pm);
  }
  auto shard_count = static_cast<std::uint32_t>(ctx->cfg.node.shard_count);
  return {
    [=](atom::peers, mailbox_id sender, std::int32_t n, day_number day) {
      auto& s = self->state;
      if (day != s.day) {
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
      return picks;
    },
    [=](atom::record, mailbox_id from, mailbox_id to) { self->state.peers.record(from, to); },
    [=](atom::upsert, mailbox_id m, std::int32_t limit, bool active) {
      auto& s = self->state;
      s.peers.set_daily_limit(m, std::max(1, static_cast<int>(limit)));
      s.peers.set_active(m, active);
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

// Pause / resume / removal done with the CLI while the node runs reach the mailbox actors
// here. A mailbox added while the node runs joins at the next start.
void apply_user_states(caf::stateful_actor<ticker_state>* self,
                       const std::vector<mailbox_state_row>& rows) {
  auto& st = self->state;
  auto shard_count = static_cast<std::uint32_t>(st.ctx->shards.size());
  for (auto& row : rows) {
    const auto* m = st.ctx->mailbox(row.id);
    if (m == nullptr) {
      if (st.known.emplace(row.id, row.state).second)
        spdlog::warn("event=mailbox_added_while_running mailbox={} note=\"it joins the pool "
                     "at the next start of the node\"",
                     row.id);
      continue;
    }
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
        st.done.deliver(st.steps);
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
    // Run until engine time `until`; answers the number of steps taken.
    [=](atom::start, time_ms until) {
      auto& st = self->state;
      st.until = until;
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
