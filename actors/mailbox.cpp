// mailbox.cpp: the mailbox actor applies the domain (planner, content, engagement, ramp,
// health) to one mailbox; all I/O goes through its shard (writes), the transport and the
// directory, by message.
#include "actors/mailbox.hpp"

#include "actors/services.hpp"

#include "warmup/calendar.hpp"
#include "warmup/content.hpp"
#include "warmup/engagement.hpp"
#include "warmup/health.hpp"
#include "warmup/planner.hpp"
#include "warmup/random.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace warmup {

namespace {

using state_t = mailbox_actor_state;
using self_ptr = mailbox_actor_impl*;
constexpr time_ms never = std::numeric_limits<time_ms>::max();

bool sends_allowed(const state_t& st) {
  return st.state == mailbox_state::active || st.state == mailbox_state::throttled;
}

state_t::history_day& history_for(state_t& st, day_number d) {
  auto& h = st.history[static_cast<std::size_t>(d) % st.history.size()];
  if (h.day != d)
    h = state_t::history_day{d};
  return h;
}

std::size_t planned_count(const state_t& st) {
  std::size_t n = 0;
  for (auto& s : st.slots)
    if (s.status != state_t::slot_status::dropped)
      ++n;
  return n;
}

// What one activation of a mailbox actor writes and reschedules. It leaves as ONE message
// to the shard when the activation ends (mailbox_actor_impl::resume), after every intent
// request the activation sent: a send used to cost a write and a schedule message each,
// and the shard knows a woken mailbox is done (its intents are all in) when this arrives.
// Thread-local: an activation runs on one thread, one actor at a time.
struct activation_outbox {
  storage::write_batch writes;
  // Send intents the activation waits on, in the order of state.awaiting: they ride with
  // the writes (one message, not a request each), and the shard answers them together.
  std::vector<storage::send_intent> intents;
  bool due_changed = false;   // state.scheduled changed: the shard must hear it
  std::uint32_t wakes = 0;    // wake messages handled
  // Set when the actor quit during this activation (its state is gone by the epilogue):
  // the writes its earlier handlers made still reach the shard.
  shard_actor quit_shard;
  std::uint32_t quit_local = 0;
};
thread_local activation_outbox outbox;

void emit(self_ptr, storage::write_batch&& b) {
  storage::append(outbox.writes, std::move(b));
}

// The wake time the shard keeps for this mailbox; sent with the activation's writes.
void schedule_at(self_ptr self, time_ms t) {
  self->state.scheduled = t;
  outbox.due_changed = true;
}

std::uint16_t bump(std::uint16_t v) {
  return v == std::numeric_limits<std::uint16_t>::max() ? v : static_cast<std::uint16_t>(v + 1);
}

// The engine-visible state derived from the ramp (health) and the user's choice.
mailbox_state derived_state(const state_t& st) {
  if (st.state == mailbox_state::paused || st.state == mailbox_state::disconnected
      || st.state == mailbox_state::removed)
    return st.state;
  // A pause by the health bands is the engine's throttle at its strongest, not the
  // user's pause: only the user's choices read `paused` in the store.
  if (st.ramp.paused_by_health)
    return mailbox_state::throttled;
  if (st.ramp.band == health_band::throttle || st.ramp.throttle_percent < 100)
    return mailbox_state::throttled;
  return mailbox_state::active;
}

void reschedule(self_ptr self) {
  auto& st = self->state;
  time_ms next = st.day_end > 0 ? st.day_end : never;
  if (sends_allowed(st)) {
    for (auto& s : st.slots)
      if (s.status == state_t::slot_status::planned && s.to != no_mailbox)
        next = std::min(next, s.at);
    for (auto& in : st.inbound) {
      if (in.stage == state_t::inbound_stage::waiting)
        next = std::min(next, in.process_at);
      else if (in.stage == state_t::inbound_stage::reply_due)
        next = std::min(next, in.reply_at);
    }
  }
  if (next == never)
    next = -1;
  if (next != st.scheduled)
    schedule_at(self, next);
}

void record_outcome(self_ptr self, const slot_key& key, storage::intent_status status,
                    const std::string& detail) {
  storage::write_batch b;
  b.outcomes.push_back({key, status, self->state.ctx->clock.now(), detail});
  emit(self, std::move(b));
}

// Records a slot that will not be sent (late, or engine down at its time): an intent
// (insert-or-ignore, so a real earlier intent wins) plus a `skipped` outcome.
void skip_slot(self_ptr self, std::uint32_t index, const char* why) {
  auto& st = self->state;
  auto& s = st.slots[index];
  s.status = state_t::slot_status::skipped;
  slot_key key{st.settings->id, st.day, index};
  storage::write_batch b;
  b.intents.push_back({key, s.to, std::string{}, s.at, st.ctx->clock.now()});
  b.outcomes.push_back({key, storage::intent_status::skipped, st.ctx->clock.now(), why});
  day_stats d;
  d.day = st.day;
  d.skipped = 1;
  b.stats.push_back({st.settings->id, d});
  emit(self, std::move(b));
  st.ctx->counters.skipped++;
}

void set_state(self_ptr self, mailbox_state s) {
  auto& st = self->state;
  st.state = s;
  storage::write_batch b;
  b.ramps.push_back({st.settings->id, st.ramp, derived_state(st)});
  emit(self, std::move(b));
}

// Folds the finished local day into the ramp (advance / throttle / pause).
void finish_day(self_ptr self) {
  auto& st = self->state;
  int sent = 0;
  for (auto& s : st.slots)
    if (s.status == state_t::slot_status::sent)
      ++sent;
  std::vector<day_stats> days;
  days.reserve(st.history.size());
  for (auto& h : st.history) {
    if (h.day == 0)
      continue;
    day_stats d;
    d.day = h.day;
    d.planned = h.planned;
    d.sent = h.sent;
    d.inbox = h.inbox;
    d.spam = h.spam;
    d.missing = h.missing;
    d.bounces = h.bounces;
    days.push_back(d);
  }
  auto report = assess_health(days, st.day, st.ctx->cfg.health);
  day_result r{st.day, static_cast<int>(planned_count(st)), sent};
  auto before = derived_state(st);
  st.ramp = end_of_day(st.settings->ramp, st.ramp, r, report, st.ctx->cfg.health);
  auto after = derived_state(st);
  storage::write_batch b;
  b.ramps.push_back({st.settings->id, st.ramp, after});
  emit(self, std::move(b));
  if (before != after)
    spdlog::info("event=mailbox_state mailbox={} email={} from={} to={} band={} throttle={} "
                 "ramp_day={} day={}",
                 st.settings->id, st.settings->email, to_string(before), to_string(after),
                 to_string(st.ramp.band), st.ramp.throttle_percent, st.ramp.ramp_day,
                 format_day(st.day));
}

void request_peers(self_ptr self);

// Tells the directory how much mail this mailbox may receive a day. The inbound cap
// follows the ramp's volume, not today's target: a weekend factor or a throttle cuts what
// a mailbox sends, not what it can take in (caps of 1 on a Sunday left whole pools without
// an eligible peer).
void announce_inbound_cap(self_ptr self) {
  auto& st = self->state;
  self->send(st.ctx->directory, atom::upsert::value, st.settings->id,
             static_cast<std::int32_t>(base_volume(st.settings->ramp, st.ramp.ramp_day)),
             sends_allowed(st));
}

// Starts local day `d`: plans it, skips what is already too late, asks for recipients.
void start_day(self_ptr self, time_ms now, day_number d) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  const auto& tz = st.settings->timezone;
  st.day = d;
  st.day_end = local_midnight(d + 1, tz);
  st.slots.clear();
  st.peers_requested = false;
  // The actor's state decides, not the settings row's: that one keeps the state the node
  // started with (a mailbox resumed since would otherwise never plan again until a restart).
  auto settings = *st.settings;
  settings.state = st.state;
  auto plan = plan_day(settings, st.ramp, d);
  ctx.counters.plans++;
  st.target = sends_allowed(st) ? plan.target : 0;
  if (!sends_allowed(st))
    plan.slots.clear();
  // A restart continues a day planned before the crash: the slots that plan left out
  // stay out (a first day joined mid-day must not get them back as "missed"), and the
  // day's planned count is not added to its stats a second time.
  const auto* restart = st.restart.get();
  const std::vector<time_ms>* stored =
    restart && restart->day == d && restart->used_plan ? &*restart->used_plan : nullptr;
  // A mailbox that never finished a day joins its pool mid-day: the slots already past
  // are dropped (not part of its first day). Any other mailbox keeps every slot; those
  // missed while the engine was down are recorded as skipped below (honest history,
  // never sent late in a burst). Slot numbers stay the plan's, so keys never shift.
  bool joining = stored == nullptr && st.ramp.last_completed == 0 && st.ramp.ramp_day == 0
                 && (restart == nullptr || restart->used_slots.empty());
  st.slots.reserve(plan.slots.size());
  for (std::size_t k = 0; k < plan.slots.size(); ++k) {
    const auto& p = plan.slots[k];
    bool dropped = stored ? k < stored->size() && (*stored)[k] < 0
                          : joining && now - p.at > ctx.late_limit;
    st.slots.push_back({p.at, no_mailbox, no_mailbox,
                        dropped ? state_t::slot_status::dropped : state_t::slot_status::planned});
  }
  // Slots that already have an intent (restart after a crash) are never sent again.
  if (restart && restart->day == d) {
    for (auto i : restart->used_slots)
      if (i < st.slots.size())
        st.slots[i].status = state_t::slot_status::sent;
  }
  // Planned slots the day's stats already count (from the plan stored before a restart).
  std::size_t counted = 0;
  if (stored)
    counted = static_cast<std::size_t>(
      std::count_if(stored->begin(), stored->end(), [](time_ms t) { return t >= 0; }));
  st.restart.reset();   // only the first plan continues a restart (`stored` is gone)
  auto planned = planned_count(st);
  history_for(st, d).planned = static_cast<std::uint16_t>(planned);
  storage::write_batch b;
  storage::plan_record pr;
  pr.mailbox = st.settings->id;
  pr.day = d;
  pr.target = st.target;
  pr.slot_times.reserve(st.slots.size());
  for (auto& s : st.slots)  // -1: dropped, outside the plan (never overdue)
    pr.slot_times.push_back(s.status == state_t::slot_status::dropped ? -1 : s.at);
  b.plans.push_back(std::move(pr));
  if (planned > counted) {
    day_stats ds;
    ds.day = d;
    ds.planned = static_cast<std::uint32_t>(planned - counted);
    b.stats.push_back({st.settings->id, ds});
  }
  emit(self, std::move(b));
  for (std::uint32_t i = 0; i < st.slots.size(); ++i)
    if (st.slots[i].status == state_t::slot_status::planned
        && now - st.slots[i].at > ctx.late_limit)
      skip_slot(self, i, "engine not running at slot time");
  announce_inbound_cap(self);
  request_peers(self);
}

