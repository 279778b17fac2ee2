// sandbox_network_test.cpp: the rules of the simulated mail network, one by one: placement,
// providers, engagement, spam left, volume spikes, drift, bounces, mailbox semantics,
// cleanup, snapshots, determinism and concurrent use.
#include "net/sandbox_network.hpp"

#include "warmup/random.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace warmup::sandbox {
namespace {

constexpr time_ms day0 = 20000 * ms_per_day;  // a UTC midnight
constexpr time_ms hour = ms_per_hour;
const std::vector<std::string> provider_list = {"gmail.sim", "outlook.sim", "yahoo.sim",
                                                "mail.sim"};

std::string id_of(int n) { return "<m" + std::to_string(n) + "@sim>"; }

double rep(const network& net, mailbox_id sender, const char* provider, time_ms now) {
  return *net.reputation(sender, provider, now);
}

// Registers mailboxes 1..n round-robin over the default providers (1 outlook, 2 yahoo,
// 3 mail.sim, 4 gmail, ...); mailbox 0 is the sender under test at gmail.sim.
void populate(network& net, int n) {
  ASSERT_TRUE(net.add_mailbox(0, "gmail.sim"));
  for (int i = 1; i <= n; ++i)
    ASSERT_TRUE(net.add_mailbox(static_cast<mailbox_id>(i),
                                provider_list[static_cast<std::size_t>(i) % 4]));
}

// Sends until one message lands in `want` at recipient `to`; returns its Message-ID.
// (A fresh sender lands in spam at gmail.sim (4) and in the inbox at mail.sim (3) within a
// few tries, before any volume heat.)
std::string deliver_until(network& net, mailbox_id from, mailbox_id to, folder want,
                          time_ms at, int& counter) {
  for (int tries = 0; tries < 200; ++tries) {
    const auto id = id_of(counter++);
    if (net.deliver({from, to, id, {}, 1, 0}, at).placement == want) return id;
  }
  ADD_FAILURE() << "no placement in " << to_string(want) << " after 200 tries";
  return {};
}

// One day of a sender's traffic with fully engaged recipients (all read, `reply_every`-th
// replied, every spam rescued, then filed); returns the day's spam share.
double engaged_day(network& net, mailbox_id sender, int sends, int recipients, int day,
                   int& counter, int reply_every = 3) {
  const time_ms start = day0 + day * ms_per_day + 8 * hour;
  int spam = 0;
  for (int i = 0; i < sends; ++i) {
    const time_ms at = start + i * (10 * hour / std::max(1, sends));
    const auto to = static_cast<mailbox_id>(1 + (counter % recipients));
    const auto id = id_of(counter++);
    const auto d = net.deliver({sender, to, id, {}, 7, 0}, at);
    if (d.placement == folder::spam) {
      ++spam;
      net.rescue(to, id, at + hour / 2);
    }
    net.set_flags(to, id, {true, false, false}, at + hour);
    if (counter % reply_every == 0)
      net.deliver({to, sender, id + ".re", id, 7, 1}, at + 2 * hour);
    net.file(to, id, at + hour);
  }
  net.cleanup(start + 16 * hour, 3 * ms_per_day);
  return sends ? static_cast<double>(spam) / sends : 0.0;
}

TEST(sandbox_network, inbox_probability_is_monotone_and_centred_on_strictness) {
  EXPECT_DOUBLE_EQ(inbox_probability(0.4, 0.4, 0.06), 0.5);
  double previous = 0.0;
  for (int i = 0; i <= 100; ++i) {
    const double p = inbox_probability(i / 100.0, 0.42, 0.06);
    EXPECT_GT(p, previous);
    previous = p;
  }
  EXPECT_LT(inbox_probability(0.0, 0.42, 0.06), 0.01);
  EXPECT_GT(inbox_probability(1.0, 0.42, 0.06), 0.99);
}

TEST(sandbox_network, providers_have_their_own_strictness) {
  const auto defaults = default_providers();
  ASSERT_EQ(defaults.size(), 4u);
  EXPECT_EQ(defaults[0].name, "gmail.sim");
  for (std::size_t i = 1; i < defaults.size(); ++i)
    EXPECT_LT(defaults[i].strictness, defaults[i - 1].strictness) << defaults[i].name;

  const std::vector<std::string> names = {"mail.sim", "corp.sim", "corp.sim"};
  const auto named = providers_named(names);
  ASSERT_EQ(named.size(), 3u);
  EXPECT_DOUBLE_EQ(named[0].strictness, defaults[3].strictness);
  EXPECT_GE(named[1].strictness, 0.33);
  EXPECT_LE(named[1].strictness, 0.45);
  EXPECT_DOUBLE_EQ(named[1].strictness, named[2].strictness);  // stable in the name

  // A fresh sender lands mostly in spam at the strictest provider, mostly in the inbox
  // at the most lenient one.
  network net;
  ASSERT_TRUE(net.add_mailbox(1, "gmail.sim"));
  ASSERT_TRUE(net.add_mailbox(2, "mail.sim"));
  int gmail_inbox = 0, mail_inbox = 0;
  const int senders = 400;
  for (int s = 0; s < senders; ++s) {
    const auto from = static_cast<mailbox_id>(100 + s);  // every sender fresh, one send each
    gmail_inbox += net.deliver({from, 1, id_of(s), {}, 1, 0}, day0).placement == folder::inbox;
    mail_inbox += net.deliver({from, 2, id_of(s), {}, 1, 0}, day0).placement == folder::inbox;
  }
  EXPECT_LT(gmail_inbox, senders * 4 / 10);
  EXPECT_GT(mail_inbox, senders * 7 / 10);
  EXPECT_FALSE(net.add_mailbox(3, "nowhere.example"));
  EXPECT_FALSE(net.has_mailbox(3));
}

TEST(sandbox_network, placement_is_monotone_in_reputation) {
  // Same seed, same messages, same recipients: the draws are the same, so a sender with a
  // higher reputation keeps every inbox placement of a lower one and gains more.
  network fresh, warmed;
  populate(fresh, 40);
  populate(warmed, 40);
  int counter = 0;
  for (int day = 0; day < 10; ++day) engaged_day(warmed, 0, 8, 40, day, counter);
  const time_ms at = day0 + 10 * ms_per_day + 9 * hour;
  ASSERT_GT(rep(warmed, 0, "gmail.sim", at), rep(fresh, 0, "gmail.sim", at) + 0.2);
  int fresh_inbox = 0, warmed_inbox = 0;
  for (int i = 0; i < 5; ++i) {  // few sends: no volume heat in either network
    for (mailbox_id to = 1; to <= 40; to += 8) {
      const auto id = "<probe" + std::to_string(i) + "." + std::to_string(to) + ">";
      const auto a = fresh.deliver({0, to, id, {}, 1, 0}, at).placement;
      const auto b = warmed.deliver({0, to, id, {}, 1, 0}, at).placement;
      if (a == folder::inbox) {
        EXPECT_EQ(b, folder::inbox) << id;
      }
      fresh_inbox += a == folder::inbox;
      warmed_inbox += b == folder::inbox;
    }
  }
  EXPECT_GT(warmed_inbox, fresh_inbox);
}

TEST(sandbox_network, each_engagement_raises_reputation_and_rescue_most) {
  const time_ms at = day0 + 9 * hour;
  // Gain of one action on a fresh sender's message at a gmail.sim recipient.
  auto gain_of = [&](auto action) {
    network net;
    populate(net, 4);  // mailbox 4 is at gmail.sim
    int counter = 0;
    const auto id = deliver_until(net, 0, 4, folder::spam, at, counter);
    const double before = rep(net, 0, "gmail.sim", at);
    action(net, id);
    return rep(net, 0, "gmail.sim", at) - before;
  };
  const double read = gain_of([&](network& n, const std::string& id) {
    EXPECT_TRUE(n.set_flags(4, id, {true, false, false}, at));
  });
  const double important = gain_of([&](network& n, const std::string& id) {
    EXPECT_TRUE(n.set_flags(4, id, {false, true, false}, at));
  });
  const double starred = gain_of([&](network& n, const std::string& id) {
    EXPECT_TRUE(n.set_flags(4, id, {false, false, true}, at));
  });
  const double reply = gain_of([&](network& n, const std::string& id) {
    EXPECT_EQ(n.deliver({4, 0, id + ".re", id, 1, 1}, at).status, delivery_status::accepted);
  });
  const double rescue = gain_of([&](network& n, const std::string& id) {
    EXPECT_TRUE(n.rescue(4, id, at));
  });
  EXPECT_GT(read, 0.0);
  EXPECT_GT(important, read);
  EXPECT_GT(starred, read);
  EXPECT_GT(reply, important);
  EXPECT_GT(rescue, reply);
}

TEST(sandbox_network, engagement_counts_once_and_only_with_the_recipients_provider) {
  network net;
  populate(net, 4);
  const time_ms at = day0 + 9 * hour;
  int counter = 0;
  const auto id = deliver_until(net, 0, 3, folder::inbox, at, counter);
  const double outlook_before = rep(net, 0, "outlook.sim", at);
  const double before = rep(net, 0, "mail.sim", at);
  ASSERT_TRUE(net.set_flags(3, id, {true, true, true}, at));
  const double once = rep(net, 0, "mail.sim", at);
  EXPECT_GT(once, before);
  ASSERT_TRUE(net.set_flags(3, id, {true, true, true}, at));  // already set: no new signal
  EXPECT_DOUBLE_EQ(rep(net, 0, "mail.sim", at), once);
  EXPECT_DOUBLE_EQ(rep(net, 0, "outlook.sim", at), outlook_before);
  // A second reply to the same message, or a "reply" to a message the replier never
  // got from this sender, is no signal.
  net.deliver({3, 0, id + ".re1", id, 1, 1}, at);
  const double replied = rep(net, 0, "mail.sim", at);
  EXPECT_GT(replied, once);
  net.deliver({3, 0, id + ".re2", id, 1, 2}, at);
  net.deliver({3, 0, "<other.re>", "<never-sent@sim>", 1, 1}, at);
  net.deliver({1, 0, "<wrong.re>", id, 1, 1}, at);  // 1 never received it
  EXPECT_DOUBLE_EQ(rep(net, 0, "mail.sim", at), replied);
  // Flags are set, never cleared.
  ASSERT_TRUE(net.set_flags(3, id, {false, false, false}, at));
  EXPECT_EQ(net.lookup(3, id)->marks, (flags{true, true, true}));
}

TEST(sandbox_network, spam_left_unrescued_and_mark_as_spam_lower_reputation) {
  network net;
  populate(net, 4);
  const time_ms at = day0 + 9 * hour;
  int counter = 0;
  const auto spam_id = deliver_until(net, 0, 4, folder::spam, at, counter);
  // Not yet "left": less than spam_left_after since arrival.
  const time_ms evening = at + 10 * hour;
  const double before = rep(net, 0, "gmail.sim", evening);
  net.cleanup(evening, 3 * ms_per_day);
  EXPECT_DOUBLE_EQ(rep(net, 0, "gmail.sim", evening), before);
  // A day later it has been left in spam: one cost, once.
  const time_ms later = at + ms_per_day + hour;
  const double day_later = rep(net, 0, "gmail.sim", later);
  net.cleanup(later, 3 * ms_per_day);
  const double after = rep(net, 0, "gmail.sim", later);
  EXPECT_LT(after, day_later);
  net.cleanup(later, 3 * ms_per_day);
  EXPECT_DOUBLE_EQ(rep(net, 0, "gmail.sim", later), after);
  // The recipient moving a message into spam costs more than leaving one there.
  ASSERT_TRUE(net.rescue(4, spam_id, later));
  const double rescued = rep(net, 0, "gmail.sim", later);
  ASSERT_TRUE(net.move(4, spam_id, folder::spam, later));
  const double marked = rep(net, 0, "gmail.sim", later);
  EXPECT_EQ(net.find(4, spam_id), folder::spam);
  EXPECT_GT((rescued - marked) / rescued, 2 * (day_later - after) / day_later);
}

TEST(sandbox_network, volume_spike_lowers_reputation_growing_with_the_excess) {
  network net;
  populate(net, 40);
  int counter = 0;
  for (int day = 0; day < 10; ++day) engaged_day(net, 0, 10, 40, day, counter);
  const time_ms at = day0 + 10 * ms_per_day + 8 * hour;
  // Up to 1.5 x the trailing mean (15): no cost. Beyond: each send costs more.
  std::vector<double> after;
  after.push_back(rep(net, 0, "yahoo.sim", at));
  for (int i = 0; i < 30; ++i) {
    net.deliver({0, static_cast<mailbox_id>(1 + i % 40), id_of(counter++), {}, 9, 0}, at);
    after.push_back(rep(net, 0, "yahoo.sim", at));
  }
  EXPECT_DOUBLE_EQ(after[15], after[0]);
  const double first_extra = after[16] - after[17];
  const double last_extra = after[29] - after[30];
  EXPECT_GT(first_extra, 0.0);
  EXPECT_GT(last_extra, 5 * first_extra);
  EXPECT_LT(after[30], after[0] - 0.3);
  // The heat cools down over the following days (engagement cannot cancel it at once).
  const double next_day = rep(net, 0, "yahoo.sim", at + ms_per_day);
  const double in_three = rep(net, 0, "yahoo.sim", at + 3 * ms_per_day);
  EXPECT_GT(next_day, after[30]);
  EXPECT_GT(in_three, next_day);
  EXPECT_LT(next_day, after[0] - 0.1);
}

TEST(sandbox_network, replies_are_conversation_not_volume) {
  network net;
  populate(net, 40);
  const time_ms at = day0 + 9 * hour;
  for (mailbox_id from = 1; from <= 30; ++from)
    net.deliver({from, 0, id_of(static_cast<int>(from)), {}, from, 0}, at);
  const double before = rep(net, 0, "yahoo.sim", at + hour);
  for (mailbox_id to = 1; to <= 30; ++to) {
    const auto id = id_of(static_cast<int>(to));
    EXPECT_EQ(net.deliver({0, to, id + ".re", id, to, 1}, at + hour).status,
              delivery_status::accepted);
  }
  EXPECT_DOUBLE_EQ(rep(net, 0, "yahoo.sim", at + hour), before);
  // "Replies" to mail it never received are new messages: 30 of them are a spike.
  for (mailbox_id to = 1; to <= 30; ++to)
    net.deliver({0, to, id_of(100 + static_cast<int>(to)), id_of(999), 50, 1}, at + hour);
  EXPECT_LT(rep(net, 0, "yahoo.sim", at + hour), before - 0.1);
}

TEST(sandbox_network, a_fresh_sender_stays_quiet_below_the_spike_floor) {
  network net;
  populate(net, 8);
  const double before = rep(net, 0, "outlook.sim", day0);
  for (int i = 0; i < 5; ++i)
    net.deliver({0, static_cast<mailbox_id>(1 + i), id_of(i), {}, 1, 0}, day0 + i);
  EXPECT_DOUBLE_EQ(rep(net, 0, "outlook.sim", day0 + hour), before);
  net.deliver({0, 1, id_of(99), {}, 1, 0}, day0 + hour);
  EXPECT_LT(rep(net, 0, "outlook.sim", day0 + hour), before);
}

TEST(sandbox_network, normal_ramp_warms_but_pushing_too_fast_lands_in_spam) {
  // (a) 3/day +2 per day up to 40, fully engaged: a cold start, then > 90% inbox.
  network ramped;
  populate(ramped, 60);
  int counter = 0;
  double first_week = 0, last_week = 0;
  for (int day = 0; day < 30; ++day) {
    const double spam = engaged_day(ramped, 0, std::min(40, 3 + 2 * day), 60, day, counter);
    if (day < 7) first_week += (1 - spam) / 7;
    if (day >= 23) last_week += (1 - spam) / 7;
  }
  EXPECT_GT(last_week, 0.90);
  EXPECT_GT(last_week, first_week);

  // (b1) 40/day from the first day: spam well past the 15% throttle band at once.
  network forced;
  populate(forced, 60);
  counter = 0;
  const double forced1 = engaged_day(forced, 0, 40, 60, 0, counter);
  EXPECT_GT(forced1, 0.5);
  EXPECT_GT(engaged_day(forced, 0, 40, 60, 1, counter), 0.3);

  // (b2) a warmed mailbox at 10/day that suddenly triples: past 15% within 2 days.
  network jumped;
  populate(jumped, 60);
  counter = 0;
  double steady_spam = 0;
  for (int day = 0; day < 20; ++day) steady_spam = engaged_day(jumped, 0, 10, 60, day, counter);
  EXPECT_LT(steady_spam, 0.15);
  const double jump1 = engaged_day(jumped, 0, 30, 60, 20, counter);
  const double jump2 = engaged_day(jumped, 0, 30, 60, 21, counter);
  EXPECT_GT(std::max(jump1, jump2), 0.15);
  std::printf("sandbox ramp: inbox week 1 %.1f%%, week 4 %.1f%%; 40/day from day 1: spam "
              "day 1 %.0f%%; x3 jump: spam %.0f%% then %.0f%% (steady %.0f%%)\n",
              100 * first_week, 100 * last_week, 100 * forced1, 100 * jump1, 100 * jump2,
              100 * steady_spam);
}

TEST(sandbox_network, reputation_drifts_back_to_neutral_without_engagement) {
  network net;
  populate(net, 40);
  int counter = 0;
  for (int day = 0; day < 10; ++day) engaged_day(net, 0, 8, 40, day, counter);
  const time_ms at = day0 + 10 * ms_per_day;
  const double warm = rep(net, 0, "gmail.sim", at);
  const double neutral = net.params().neutral_reputation;
  ASSERT_GT(warm, neutral + 0.2);
  const double month_later = rep(net, 0, "gmail.sim", at + 30 * ms_per_day);
  EXPECT_LT(month_later, warm);
  EXPECT_GT(month_later, neutral);
  EXPECT_LT(month_later - neutral, (warm - neutral) / 2);
}

TEST(sandbox_network, unknown_recipient_bounces_and_nothing_is_stored) {
  network net;
  populate(net, 2);
  const auto d = net.deliver({0, 77, id_of(1), {}, 1, 0}, day0);
  EXPECT_EQ(d.status, delivery_status::bounced);
  EXPECT_EQ(d.placement, folder::none);
  EXPECT_EQ(net.find(77, id_of(1)), folder::none);
  const auto t = net.totals();
  EXPECT_EQ(t.bounced, 1u);
  EXPECT_EQ(t.messages_stored, 0u);
  EXPECT_EQ(net.messages_stored(), 0u);
  EXPECT_EQ(to_string(d.status), "bounced");
}

TEST(sandbox_network, transient_failures_store_nothing_and_retries_can_succeed) {
  network_params always;
  always.transient_failure_rate = 1.0;
  network failing(always);
  populate(failing, 2);
  EXPECT_EQ(failing.deliver({0, 1, id_of(1), {}, 1, 0}, day0).status,
            delivery_status::temporary_failure);
  EXPECT_EQ(failing.messages_stored(), 0u);
  EXPECT_EQ(failing.totals().providers[1].temporary_failures, 1u);  // mailbox 1: outlook

  network_params half;
  half.transient_failure_rate = 0.5;
  network flaky(half);
  populate(flaky, 2);
  int failures = 0, retried_ok = 0;
  for (int i = 0; i < 200; ++i) {
    if (flaky.deliver({0, 1, id_of(i), {}, 1, 0}, day0 + i).status !=
        delivery_status::temporary_failure)
      continue;
    ++failures;
    // The same message retried later draws again.
    for (int retry = 1; retry <= 10; ++retry)
      if (flaky.deliver({0, 1, id_of(i), {}, 1, 0}, day0 + i + retry * ms_per_minute).status ==
          delivery_status::accepted) {
        ++retried_ok;
        break;
      }
  }
  EXPECT_GT(failures, 60);
  EXPECT_LT(failures, 140);
  EXPECT_EQ(retried_ok, failures);

  network steady;  // the default rate is 0
  populate(steady, 2);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(steady.deliver({0, 1, id_of(i), {}, 1, 0}, day0).status,
              delivery_status::accepted);
}

TEST(sandbox_network, find_move_flags_and_file_semantics) {
  network net;
  populate(net, 4);
  const time_ms at = day0 + 9 * hour;
  int counter = 0;
  const auto id = deliver_until(net, 0, 3, folder::inbox, at, counter);
  EXPECT_EQ(net.find(3, id), folder::inbox);
  EXPECT_EQ(net.find(4, id), folder::none);        // another mailbox
  EXPECT_EQ(net.find(3, "<nope@sim>"), folder::none);
  const auto v = net.lookup(3, id);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->from, 0u);
  EXPECT_EQ(v->thread, 1u);
  EXPECT_EQ(v->arrived_at, at);
  EXPECT_EQ(v->marks, flags{});

