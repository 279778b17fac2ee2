// shard.cpp: shard supervision, the due-time heap, routing, and epoch-fenced write
// batching (group commit: a batch leaves when intents wait, when it is large, or when the
// shard's mailbox is empty).
#include "actors/shard.hpp"

#include "warmup/calendar.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>

namespace warmup {

namespace {

using self_ptr = shard_actor::stateful_pointer<shard_state>;

template <class T>
void append(std::vector<T>& to, std::vector<T>& from) {
  if (to.empty()) {
    to = std::move(from);
  } else {
    to.reserve(to.size() + from.size());
    std::move(from.begin(), from.end(), std::back_inserter(to));
  }
}

std::size_t rows(const storage::write_batch& b) {
  return b.intents.size() + b.outcomes.size() + b.registry.size() + b.placements.size()
         + b.stats.size() + b.ramps.size() + b.plans.size();
}

void publish_next_due(self_ptr self) {
  auto& st = self->state;
  while (!st.heap.empty()) {
    auto [t, i] = st.heap.top();
    if (st.due[i] == t)
      break;
    st.heap.pop();  // stale entry: the mailbox rescheduled since
  }
  if (st.ctx->shard_next_due)
    st.ctx->shard_next_due[st.id].store(st.heap.empty() ? -1 : st.heap.top().first,
                                        std::memory_order_release);
}

void finish_stop_if_done(self_ptr self);
void finish_drain(self_ptr self);

std::size_t waiting_intents(const shard_state& s) {
  std::size_t n = 0;
  for (const auto& w : s.waiting)
    n += w.count;
  return n;
}

void flush(self_ptr self, bool force);

// Answers `count` intents of `mailbox` with `a`.
void answer_all(self_ptr self, const mailbox_actor& mailbox, std::size_t count,
                intent_answer a) {
  if (count > 0 && mailbox)
    self->send(mailbox, atom::intent::value, std::vector<intent_answer>(count, a));
}

void fail_waiting(self_ptr self, std::vector<shard_state::awaited_intents>& waiting) {
  for (auto& w : waiting)
    answer_all(self, w.mailbox, w.count, intent_answer::not_written);
  waiting.clear();
}

void fail_waiting(self_ptr self) {
  fail_waiting(self, self->state.waiting);
}

void lose_lease(self_ptr self, const char* why) {
  auto& st = self->state;
  if (st.stopped)
    return;
  // Nothing of this shard is written any more: what waits is dropped (never durable, so
  // never sent), and the gateway refuses the shard's later batches.
  if (st.ctx->shard_lease_lost)
    st.ctx->shard_lease_lost[st.id].store(true, std::memory_order_release);
  spdlog::error("event=shard_lease_lost shard={} epoch={} action=stopped reason=\"{}\"", st.id,
                st.epoch, why);
  st.stopped = true;
  st.stopping = true;
  fail_waiting(self);
  st.held.clear();
  st.pending = {};
  st.stats_rows.clear();
  st.pending_rows = 0;
  for (auto& c : st.children)
    if (c.handle)
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
}

void flush(self_ptr self, bool force) {
  auto& st = self->state;
  if (st.flushing || st.pending.empty())
    return;
  // Rows nobody waits for (outcomes, registry, placements, counters) ride along with the
  // next intent flush or the shard's next tick: one batch per tick instead of one per
  // event keeps the gateway's messages and transactions few.
  // Intents leave once every mailbox this shard woke has reported: one batch (and one
  // store round trip) per tick rather than one per sending mailbox.
  if (!force && (st.waiting.empty() || st.awaiting_reports > 0)
      && st.pending_rows < static_cast<std::size_t>(st.ctx->cfg.store.batch_max))
    return;
  st.flushing = true;
  auto batch = std::move(st.pending);
  st.pending = {};
  st.stats_rows.clear();
  st.pending_rows = 0;
  batch.shard = st.id;
  batch.epoch = st.epoch;
  st.intents_committing = waiting_intents(st);
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  std::vector<slot_key> keys;
  keys.reserve(batch.intents.size());
  for (const auto& in : batch.intents)
    keys.push_back(in.key);
  st.ctx->tracker->begin();
  self->request(st.ctx->store, caf::infinite, atom::apply::value, std::move(batch))
    .then(
      [=](const storage::batch_result& r) mutable {
        auto& s = self->state;
        s.flushing = false;
        s.intents_committing = 0;
        if (r.stale_epoch) {
          fail_waiting(self, waiting);
          lose_lease(self, "stale lease epoch: another owner holds the shard");
        } else {
          for (auto& w : waiting) {
            std::vector<intent_answer> answers;
            answers.reserve(w.count);
            for (auto idx = w.first; idx < w.first + w.count; ++idx) {
              const bool fresh = idx < r.intent_inserted.size() && r.intent_inserted[idx];
              if (fresh && idx < keys.size())
                s.in_flight.insert(keys[idx]);
              answers.push_back(fresh ? intent_answer::durable : intent_answer::existed);
            }
            self->send(w.mailbox, atom::intent::value, std::move(answers));
          }
        }
        flush(self, s.stopping);
        if (s.draining && s.drained())
          finish_drain(self);
        finish_stop_if_done(self);
        s.ctx->tracker->end();
      },
      [=](caf::error& err) mutable {
        auto& s = self->state;
        s.flushing = false;
        s.intents_committing = 0;
        spdlog::error("event=store_write_failed shard={} epoch={} error=\"{}\"", s.id, s.epoch,
                      to_string(err));
        fail_waiting(self, waiting);
        flush(self, s.stopping);
        if (s.draining && s.drained())
          finish_drain(self);
        finish_stop_if_done(self);
        s.ctx->tracker->end();
      });
}

// The second half of a clean stop, once no send is in flight (or the drain timed out):
// the mailboxes go, the last rows are written.
void finish_drain(self_ptr self) {
  auto& s = self->state;
  if (!s.draining)
    return;
  s.draining = false;
  if (!s.drained())
    spdlog::warn("event=shard_stop_in_flight shard={} sends={} intents_at_store={} "
                 "note=\"their intents stay pending and are marked skipped at the next start, "
                 "never resent\"",
                 s.id, s.in_flight.size(), s.intents_committing + waiting_intents(s));
  for (auto& c : s.children)
    if (c.handle)
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  flush(self, true);
  finish_stop_if_done(self);
}

// The stop is answered once the drain is over and its last rows are at the store: the
// node flushes the store and ends the shard on that answer, so anything the shard still
// expected (an outcome of a send in flight) would come too late and be lost.
void finish_stop_if_done(self_ptr self) {
  auto& st = self->state;
  if (!st.stopping || st.draining || st.flushing || !st.pending.empty()
      || st.stop_promises.empty())
    return;
  for (auto& rp : st.stop_promises)
    rp.deliver(!st.stopped);
  st.stop_promises.clear();
}

void spawn_child(self_ptr self, std::uint32_t i, mailbox_seed seed) {
  auto& st = self->state;
  auto& c = st.children[i];
  if (auto e = st.edited.find(i); e != st.edited.end()) {
    seed.settings = e->second.get();   // a restart keeps what the user edited
    seed.edited = e->second;
  }
  // Linked: a shard that goes takes its mailboxes with it (no orphan holds a handle that
  // would hang shutdown), and a mailbox that goes sends its shard an exit message, which
  // restarts it after a crash. Not also monitored: the link already says when and why it
  // went, and a monitor would cost another attachable (~48 B) per mailbox.
  c.handle = self->spawn<mailbox_actor_impl, caf::linked>(
    st.ctx, caf::actor_cast<shard_actor>(self), i, std::move(seed));
  c.restarting = false;
}

// Child `i` reported after its wake (or went): its intents are all in.
void report_back(self_ptr self, std::uint32_t i) {
  auto& st = self->state;
  if (i < st.woken.size() && st.woken[i]) {
    st.woken[i] = false;
    --st.awaiting_reports;
  }
}

// Adds counters to the pending batch, one row per (mailbox, day) however many deltas.
void add_stats(self_ptr self, const storage::stats_delta& d) {
  auto& s = self->state;
  auto key = (static_cast<std::uint64_t>(d.mailbox) << 32)
             | static_cast<std::uint32_t>(d.delta.day);
  auto [it, fresh] = s.stats_rows.emplace(key, s.pending.stats.size());
  if (fresh) {
    s.pending.stats.push_back(d);
    ++s.pending_rows;
  } else {
    s.pending.stats[it->second].delta += d.delta;
  }
}

void set_due(self_ptr self, std::uint32_t i, time_ms t) {
  auto& st = self->state;
  st.due[i] = t;
  if (t >= 0)
    st.heap.emplace(t, i);
}

// Child `i` must be woken at `t` at the latest (mail held for it): its due time moves
// earlier, never later.
void due_by(self_ptr self, std::uint32_t i, time_ms t) {
  auto& st = self->state;
  if (t < 0 || (st.due[i] >= 0 && st.due[i] <= t))
    return;
  set_due(self, i, t);
  publish_next_due(self);
}

// Mailbox actor `source` is gone (its link's exit message): forget its handle and, when
// it crashed, restart it with capped exponential backoff (wall time).
void child_gone(self_ptr self, const caf::actor_addr& source, const caf::error& reason) {
  auto& s = self->state;
  // Crashes are rare: a linear search spares every mailbox an address map entry.
  auto found = std::find_if(s.children.begin(), s.children.end(), [&](const auto& ch) {
    return ch.handle && ch.handle.address() == source;
  });
  if (found == s.children.end())
    return;
  auto i = static_cast<std::uint32_t>(found - s.children.begin());
  auto& c = s.children[i];
  c.handle = nullptr;
  report_back(self, i);   // a wake it never answered must not hold the tick's intents
  if (s.stopping || reason == caf::exit_reason::normal
      || reason == caf::exit_reason::user_shutdown)
    return;
  ++s.restarts;
  ++c.restarts;
  c.restarting = true;
  auto backoff = std::chrono::milliseconds(
    std::min<std::int64_t>(30'000, 100LL << std::min<std::uint32_t>(c.restarts, 8)));
  spdlog::warn("event=mailbox_crashed shard={} mailbox={} email={} reason=\"{}\" "
               "restart_in_ms={}",
               s.id, c.settings->id, c.settings->email, to_string(reason), backoff.count());
  self->delayed_send(self, backoff, atom::restart::value, i);
}

}  // namespace

shard_actor::behavior_type shard(shard_actor::stateful_pointer<shard_state> self,
                                 const engine_context* ctx, shard_id id, epoch_t epoch,
                                 std::vector<mailbox_seed> seeds) {
  auto& st = self->state;
  st.ctx = ctx;
  st.id = id;
  st.epoch = epoch;
  st.children.resize(seeds.size());
  st.due.assign(seeds.size(), -1);
  st.woken.assign(seeds.size(), false);
  // Exact capacities up front: grown by doubling they kept up to twice the bytes per
  // mailbox (the heap grows again later only when stale entries pile up).
  st.index.reserve(seeds.size());
  {
    std::vector<shard_state::due_entry> entries;
    entries.reserve(seeds.size());
    st.heap = decltype(st.heap){std::greater<>{}, std::move(entries)};
  }
  auto first_wake = ctx->clock.now();
  for (std::uint32_t i = 0; i < seeds.size(); ++i) {
    auto& c = st.children[i];
    c.settings = seeds[i].settings;
    c.ramp = seeds[i].ramp;
    c.state = seeds[i].state;
    st.index.emplace_back(c.settings->id, i);
    spawn_child(self, i, std::move(seeds[i]));
    set_due(self, i, first_wake);  // the first wake plans the day
  }
  std::sort(st.index.begin(), st.index.end());
  publish_next_due(self);
  // A mailbox's exit (it crashed, or was stopped) arrives here through its link: a crash
  // is restarted with backoff. Beyond that, a crashing child's exit is not ours to share;
  // a shutdown or kill stops the shard and, through the links, its children.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    child_gone(self, msg.source, msg.reason);
    if (msg.reason == caf::exit_reason::user_shutdown || msg.reason == caf::exit_reason::kill)
      self->quit(msg.reason);
  });
  return {
    [=](atom::tick, time_ms now) {
      auto& s = self->state;
      if (s.draining) {
        // Only the drain's own deadline (now = -1) ends it; a tick the ticker sent before
        // it stopped may still arrive and must not cut the drain short.
        if (now < 0) {
          finish_drain(self);   // (sent by the shard itself: no tracked work to end)
        } else {
          flush(self, true);
          s.ctx->tracker->end();
        }
        return;
      }
      if (!s.stopped && s.ctx->shard_lease_lost
          && s.ctx->shard_lease_lost[s.id].load(std::memory_order_acquire))
        lose_lease(self, "lease lost: a renewal was refused or a write rejected as stale");
      if (!s.stopped) {
        while (!s.heap.empty() && s.heap.top().first <= now) {
          auto [t, i] = s.heap.top();
          s.heap.pop();
          if (s.due[i] != t || !s.children[i].handle)
            continue;
          s.due[i] = -1;
          if (!s.woken[i]) {
            s.woken[i] = true;
            ++s.awaiting_reports;
          }
          wake_bundle bundle;
          if (auto h = s.held.find(i); h != s.held.end()) {
            bundle = std::move(h->second);
            s.held.erase(h);
          }
          s.ctx->tracker->begin();
          self->send(s.children[i].handle, atom::wake::value, now, std::move(bundle));
        }
        publish_next_due(self);
        flush(self, true);
      }
      s.ctx->tracker->end();
    },
    [=](atom::expect, incoming_mail& mail) {
      auto& s = self->state;
      auto i = s.find(mail.to);
      // Held also while the recipient's actor restarts: the new actor gets it.
      if (i >= 0 && !s.stopped) {
        auto idx = static_cast<std::uint32_t>(i);
        auto h = receive_plan(*s.children[idx].settings, std::move(mail));
        auto at = h.process_at;
        s.held[idx].mail.push_back(std::move(h));
        due_by(self, idx, at);
      }
      s.ctx->tracker->end();  // the wake that delivers it is work of its own
      flush(self, false);
    },
    [=](atom::placed, const placement_report& rep) {
      auto& s = self->state;
      auto i = s.find(rep.sender);
      if (i >= 0 && !s.stopped) {
        // The day's counters are the shard's to write; the mailbox keeps its history.
        day_stats d;
        d.day = rep.send_day;
        switch (static_cast<storage::placement>(rep.where)) {
          case storage::placement::inbox:
            d.inbox = 1;
            break;
          case storage::placement::spam:
            d.spam = 1;
            break;
          default:
            d.missing = 1;
            break;
        }
        add_stats(self, {rep.sender, d});
      }
      // The sender's history needs it by the end of its day, and the sender is woken at
      // that end anyway: no wake of its own.
      if (i >= 0 && !s.stopped)
        s.held[static_cast<std::uint32_t>(i)].placed.push_back(rep);
      s.ctx->tracker->end();
      flush(self, false);
    },
    [=](atom::pause, mailbox_id m) {
      auto& s = self->state;
      auto i = s.find(m);
      if (i >= 0 && s.children[i].handle)
        self->send(s.children[i].handle, atom::pause::value);
    },
    [=](atom::resume, mailbox_id m) {
      auto& s = self->state;
      auto i = s.find(m);
      if (i >= 0 && s.children[i].handle)
        self->send(s.children[i].handle, atom::resume::value);
    },
    [=](atom::write, storage::write_batch& b, std::vector<storage::send_intent>& intents,
        std::uint32_t local, time_ms due, std::uint32_t wakes) {
      auto& s = self->state;
      if (!intents.empty()) {
        auto mailbox = caf::actor_cast<mailbox_actor>(self->current_sender());
        if (s.stopped || s.stopping || !mailbox) {
          // No new send starts once the shard stops.
          answer_all(self, mailbox, intents.size(), intent_answer::not_written);
        } else {
          // Intents keep their order: the answers refer to their places.
          s.waiting.push_back({std::move(mailbox), s.pending.intents.size(), intents.size()});
          s.pending_rows += intents.size();
          append(s.pending.intents, intents);
        }
      }
      if (wakes > 0)
        report_back(self, local);
      if (due != due_unchanged && local < s.due.size()) {
        // Mail held for it may need the mailbox earlier than it knows.
        auto held = s.held_due(local);
        if (held >= 0 && (due < 0 || held < due))
          due = held;
        if (s.due[local] != due) {
          set_due(self, local, due);
          publish_next_due(self);
        }
      }
      if (!s.stopped) {
        for (auto& r : b.ramps) {
          auto i = s.find(r.mailbox);
          if (i >= 0) {
            s.children[i].ramp = r.ramp;
            s.children[i].state = r.state;
          }
        }
        s.pending_rows += rows(b);
        for (const auto& o : b.outcomes)
          s.in_flight.erase(o.key);
        append(s.pending.outcomes, b.outcomes);
        // Intents recorded with a skipped outcome (nobody waits on them).
        append(s.pending.intents, b.intents);
        append(s.pending.registry, b.registry);
        append(s.pending.placements, b.placements);
        s.pending_rows -= b.stats.size();   // add_stats counts the rows it adds
        for (auto& d : b.stats)
          add_stats(self, d);
        append(s.pending.ramps, b.ramps);
        append(s.pending.plans, b.plans);
        flush(self, s.stopping);   // a stopping shard writes what still comes at once
        if (s.draining && s.drained())
          finish_drain(self);
      }
      s.ctx->tracker->end();
    },
    [=](atom::restart, std::uint32_t i) {
      auto& s = self->state;
      if (s.stopping || i >= s.children.size() || s.children[i].handle)
        return;
      auto& c = s.children[i];
      // The restarted actor must know which of today's slots already have an intent.
      auto day = local_day(s.ctx->clock.now(), c.settings->timezone);
      mailbox_seed seed{c.settings, c.ramp, c.state, day, {}, {}};
      self->request(s.ctx->store, std::chrono::seconds(30), atom::load::value, c.settings->id,
                    day)
        .then(
          [=](const day_seed& loaded) mutable {
            auto& s2 = self->state;
            seed.used_slots = loaded.used_slots;
            seed.used_plan = loaded.plan;
            spawn_child(self, i, std::move(seed));
            set_due(self, i, s2.ctx->clock.now());
            publish_next_due(self);
          },
          [=](caf::error&) mutable {
            // The store did not answer: try again later rather than risk a resend.
            self->delayed_send(self, std::chrono::seconds(5), atom::restart::value, i);
          });
    },
    [=](atom::status) {
      auto& s = self->state;
      shard_view v;
      v.shard = s.id;
      v.epoch = s.epoch;
      v.mailboxes = static_cast<std::uint32_t>(s.children.size());
      for (auto& c : s.children) {
        auto k = c.restarting ? mailbox_state::restarting : c.state;
        v.by_state[static_cast<std::size_t>(k)]++;
      }
      v.restarts = s.restarts;
      v.queued_writes = s.pending_rows;
      v.heap_size = s.heap.size();
      v.stopped = s.stopped;
      // Only the owner may look at its mailbox (size() moves messages between queues).
      v.mailbox_queue = self->mailbox().size();
      return v;
    },
    [=](atom::members) {
      auto& s = self->state;
      std::vector<shard_member> out;
      out.reserve(s.children.size());
      for (std::size_t i = 0; i < s.children.size(); ++i) {
        auto& c = s.children[i];
        out.push_back({c.settings->id, c.settings->email,
                       c.restarting ? mailbox_state::restarting : c.state, c.restarts,
                       s.due[i]});
      }
      return out;
    },
    [=](atom::detail, mailbox_id m) -> caf::result<mailbox_detail> {
      auto& s = self->state;
      auto i = s.find(m);
      if (i < 0)
        return caf::make_error(caf::sec::invalid_argument, "mailbox not on this shard");
      if (!s.children[i].handle)
        return caf::make_error(caf::sec::request_receiver_down, "mailbox actor restarting");
      // The mail held here for the mailbox is part of what it has received and waits to
      // engage with, and may wake it before the time it knows of.
      auto idx = static_cast<std::uint32_t>(i);
      auto rp = self->make_response_promise<mailbox_detail>();
      self->request(s.children[idx].handle, std::chrono::seconds(5), atom::detail::value)
        .then(
          [=](mailbox_detail& d) mutable {
            auto& s2 = self->state;
            if (auto h = s2.held.find(idx); h != s2.held.end())
              d.inbound_waiting += static_cast<std::uint32_t>(h->second.mail.size());
            auto held = s2.held_due(idx);
            if (held >= 0 && (d.view.next_due < 0 || held < d.view.next_due))
              d.view.next_due = held;
            rp.deliver(std::move(d));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](atom::stop) -> caf::result<bool> {
      auto& s = self->state;
      // No new send starts (intents are refused from here on); the ones in flight finish
      // and record their outcomes first, so a clean stop leaves no pending intent.
      s.stopping = true;
      auto rp = self->make_response_promise<bool>();
      s.stop_promises.push_back(rp);
      if (s.draining)
        return rp;
      s.draining = true;
      // An intent still on its way to the store counts as in flight: once durable, its
      // mailbox sends it, and its outcome must be written before the mailboxes go.
      flush(self, true);
      if (s.drained()) {
        finish_drain(self);
      } else {
        constexpr auto stop_drain = std::chrono::seconds(10);
        self->delayed_send(self, stop_drain, atom::tick::value, time_ms{-1});
      }
      return rp;
    },
    [=](atom::add, const joining_mailbox& j) {
      auto& s = self->state;
      if (s.stopping || s.stopped || j.settings == nullptr || s.find(j.settings->id) >= 0)
        return;
      const auto i = static_cast<std::uint32_t>(s.children.size());
      s.children.emplace_back();
      s.due.push_back(-1);
      s.woken.push_back(false);
      auto& c = s.children[i];
      c.settings = j.settings;
      c.ramp = j.ramp;
      c.state = j.state;
      const std::pair<mailbox_id, std::uint32_t> entry{j.settings->id, i};
      s.index.insert(std::lower_bound(s.index.begin(), s.index.end(), entry), entry);
      spawn_child(self, i, mailbox_seed{j.settings, j.ramp, j.state, 0, {}, {}});
      set_due(self, i, s.ctx->clock.now());   // the first wake plans the rest of its day
      publish_next_due(self);
      spdlog::info("event=mailbox_joined shard={} mailbox={} email={} state={}", s.id,
                   j.settings->id, j.settings->email, to_string(j.state));
    },
    [=](atom::settings, const std::shared_ptr<const mailbox_settings>& edited) {
      auto& s = self->state;
      if (!edited)
        return;
      auto i = s.find(edited->id);
      if (i < 0)
        return;
      auto& c = s.children[static_cast<std::size_t>(i)];
      s.edited[static_cast<std::uint32_t>(i)] = edited;
      c.settings = edited.get();   // receipts' engagement (receive_plan), restarts, views
      if (c.handle)
        self->send(c.handle, atom::settings::value, edited);
    },
  };
}

}  // namespace warmup