// Settings the user edited while the node runs (same mailbox). Today's plan stays as it
// was planned; the next one follows the new ramp, window and time zone; engagement (also
// decided by the shard for mail as it arrives) and the display name of what it sends
// apply at once. A new time zone moves the end of the current local day to that zone's
// midnight: a zone ahead ends the day at once, one behind lets the mailbox rest until its
// new local day passes the one already done.
void apply_settings(self_ptr self, std::shared_ptr<const mailbox_settings> edited) {
  auto& st = self->state;
  if (!edited || edited->id != st.settings->id)
    return;
  const auto& old = *st.settings;
  const bool ramp = old.ramp != edited->ramp;
  const bool zone = old.timezone != edited->timezone;
  std::string changed;
  auto note = [&](bool differs, const char* what) {
    if (differs)
      changed.append(changed.empty() ? "" : ",").append(what);
  };
  note(ramp, "ramp");
  note(old.window != edited->window, "window");
  note(zone, "timezone");
  note(old.engagement != edited->engagement, "engagement");
  note(old.display_name != edited->display_name, "display_name");
  st.settings = std::move(edited);   // `old` may be gone from here on
  if (changed.empty())
    return;
  if (zone && st.day != 0)
    st.day_end = local_midnight(st.day + 1, st.settings->timezone);
  if (ramp && st.day != 0)
    announce_inbound_cap(self);
  spdlog::info("event=mailbox_settings_applied mailbox={} email={} changed={} timezone={} "
               "ramp_start={} ramp_ceiling={}",
               st.settings->id, st.settings->email, changed, st.settings->timezone,
               st.settings->ramp.start, st.settings->ramp.ceiling);
  reschedule(self);
}