  EXPECT_TRUE(net.set_flags(3, id, {true, false, true}, at));
  EXPECT_EQ(net.lookup(3, id)->marks, (flags{true, false, true}));
  EXPECT_TRUE(net.file(3, id, at));
  EXPECT_EQ(net.find(3, id), folder::warmup);
  EXPECT_TRUE(net.move(3, id, folder::archive, at));
  EXPECT_EQ(net.find(3, id), folder::archive);
  EXPECT_FALSE(net.move(3, id, folder::none, at));
  EXPECT_FALSE(net.move(3, "<nope@sim>", folder::inbox, at));
  EXPECT_FALSE(net.file(3, "<nope@sim>", at));
  EXPECT_FALSE(net.set_flags(3, "<nope@sim>", {true, false, false}, at));
  EXPECT_FALSE(net.set_flags(99, id, {true, false, false}, at));
  EXPECT_EQ(to_string(folder::warmup), "warmup");
}

TEST(sandbox_network, rescue_only_when_in_spam_and_counted_once) {
  network net;
  populate(net, 4);
  const time_ms at = day0 + 9 * hour;
  int counter = 0;
  const auto inbox_id = deliver_until(net, 0, 3, folder::inbox, at, counter);
  const auto spam_id = deliver_until(net, 0, 4, folder::spam, at, counter);
  const double before = rep(net, 0, "gmail.sim", at);
  const double mail_before = rep(net, 0, "mail.sim", at);
  EXPECT_FALSE(net.rescue(3, inbox_id, at));
  EXPECT_EQ(net.find(3, inbox_id), folder::inbox);
  EXPECT_DOUBLE_EQ(rep(net, 0, "mail.sim", at), mail_before);
  EXPECT_EQ(net.totals().providers[3].rescued, 0u);

  EXPECT_TRUE(net.rescue(4, spam_id, at));
  EXPECT_EQ(net.find(4, spam_id), folder::inbox);
  const double rescued = rep(net, 0, "gmail.sim", at);
  EXPECT_GT(rescued, before);
  EXPECT_FALSE(net.rescue(4, spam_id, at));  // no longer in spam
  EXPECT_EQ(net.totals().providers[0].rescued, 1u);

  // Back into spam (a cost) and out again: the rescue does not pay twice.
  ASSERT_TRUE(net.move(4, spam_id, folder::spam, at));
  const double marked = rep(net, 0, "gmail.sim", at);
  EXPECT_LT(marked, rescued);
  EXPECT_TRUE(net.rescue(4, spam_id, at));
  EXPECT_DOUBLE_EQ(rep(net, 0, "gmail.sim", at), marked);

  // Filing straight out of spam is a rescue as providers see it (the message left junk).
  const auto other = deliver_until(net, 0, 4, folder::spam, at, counter);
  const double pre_file = rep(net, 0, "gmail.sim", at);
  EXPECT_TRUE(net.file(4, other, at));
  EXPECT_EQ(net.find(4, other), folder::warmup);
  EXPECT_GT(rep(net, 0, "gmail.sim", at), pre_file);
  EXPECT_EQ(net.totals().providers[0].rescued, 2u);
}

