// sandbox_month_test.cpp: 30 simulated days of a 200-mailbox pool on the sandbox network,
// driven by the real domain (plan_day, end_of_day, assess_health, decide_engagement, the
// peer directory) without actors: the reputation model must warm a normal ramp and
// punish a forced one. SANDBOX_MONTH_VERBOSE=1 prints the pool's day-by-day inbox rates.
#include "net/sandbox_network.hpp"

#include "warmup/engagement.hpp"
#include "warmup/health.hpp"
#include "warmup/peers.hpp"
#include "warmup/planner.hpp"
#include "warmup/random.hpp"
#include "warmup/ramp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <string>
#include <vector>

namespace warmup::sandbox {
namespace {

constexpr int normal_count = 200;
constexpr int forced_count = 20;
constexpr int days = 30;
constexpr day_number first_day = 20000;  // 2024-10-04, a Friday: the run spans 4 weekends
const char* const provider_names[] = {"gmail.sim", "outlook.sim", "yahoo.sim", "mail.sim"};

struct member {
  mailbox_settings settings;
  ramp_state ramp;
  std::vector<day_stats> history;  // one entry per simulated day
  health_band worst_band = health_band::healthy;
  int days_throttled_or_worse = 0;
};

// A send (opener or reply) or a recipient's processing of a delivered message.
struct event {
  time_ms at = 0;
  bool is_send = true;
  mailbox_id from = no_mailbox;
  mailbox_id to = no_mailbox;
  std::string message_id;
  std::string in_reply_to;
  int turn = 0;
  bool counts_as_slot = false;  // an opener planned in the day's slots
  engagement_plan plan;         // for processing events
  time_ms arrived_at = 0;
  friend bool operator>(const event& a, const event& b) {
    if (a.at != b.at) return a.at > b.at;
    if (a.message_id != b.message_id) return a.message_id > b.message_id;
    if (a.to != b.to) return a.to > b.to;  // total order: the run is deterministic
    return a.is_send < b.is_send;
  }
};

struct month_result {
  double first_week_inbox = 0.0;   // normal pool, aggregated placements
  double last_week_inbox = 0.0;
  double first_day_inbox = 0.0;
  double forced_first_days_inbox = 0.0;  // forced group, days 0-2
  int forced_throttled = 0;        // forced mailboxes whose band reached throttle or worse
  int normal_paused = 0;           // normal mailboxes whose band reached pause or worse
  int normal_blocked = 0;
  std::size_t stored_at_end = 0;
};

month_result run_month() {
  network_params np;
  np.seed = 7;
  network net(np);
  const health_params hp;
  const auto standard = *ramp_preset("standard");

  std::vector<member> pool(normal_count + forced_count);
  peer_directory peers;
  for (int i = 0; i < static_cast<int>(pool.size()); ++i) {
    auto& m = pool[static_cast<std::size_t>(i)].settings;
    m.id = static_cast<mailbox_id>(i);
    m.provider = provider_names[i % 4];
    m.email = "m" + std::to_string(i) + "@org" + std::to_string(i) + "." + m.provider;
    m.organisation = "org" + std::to_string(i);
    m.ramp = standard;
    if (i >= normal_count) {  // pushed too fast: the ceiling from the first day
      m.ramp.start = 40;
      m.ramp.step = 0;
      m.ramp.variance = 0.0;
      m.ramp.weekend_factor = 1.0;
    }
    m.created_day = first_day;
    EXPECT_TRUE(net.add_mailbox(m.id, m.provider));
    peers.upsert({m.id, m.email, m.provider, m.organisation, m.ramp.ceiling, false, true});
  }

  std::priority_queue<event, std::vector<event>, std::greater<>> queue;
  rng partner_draw(seed_of(42, 1));

  auto stats_of = [&](mailbox_id id, day_number day) -> day_stats& {
    auto& h = pool[id].history;
    return h[static_cast<std::size_t>(day - first_day)];
  };

  for (day_number day = first_day; day < first_day + days; ++day) {
    for (auto& m : pool) m.history.push_back(day_stats{day});
    peers.start_day(day);
    for (auto& m : pool) {
      const auto plan = plan_day(m.settings, m.ramp, day);
      stats_of(m.settings.id, day).planned = static_cast<std::uint32_t>(plan.openers);
      for (const auto& slot : plan.slots) {
        const auto choice = peers.choose(m.settings.id, partner_draw);
        if (!choice) continue;
        event e;
        e.at = slot.at;
        e.from = m.settings.id;
        e.to = choice->to;
        e.message_id = "<" + to_string(slot_key{m.settings.id, day, slot.index}) + "@sim>";
        e.counts_as_slot = true;
        if (choice->cc) {  // the Cc copy: same message, one more recipient
          event cc = e;
          cc.to = *choice->cc;
          cc.counts_as_slot = false;
          queue.push(std::move(cc));
        }
        queue.push(std::move(e));
      }
    }
    const time_ms day_end = (static_cast<time_ms>(day) + 1) * ms_per_day;
    while (!queue.empty() && queue.top().at < day_end) {
      event e = queue.top();
      queue.pop();
      const day_number today = static_cast<day_number>(e.at / ms_per_day);
      if (e.is_send) {
        const auto d = net.deliver({e.from, e.to, e.message_id, e.in_reply_to, 0, e.turn}, e.at);
        if (d.status != delivery_status::accepted) continue;
        auto& s = stats_of(e.from, today);
        if (e.counts_as_slot) ++s.sent;
        else if (e.turn > 0) ++s.replies;
        const auto& recipient = pool[e.to].settings;
        event p;
        p.is_send = false;
        p.from = e.from;
        p.to = e.to;
        p.message_id = e.message_id;
        p.turn = e.turn;
        p.arrived_at = e.at;
        p.plan = decide_engagement(recipient.engagement,
                                   seed_of(e.to, stable_hash(e.message_id)), e.turn);
        p.at = e.at + (p.plan.rescue ? std::min(p.plan.open_delay, p.plan.rescue_delay)
                                     : p.plan.open_delay);
        queue.push(std::move(p));
      } else {
        // The recipient's IMAP-like pass: find, record placement, rescue, flag, reply, file.
        const folder where = net.find(e.to, e.message_id);
        auto& sender_day = stats_of(e.from, static_cast<day_number>(e.arrived_at / ms_per_day));
        if (where == folder::inbox) ++sender_day.inbox;
        else if (where == folder::spam) ++sender_day.spam;
        else ++sender_day.missing;
        ++stats_of(e.to, today).received;
        if (where == folder::spam && e.plan.rescue && net.rescue(e.to, e.message_id, e.at))
          ++stats_of(e.to, today).rescued;
        net.set_flags(e.to, e.message_id, {e.plan.read, e.plan.important, e.plan.star}, e.at);
        if (e.plan.reply) {
          peers.record(e.to, e.from);
          event r;
          r.at = e.arrived_at + e.plan.reply_delay;
          r.from = e.to;
          r.to = e.from;
          r.in_reply_to = e.message_id;
          r.message_id = e.message_id + ".re";
          r.turn = e.turn + 1;
          queue.push(std::move(r));
        }
        net.file(e.to, e.message_id, e.at);
      }
    }
    for (auto& m : pool) {
      const auto report = assess_health(m.history, day, hp);
      const auto& s = stats_of(m.settings.id, day);
      m.ramp = end_of_day(m.settings.ramp, m.ramp, {day, static_cast<int>(s.planned),
                                                    static_cast<int>(s.sent)},
                          report, hp);
      m.worst_band = std::max(m.worst_band, report.band);
      if (report.band >= health_band::throttle) ++m.days_throttled_or_worse;
    }
    net.cleanup(day_end, 3 * ms_per_day);
  }

  month_result r;
  auto inbox_rate = [&](int from, int to, int first, int last) {
    double inbox = 0, placed = 0;
    for (int i = from; i < to; ++i)
      for (int d = first; d <= last; ++d) {
        const auto& s = pool[static_cast<std::size_t>(i)].history[static_cast<std::size_t>(d)];
        inbox += s.inbox;
        placed += s.inbox + s.spam;
      }
    return placed > 0 ? inbox / placed : 0.0;
  };
  r.first_week_inbox = inbox_rate(0, normal_count, 0, 6);
  r.last_week_inbox = inbox_rate(0, normal_count, days - 7, days - 1);
  r.first_day_inbox = inbox_rate(0, normal_count, 0, 0);
  r.forced_first_days_inbox = inbox_rate(normal_count, normal_count + forced_count, 0, 2);
  for (int i = 0; i < static_cast<int>(pool.size()); ++i) {
    const auto band = pool[static_cast<std::size_t>(i)].worst_band;
    if (i >= normal_count) {
      if (band >= health_band::throttle) ++r.forced_throttled;
    } else {
      if (band >= health_band::pause) ++r.normal_paused;
      if (band >= health_band::block) ++r.normal_blocked;
    }
  }
  r.stored_at_end = net.messages_stored();
  if (std::getenv("SANDBOX_MONTH_VERBOSE")) {
    for (int d = 0; d < days; ++d)
      std::printf("day %2d normal inbox %.3f forced inbox %.3f\n", d,
                  inbox_rate(0, normal_count, d, d),
                  inbox_rate(normal_count, normal_count + forced_count, d, d));
    int throttled = 0;
    for (int i = 0; i < normal_count; ++i)
      if (pool[static_cast<std::size_t>(i)].worst_band >= health_band::throttle) ++throttled;
    std::printf("normal throttled %d paused %d blocked %d\n", throttled, r.normal_paused,
                r.normal_blocked);
  }
  return r;
}

TEST(sandbox_month, normal_ramp_warms_and_forced_ramp_is_throttled) {
  const auto r = run_month();
  std::printf("sandbox month: normal pool inbox week 1 %.1f%%, week 4 %.1f%%; forced group "
              "inbox days 0-2 %.1f%%, %d/%d throttled; stored at end %zu\n",
              100 * r.first_week_inbox, 100 * r.last_week_inbox,
              100 * r.forced_first_days_inbox, r.forced_throttled, forced_count,
              r.stored_at_end);
  EXPECT_GT(r.last_week_inbox, 0.85);
  EXPECT_GT(r.last_week_inbox, r.first_week_inbox);
  // "Well above": the spam share at least halves between the first and the last week.
  EXPECT_LT(1 - r.last_week_inbox, (1 - r.first_week_inbox) / 2);
  EXPECT_LT(r.first_day_inbox, 0.75);  // a cold start: fresh mailboxes meet strict filters
  EXPECT_EQ(r.forced_throttled, forced_count);
  EXPECT_LT(r.forced_first_days_inbox, 0.5);
  // A normal ramp must not be stopped by its own network: no block, pauses rare.
  EXPECT_EQ(r.normal_blocked, 0);
  EXPECT_LE(r.normal_paused, normal_count / 20);
}

}  // namespace
}  // namespace warmup::sandbox