void send_due(self_ptr self, time_ms now);

void request_peers(self_ptr self) {
  auto& st = self->state;
  std::int32_t n = 0;
  for (auto& s : st.slots)
    if (s.status == state_t::slot_status::planned && s.to == no_mailbox)
      ++n;
  if (n == 0 || st.peers_requested)
    return;
  st.peers_requested = true;
  auto day = st.day;
  st.ctx->tracker->begin();
  self->request(st.ctx->directory, caf::infinite, atom::peers::value, st.settings->id, n,
                static_cast<day_number>(st.ctx->clock.now() / ms_per_day))
    .then(
      [=](const std::vector<peer_pick>& picks) {
        auto& s2 = self->state;
        if (s2.day == day) {
          std::size_t k = 0;
          for (std::uint32_t i = 0; i < s2.slots.size(); ++i) {
            auto& s = s2.slots[i];
            if (s.status != state_t::slot_status::planned || s.to != no_mailbox)
              continue;
            if (k < picks.size()) {
              s.to = picks[k].to;
              s.cc = picks[k].cc;
              ++k;
            } else {
              skip_slot(self, i, "no eligible peer in the pool");
            }
          }
          send_due(self, s2.ctx->clock.now());
          reschedule(self);
        }
        s2.ctx->tracker->end();
      },
      [=](caf::error&) {
        self->state.peers_requested = false;
        self->state.ctx->tracker->end();
      });
}