TEST(sandbox_network, cleanup_drops_old_filed_archived_and_spam_but_keeps_inbox) {
  network net;
  populate(net, 4);
  const time_ms at = day0 + 9 * hour;
  auto put = [&](const std::string& id, folder where, time_ms when) {
    ASSERT_EQ(net.deliver({1, 3, id, {}, 1, 0}, when).status, delivery_status::accepted);
    if (net.find(3, id) != where) {
      ASSERT_TRUE(net.move(3, id, where, when));
    }
  };
  put("<filed>", folder::warmup, at);
  put("<archived>", folder::archive, at);
  put("<kept>", folder::inbox, at);
  put("<junk>", folder::spam, at);
  const time_ms later = at + 3 * ms_per_day;
  put("<recent>", folder::warmup, later);
  put("<recent-junk>", folder::spam, later);
  ASSERT_EQ(net.messages_stored(), 6u);

  EXPECT_EQ(net.cleanup(later, 4 * ms_per_day), 0u);  // nothing that old yet
  EXPECT_EQ(net.cleanup(later + hour, 3 * ms_per_day), 3u);
  EXPECT_EQ(net.find(3, "<filed>"), folder::none);
  EXPECT_EQ(net.find(3, "<archived>"), folder::none);
  EXPECT_EQ(net.find(3, "<junk>"), folder::none);
  EXPECT_EQ(net.find(3, "<kept>"), folder::inbox);
  EXPECT_EQ(net.find(3, "<recent>"), folder::warmup);
  EXPECT_EQ(net.find(3, "<recent-junk>"), folder::spam);
  EXPECT_EQ(net.messages_stored(), 3u);
  EXPECT_EQ(net.totals().messages_stored, 3u);
}