// Hands a composed message to the transport and records the outcome; `on_sent` runs
// after a successful send (notify recipients).
void transmit(self_ptr self, slot_key key, mail_message msg, mailbox_id to, mailbox_id cc,
              bool is_reply);

// Reports a send intent with this activation's writes; the message goes once the shard
// answers that the intent is durable (on_intent_answers).
void await_intent(self_ptr self, storage::send_intent intent, state_t::awaited_send send) {
  self->state.ctx->tracker->begin();   // ended when its answer is handled
  outbox.intents.push_back(std::move(intent));
  self->state.awaiting.push_back(std::move(send));
}

// The sandbox network, called directly, never reads a body: none is composed for it.
body_text body_for(const state_t& st) {
  return st.ctx->sandbox != nullptr ? body_text::omit : body_text::compose;
}

void start_send(self_ptr self, std::uint32_t index, time_ms now) {
  auto& st = self->state;
  auto& s = st.slots[index];
  const auto* to = st.ctx->mailbox(s.to);
  if (to == nullptr) {
    skip_slot(self, index, "recipient left the pool");
    return;
  }
  s.status = state_t::slot_status::in_flight;
  st.ctx->counters.send_lag.observe(now - s.at);
  slot_key key{st.settings->id, st.day, index};
  auto msg = compose_opener(seed_of(st.settings->id, static_cast<std::uint64_t>(st.day), index),
                            *st.settings, *to, now, body_for(st));
  if (const auto* cc = st.ctx->mailbox(s.cc))
    msg.cc.push_back(cc->email);
  // The intent first: the message moves into the awaited send.
  storage::send_intent intent{key, s.to, msg.message_id, s.at, now};
  await_intent(self, std::move(intent), {key, std::move(msg), s.to, s.cc, false});
}

void notify_recipient(self_ptr self, const mail_message& msg, mailbox_id to, day_number day) {
  auto& st = self->state;
  const auto* r = st.ctx->mailbox(to);
  if (r == nullptr)
    return;
  incoming_mail in;
  in.message_id = msg.message_id;
  in.from = st.settings->id;
  in.to = to;
  in.thread = msg.thread;
  in.turn = msg.turn;
  in.send_day = day;
  in.sent_at = msg.date;
  in.subject = msg.subject;
  in.references = msg.references;
  auto sh = shard_of(r->email, static_cast<std::uint32_t>(st.ctx->shards.size()));
  st.ctx->tracker->begin();
  self->send(st.ctx->shards[sh], atom::expect::value, std::move(in));
}

// What a send's result does to the mailbox: slot state, outcome, registry, counters,
// and the recipients told to expect the message.
void on_sent(self_ptr self, const slot_key& key, mail_message& msg, mailbox_id to,
             mailbox_id cc, bool is_reply, const send_result& res) {
  auto& s2 = self->state;
  auto& counters = s2.ctx->counters;
  auto now = s2.ctx->clock.now();
  storage::write_batch b;
  day_stats d;
  d.day = key.day;
  auto mark = [&](state_t::slot_status v) {
    if (!is_reply && key.day == s2.day && key.slot < s2.slots.size())
      s2.slots[key.slot].status = v;
  };
  switch (res.status) {
    case send_status::sent: {
      mark(state_t::slot_status::sent);
      b.outcomes.push_back({key, storage::intent_status::sent, now, {}});
      // The recipients first: the registry entry then takes the message's strings (the
      // message is not used after this).
      notify_recipient(self, msg, to, key.day);
      if (cc != no_mailbox)
        notify_recipient(self, msg, cc, key.day);
      storage::registry_entry e;
      e.message_id = std::move(msg.message_id);
      e.from = s2.settings->id;
      e.to = to;
      e.thread = msg.thread;
      e.turn = msg.turn;
      e.sent_at = msg.date;
      e.subject = std::move(msg.subject);
      e.in_reply_to = std::move(msg.in_reply_to);
      e.references = std::move(msg.references);
      b.registry.push_back(std::move(e));
      d.sent = 1;
      if (is_reply)
        d.replies = 1;
      auto& h = history_for(s2, key.day);
      h.sent = bump(h.sent);
      counters.sends++;
      if (is_reply) {
        counters.replies++;
        self->send(s2.ctx->directory, atom::record::value, s2.settings->id, to);
      }
      break;
    }
    case send_status::temporary_failure:
      mark(state_t::slot_status::failed);
      b.outcomes.push_back({key, storage::intent_status::failed, now, res.detail});
      d.skipped = 1;
      counters.send_failures++;
      break;
    case send_status::bounced: {
      mark(state_t::slot_status::failed);
      b.outcomes.push_back({key, storage::intent_status::bounced, now, res.detail});
      d.bounces = 1;
      auto& h = history_for(s2, key.day);
      h.bounces = bump(h.bounces);
      counters.bounces++;
      break;
    }
    case send_status::auth_failure:
      mark(state_t::slot_status::failed);
      b.outcomes.push_back({key, storage::intent_status::failed, now, res.detail});
      d.skipped = 1;
      counters.send_failures++;
      s2.state = mailbox_state::disconnected;
      b.ramps.push_back({s2.settings->id, s2.ramp, mailbox_state::disconnected});
      break;
  }
  b.stats.push_back({s2.settings->id, d});
  emit(self, std::move(b));
  reschedule(self);
}

void transmit(self_ptr self, slot_key key, mail_message msg, mailbox_id to, mailbox_id cc,
              bool is_reply) {
  auto& st = self->state;
  if (st.ctx->sandbox != nullptr) {
    auto res = sandbox_send(*st.ctx->sandbox, st.settings->id, to, cc, msg, st.ctx->clock.now());
    on_sent(self, key, msg, to, cc, is_reply, res);
    return;
  }
  outgoing_mail out{st.settings->id, to, cc, msg};
  st.ctx->tracker->begin();
  self->request(st.ctx->transport, caf::infinite, atom::send::value, std::move(out))
    .then(
      [=](const send_result& res) mutable {
        on_sent(self, key, msg, to, cc, is_reply, res);
        self->state.ctx->tracker->end();
      },
      [=](caf::error&) {
        auto& s2 = self->state;
        if (!is_reply && key.day == s2.day && key.slot < s2.slots.size())
          s2.slots[key.slot].status = state_t::slot_status::failed;
        record_outcome(self, key, storage::intent_status::failed, "transport unavailable");
        s2.ctx->tracker->end();
      });
}

void send_due(self_ptr self, time_ms now) {
  auto& st = self->state;
  if (!sends_allowed(st))
    return;
  for (std::uint32_t i = 0; i < st.slots.size(); ++i) {
    auto& s = st.slots[i];
    if (s.status != state_t::slot_status::planned || s.to == no_mailbox || s.at > now)
      continue;
    if (now - s.at > st.ctx->late_limit)
      skip_slot(self, i, "slot missed by more than the late limit");
    else
      start_send(self, i, now);
  }
}

// What a visit to a received message found, applied to the mailbox: placement reported
// to the sender, counters, the reply decided, or a retry after a failed visit.
void on_processed(self_ptr self, const std::string& message_id, const receive_result& res) {
  auto& s2 = self->state;
  auto it = std::find_if(s2.inbound.begin(), s2.inbound.end(),
                         [&](auto& e) { return e.mail.message_id == message_id; });
  if (it == s2.inbound.end())
    return;
  if (res.disconnected) {
    // The login was refused: nothing more is tried until the user fixes it.
    s2.inbound.erase(it);
    if (s2.state != mailbox_state::disconnected) {
      s2.state = mailbox_state::disconnected;
      storage::write_batch b;
      b.ramps.push_back({s2.settings->id, s2.ramp, mailbox_state::disconnected});
      emit(self, std::move(b));
    }
    return;
  }
  if (res.where == storage::placement::unknown) {
    // The visit failed (server down, timeout): look again later, a few times.
    constexpr std::uint8_t max_failed_visits = 3;
    if (++it->failed_visits > max_failed_visits) {
      s2.inbound.erase(it);
    } else {
      it->stage = state_t::inbound_stage::waiting;
      it->process_at = s2.ctx->clock.now() + (20 * ms_per_minute << (it->failed_visits - 1));
    }
    reschedule(self);
    return;
  }
  auto& counters = s2.ctx->counters;
  counters.receipts++;
  if (res.where == storage::placement::inbox)
    counters.inbox++;
  else if (res.where == storage::placement::spam)
    counters.spam++;
  else
    counters.missing++;
  if (res.rescued)
    counters.rescued++;
  // Tell the sender where its message landed (its health input; the sender's shard
  // counts it in the sender's day stats).
  placement_report rep{it->mail.from, it->mail.send_day, static_cast<std::uint8_t>(res.where),
                       res.rescued};
  if (const auto* sender = s2.ctx->mailbox(it->mail.from)) {
    auto sh = shard_of(sender->email, static_cast<std::uint32_t>(s2.ctx->shards.size()));
    s2.ctx->tracker->begin();
    self->send(s2.ctx->shards[sh], atom::placed::value, rep);
  }
  storage::write_batch b;
  b.placements.push_back(
    {message_id, res.where, res.rescued, s2.ctx->clock.now(), it->mail.sent_at});
  day_stats d;
  d.day = s2.day;
  d.received = 1;
  d.rescued = res.rescued ? 1 : 0;
  b.stats.push_back({s2.settings->id, d});
  emit(self, std::move(b));
  bool reply = it->plan.reply && res.where != storage::placement::missing
               && it->mail.turn < s2.settings->engagement.max_thread_turns;
  if (reply) {
    auto when = std::max(s2.ctx->clock.now(), it->mail.sent_at + it->plan.reply_delay);
    it->reply_at = next_in_window(when, s2.settings->window, s2.settings->timezone);
    it->stage = state_t::inbound_stage::reply_due;
  } else {
    s2.inbound.erase(it);
  }
  reschedule(self);
}