TEST(sandbox_network, snapshot_round_trip_keeps_the_networks_memory) {
  network_params p;
  p.seed = 11;
  network original(p);
  populate(original, 40);
  int counter = 0;
  for (int day = 0; day < 8; ++day) engaged_day(original, 0, 4 + 3 * day, 40, day, counter);
  for (int i = 0; i < 12; ++i)  // a second, spiking sender mid-day
    original.deliver({5, static_cast<mailbox_id>(1 + i), id_of(1000 + i), {}, 2, 0},
                     day0 + 8 * ms_per_day + 9 * hour);
  const std::string text = original.snapshot();
  EXPECT_EQ(text.rfind("warmup-sandbox-network 1\n", 0), 0u);

  network restored(p);
  populate(restored, 40);
  std::string why;
  ASSERT_TRUE(restored.restore(text, &why)) << why;
  EXPECT_EQ(restored.snapshot(), text);
  EXPECT_EQ(restored.totals().senders, original.totals().senders);
  const time_ms at = day0 + 8 * ms_per_day + 10 * hour;
  for (mailbox_id s : {0u, 5u, 7u, 40u})
    for (const auto& provider : provider_list)
      EXPECT_DOUBLE_EQ(rep(restored, s, provider.c_str(), at),
                       rep(original, s, provider.c_str(), at))
          << s << " " << provider;
  // Same history -> same spike behaviour and same placements from here on.
  for (int i = 0; i < 20; ++i) {
    const mail m{5, static_cast<mailbox_id>(1 + i), id_of(2000 + i), {}, 3, 0};
    EXPECT_EQ(restored.deliver(m, at).placement, original.deliver(m, at).placement) << i;
  }
  EXPECT_DOUBLE_EQ(rep(restored, 5, "mail.sim", at), rep(original, 5, "mail.sim", at));
}

TEST(sandbox_network, malformed_snapshots_are_rejected_without_changes) {
  network net;
  populate(net, 10);
  int counter = 0;
  engaged_day(net, 0, 10, 10, 0, counter);
  const std::string good = net.snapshot();
  const auto lines_end = good.rfind("end ");
  const std::vector<std::string> bad = {
      "",
      "hello\n",
      good.substr(0, lines_end),                                // truncated: no end line
      good.substr(0, lines_end) + "end 7\n",                    // wrong count
      "warmup-sandbox-network 1\nproviders 1 gmail.sim\nsender 1 2\nend 1\n",
      "warmup-sandbox-network 1\nproviders 1 gmail.sim\n"
      "sender 1 2 0 2 0 0 0 0 0 0 0 0 1.5 2\nend 1\n",         // reputation out of range
      "warmup-sandbox-network 1\nproviders 1 gmail.sim\nbogus\nend 0\n",
      "warmup-sandbox-network 1\nproviders 1 gmail.sim\n"
      "sender 1 2 inf 2 0 0 0 0 0 0 0 0 0.5 2\nend 1\n",      // heat not finite
      "warmup-sandbox-network 1\n"
      "sender 1 2 0 2 0 0 0 0 0 0 0 0\nend 1\n",               // no providers line
      good + "sender 1\n",
  };
  for (const auto& text : bad) {
    std::string why;
    EXPECT_FALSE(net.restore(text, &why)) << text;
    EXPECT_NE(why.find("sandbox network snapshot line"), std::string::npos) << why;
    EXPECT_EQ(net.snapshot(), good);
  }
  // Providers are matched by name: an unknown one is skipped, a missing one starts fresh.
  network other;
  ASSERT_TRUE(other.restore("warmup-sandbox-network 1\nproviders 2 old.sim mail.sim\n"
                            "sender 3 20000 0 20000 0 0 0 0 0 0 0 0 0.9 20000 0.8 20000\n"
                            "end 1\n"));
  const time_ms at = 20000 * ms_per_day;
  EXPECT_DOUBLE_EQ(rep(other, 3, "mail.sim", at), 0.8);
  EXPECT_DOUBLE_EQ(rep(other, 3, "gmail.sim", at), other.params().initial_reputation);
}