void process_due(self_ptr self, time_ms now) {
  auto& st = self->state;
  // A disconnected mailbox's login is known to fail: no attempts (a provider may lock an
  // account after repeated failures) until the user fixes it and resumes it.
  if (st.state == mailbox_state::disconnected)
    return;
  // Collected first: a visit's result may erase from `inbound` (the sandbox answers at once).
  std::vector<receive_task> due;
  for (auto& in : st.inbound) {
    if (in.stage != state_t::inbound_stage::waiting || in.process_at > now)
      continue;
    in.stage = state_t::inbound_stage::processing;
    due.push_back(receive_task{st.settings->id, in.mail.message_id, in.plan});
  }
  for (auto& task : due) {
    if (st.ctx->sandbox != nullptr) {
      on_processed(self, task.message_id, sandbox_process(*st.ctx->sandbox, task, now));
      continue;
    }
    auto message_id = task.message_id;
    st.ctx->tracker->begin();
    self->request(st.ctx->transport, caf::infinite, atom::process::value, std::move(task))
      .then(
        [=](const receive_result& res) {
          on_processed(self, message_id, res);
          self->state.ctx->tracker->end();
        },
        [=](caf::error&) {
          auto& s2 = self->state;
          auto it = std::find_if(s2.inbound.begin(), s2.inbound.end(),
                                 [&](auto& e) { return e.mail.message_id == message_id; });
          if (it != s2.inbound.end())
            s2.inbound.erase(it);
          s2.ctx->tracker->end();
        });
  }
}