TEST(sandbox_network, deterministic_for_a_fixed_seed) {
  auto run = [](std::uint64_t seed) {
    network_params p;
    p.seed = seed;
    network net(p);
    populate(net, 30);
    int counter = 0;
    std::vector<folder> placements;
    for (int day = 0; day < 5; ++day) {
      engaged_day(net, 0, 12, 30, day, counter);
      for (int i = 0; i < 30; ++i)
        placements.push_back(net.deliver({7, static_cast<mailbox_id>(1 + i),
                                          id_of(5000 + day * 100 + i), {}, 1, 0},
                                         day0 + day * ms_per_day + 20 * hour)
                                 .placement);
    }
    return std::pair{placements, net.snapshot()};
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3).first, run(4).first);
}

TEST(sandbox_network, concurrent_use_keeps_counts_consistent) {
  network net;
  populate(net, 64);
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&net, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto from = static_cast<mailbox_id>(1 + (i + t) % 64);
        const auto to = static_cast<mailbox_id>(1 + (i * 7 + t * 13) % 64);
        const auto id = "<t" + std::to_string(t) + "." + std::to_string(i) + ">";
        const time_ms at = day0 + i * ms_per_minute;
        const auto d = net.deliver({from, to, id, {}, 1, 0}, at);
        if (d.placement == folder::spam) net.rescue(to, id, at);
        net.set_flags(to, id, {true, i % 5 == 0, false}, at);
        net.file(to, id, at);
        if (i % 500 == 0) net.cleanup(at, 30 * ms_per_day);
      }
    });
  for (auto& w : workers) w.join();
  const auto t = net.totals();
  std::uint64_t accepted = 0, placed = 0;
  for (const auto& p : t.providers) {
    accepted += p.accepted;
    placed += p.inbox + p.spam;
  }
  EXPECT_EQ(accepted, static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(placed, accepted);
  EXPECT_EQ(t.messages_stored, accepted);  // nothing older than 30 days in 5000 minutes
  EXPECT_EQ(t.senders, 64u);
}

}  // namespace
}  // namespace warmup::sandbox