void reply_due(self_ptr self, time_ms now) {
  auto& st = self->state;
  if (!sends_allowed(st))
    return;   // replies wait while the mailbox is paused or disconnected
  // A reply to a mailbox that left the pool is dropped, not kept waiting forever.
  st.inbound.erase(std::remove_if(st.inbound.begin(), st.inbound.end(),
                                  [&](const auto& e) {
                                    return e.stage == state_t::inbound_stage::reply_due
                                           && e.reply_at <= now
                                           && st.ctx->mailbox(e.mail.from) == nullptr;
                                  }),
                   st.inbound.end());
  for (auto& in : st.inbound) {
    if (in.stage != state_t::inbound_stage::reply_due || in.reply_at > now)
      continue;
    in.stage = state_t::inbound_stage::replying;
    const auto* sender = st.ctx->mailbox(in.mail.from);
    mail_message parent;
    parent.message_id = in.mail.message_id;
    parent.from = sender->email;
    parent.from_name = sender->display_name;
    parent.to = st.settings->email;
    parent.to_name = st.settings->display_name;
    parent.subject = in.mail.subject;
    parent.references = in.mail.references;
    parent.date = in.mail.sent_at;
    parent.thread = in.mail.thread;
    parent.turn = in.mail.turn;
    auto h = stable_hash(in.mail.message_id);
    auto reply = compose_reply(seed_of(st.settings->id, h), *st.settings, parent, now,
                               body_for(st));
    // One reply per parent: the key derives from the parent's Message-ID, so a restart
    // that replays this reply hits the same key and never sends it twice.
    slot_key key{st.settings->id, st.day,
                 reply_slot_base + static_cast<std::uint32_t>(h % 4'000'000'000ULL)};
    storage::send_intent intent{key, in.mail.from, reply.message_id, now, now};
    await_intent(self, std::move(intent), {key, std::move(reply), in.mail.from, no_mailbox, true});
  }
  // The parents of the replies underway leave the inbound list: a reply is sent once.
  st.inbound.erase(std::remove_if(st.inbound.begin(), st.inbound.end(),
                                  [](const auto& e) {
                                    return e.stage == state_t::inbound_stage::replying;
                                  }),
                   st.inbound.end());
}

// The shard's answers for the oldest awaited intents: send the durable ones.
void on_intent_answers(self_ptr self, const std::vector<intent_answer>& answers) {
  auto& st = self->state;
  auto n = std::min(answers.size(), st.awaiting.size());
  auto answered = st.awaiting.begin() + static_cast<std::ptrdiff_t>(n);
  std::vector<state_t::awaited_send> done(std::make_move_iterator(st.awaiting.begin()),
                                          std::make_move_iterator(answered));
  st.awaiting.erase(st.awaiting.begin(), answered);
  for (std::size_t k = 0; k < n; ++k) {
    auto& a = done[k];
    auto mark = [&](state_t::slot_status v) {
      if (!a.is_reply && a.key.day == st.day && a.key.slot < st.slots.size())
        st.slots[a.key.slot].status = v;
    };
    switch (answers[k]) {
      case intent_answer::durable:
        transmit(self, a.key, std::move(a.msg), a.to, a.cc, a.is_reply);
        break;
      case intent_answer::existed:
        mark(state_t::slot_status::skipped);
        st.ctx->counters.duplicates_refused++;
        break;
      case intent_answer::not_written:
        mark(state_t::slot_status::failed);
        break;
    }
    st.ctx->tracker->end();
  }
}

// What the shard held for this mailbox since its last wake: placements of its own
// messages first (the day's health, should this wake end the day, counts them), then the
// warmup mail that arrived for it.
void take_held(self_ptr self, wake_bundle& held) {
  auto& s = self->state;
  for (const auto& rep : held.placed) {
    auto& h = history_for(s, rep.send_day);
    switch (static_cast<storage::placement>(rep.where)) {
      case storage::placement::inbox:
        h.inbox = bump(h.inbox);
        break;
      case storage::placement::spam:
        h.spam = bump(h.spam);
        break;
      default:
        h.missing = bump(h.missing);
        break;
    }
  }
  // A mailbox that cannot send does not engage either (as at arrival before).
  if (!sends_allowed(s))
    return;
  for (auto& m : held.mail)
    s.inbound.push_back(
      {std::move(m.mail), m.plan, m.process_at, 0, state_t::inbound_stage::waiting});
}

void on_wake(self_ptr self, time_ms now) {
  auto& st = self->state;
  st.ctx->counters.wakes++;
  st.scheduled = -1;  // the shard forgot us when it woke us
  auto today = local_day(now, st.settings->timezone);
  // Local days only move forward: after an edit to a time zone behind the old one, the
  // day already planned (and sent) is not planned again.
  if (today > st.day) {
    if (st.day != 0)
      finish_day(self);
    start_day(self, now, today);
  }
  send_due(self, now);
  process_due(self, now);
  reply_due(self, now);
  reschedule(self);
}

}  // namespace


namespace {

// The mailbox actor running on this thread (set by resume around each activation).
thread_local mailbox_actor_impl* running_mailbox = nullptr;

self_ptr running() {
  return running_mailbox;
}

// Built once: its handlers capture nothing, they act on the running actor.
mailbox_actor::behavior_type make_shared_behavior() {
  return {
    [](atom::wake, time_ms now, wake_bundle& held) {
      auto self = running();
      ++outbox.wakes;
      take_held(self, held);
      on_wake(self, now);
      self->state.ctx->tracker->end();
    },
    [](atom::intent, const std::vector<intent_answer>& answers) {
      on_intent_answers(running(), answers);
    },
    [](atom::pause) {
      auto self = running();
      set_state(self, mailbox_state::paused);
      reschedule(self);
    },
    [](atom::settings, const std::shared_ptr<const mailbox_settings>& edited) {
      apply_settings(running(), edited);
    },
    [](atom::resume) {
      auto self = running();
      auto& s = self->state;
      if (s.state == mailbox_state::disconnected)
        self->send(s.ctx->transport, atom::resume::value, s.settings->id);
      s.ramp.paused_by_health = false;
      set_state(self, mailbox_state::active);
      // A day that began while the mailbox could not send has no plan: plan it now, so the
      // rest of today is sent (its past slots are recorded as skipped, never sent late).
      if (s.slots.empty() && s.day != 0)
        start_day(self, s.ctx->clock.now(), s.day);
      // The day's plan stays: slots missed while paused are recorded as skipped at the
      // next wake, the rest are sent at their times.
      schedule_at(self, s.ctx->clock.now());
    },
    [](atom::status) {
      auto self = running();
      auto& s = self->state;
      mailbox_view v;
      v.id = s.settings->id;
      v.state = derived_state(s);
      v.ramp_day = s.ramp.ramp_day;
      v.throttle_percent = s.ramp.throttle_percent;
      v.band = s.ramp.band;
      v.day = s.day;
      v.planned_today = static_cast<int>(planned_count(s));
      int sent = 0;
      for (auto& e : s.slots)
        if (e.status == state_t::slot_status::sent)
          ++sent;
      v.sent_today = sent;
      v.next_due = s.scheduled;
      return v;
    },
    [](atom::detail) {
      auto self = running();
      auto& s = self->state;
      mailbox_detail d;
      d.view.id = s.settings->id;
      d.view.state = derived_state(s);
      d.view.ramp_day = s.ramp.ramp_day;
      d.view.throttle_percent = s.ramp.throttle_percent;
      d.view.band = s.ramp.band;
      d.view.day = s.day;
      d.view.planned_today = static_cast<int>(planned_count(s));
      d.view.next_due = s.scheduled;
      d.slots.reserve(s.slots.size());
      for (auto& e : s.slots) {
        d.slots.push_back({e.at, e.to, static_cast<std::uint8_t>(e.status)});
        if (e.status == state_t::slot_status::sent)
          ++d.view.sent_today;
      }
      for (auto& in : s.inbound)
        if (in.stage == state_t::inbound_stage::waiting)
          ++d.inbound_waiting;
      return d;
    },
  };
}

}  // namespace

held_mail receive_plan(const mailbox_settings& r, incoming_mail mail) {
  auto plan = decide_engagement(r.engagement, seed_of(r.id, stable_hash(mail.message_id)),
                                mail.turn);
  auto first_look = plan.open_delay;
  if (plan.rescue)
    first_look = std::min(first_look, plan.rescue_delay);
  auto at = mail.sent_at + std::max<time_ms>(first_look, ms_per_minute);
  return held_mail{std::move(mail), plan, at};
}

mailbox_actor_impl::mailbox_actor_impl(caf::actor_config& cfg, const engine_context* ctx,
                                       shard_actor shard, std::uint32_t local,
                                       mailbox_seed seed)
    : mailbox_actor::base(cfg) {
  auto& st = state;
  st.ctx = ctx;
  st.settings = seed.edited ? std::move(seed.edited)
                            : std::shared_ptr<const mailbox_settings>(
                                std::shared_ptr<const mailbox_settings>{}, seed.settings);
  st.shard = std::move(shard);
  st.local = local;
  st.ramp = seed.ramp;
  st.state = seed.state;
  if (!seed.used_slots.empty() || seed.used_plan)
    st.restart = std::make_unique<mailbox_actor_state::restart_seed>(
      mailbox_actor_state::restart_seed{seed.used_day, std::move(seed.used_slots),
                                        std::move(seed.used_plan)});
}

mailbox_actor::behavior_type mailbox_actor_impl::make_behavior() {
  static const mailbox_actor::behavior_type shared = make_shared_behavior();
  return shared;
}

caf::resumable::resume_result mailbox_actor_impl::resume(caf::execution_unit* unit,
                                                         std::size_t max_throughput) {
  // Restored on the way out, also when CAF lets an exception through.
  struct running_guard {
    mailbox_actor_impl* before;
    explicit running_guard(mailbox_actor_impl* now) : before(running_mailbox) {
      running_mailbox = now;
    }
    ~running_guard() { running_mailbox = before; }
    running_guard(const running_guard&) = delete;
    running_guard& operator=(const running_guard&) = delete;
  } guard{this};
  // The activation is work in flight until its report has left: the simulation driver
  // must not find the engine idle between a handler's end and the report.
  const auto* ctx = state.ctx;
  struct activation_guard {
    const engine_context* ctx;
    explicit activation_guard(const engine_context* c) : ctx(c) {}
    ~activation_guard() {
      outbox = activation_outbox{};
      if (ctx != nullptr)
        ctx->tracker->end();
    }
    activation_guard(const activation_guard&) = delete;
    activation_guard& operator=(const activation_guard&) = delete;
  };
  if (ctx != nullptr)
    ctx->tracker->begin();
  outbox = activation_outbox{};
  activation_guard done{ctx};
  auto result = mailbox_actor::base::resume(unit, max_throughput);
  auto& o = outbox;
  if (state.ctx != nullptr) {
    if (!o.writes.empty() || !o.intents.empty() || o.due_changed || o.wakes > 0) {
      state.ctx->tracker->begin();
      send(state.shard, atom::write::value, std::move(o.writes), std::move(o.intents),
           state.local, o.due_changed ? state.scheduled : due_unchanged, o.wakes);
    }
  } else if (ctx != nullptr && o.quit_shard && (!o.writes.empty() || o.wakes > 0)) {
    // Its intents stay unwritten: nobody is left to send them once durable (on_exit ended
    // their tracked work).
    ctx->tracker->begin();
    caf::anon_send(o.quit_shard, atom::write::value, std::move(o.writes),
                   std::vector<storage::send_intent>{}, o.quit_local, time_ms{-1}, o.wakes);
  }
  return result;
}

void mailbox_actor_impl::on_exit() {
  if (running_mailbox == this) {
    outbox.quit_shard = state.shard;
    outbox.quit_local = state.local;
  }
  // Sends whose intent answer can no longer reach this actor end as work here.
  if (state.ctx != nullptr)
    for (std::size_t k = 0; k < state.awaiting.size(); ++k)
      state.ctx->tracker->end();
  state = mailbox_actor_state{};
}

}  // namespace warmup
