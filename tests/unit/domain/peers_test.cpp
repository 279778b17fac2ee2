// peers_test.cpp: the peer draw against its rules: exclusions, the exact weighting
// (statistically, fixed seeds), inbound caps, pair limits over a week, day starts,
// determinism.
#include "warmup/peers.hpp"
#include "warmup/random.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace warmup;

namespace {

struct pool_member {
  mailbox_id id;
  std::string provider;
  std::string organisation;
  int daily_limit = 20;
  bool healthy = false;
  bool active = true;
  std::string email() const { return "m" + std::to_string(id) + "@" + organisation + ".example"; }
};

void add(peer_directory& d, const pool_member& m) {
  auto email = m.email();
  d.upsert({m.id, email, m.provider, m.organisation, m.daily_limit, m.healthy, m.active});
}

// A pool of `orgs` organisations of 1..6 members spread over `providers` providers.
std::vector<pool_member> make_pool(int orgs, int providers, int daily_limit,
                                   std::uint64_t seed) {
  rng r(seed);
  std::vector<pool_member> out;
  mailbox_id next = 1;
  for (int o = 0; o < orgs; ++o) {
    auto provider = "p" + std::to_string(r.uniform_int(0, providers - 1));
    auto size = r.uniform_int(1, 6);
    for (int i = 0; i < size; ++i)
      out.push_back({next++, provider, "org" + std::to_string(o), daily_limit,
                     r.chance(0.3), true});
  }
  return out;
}

peer_directory directory_of(const std::vector<pool_member>& pool, peer_rules rules = {}) {
  peer_directory d(rules);
  for (const auto& m : pool)
    add(d, m);
  return d;
}

std::map<mailbox_id, const pool_member*> by_id(const std::vector<pool_member>& pool) {
  std::map<mailbox_id, const pool_member*> out;
  for (const auto& m : pool)
    out[m.id] = &m;
  return out;
}

}  // namespace

TEST(peers, never_self_never_own_organisation_at_zero_internal_share) {
  auto pool = make_pool(60, 4, 40, 1);
  auto ids = by_id(pool);
  auto d = directory_of(pool);
  d.start_day(100);
  rng r(7);
  int drawn = 0;
  for (int round = 0; round < 10; ++round) {
    for (const auto& s : pool) {
      auto c = d.choose(s.id, r);
      ASSERT_TRUE(c.has_value());
      ++drawn;
      ASSERT_NE(c->to, s.id);
      EXPECT_NE(ids.at(c->to)->organisation, s.organisation);
      if (c->cc) {
        EXPECT_NE(*c->cc, s.id);
        EXPECT_NE(*c->cc, c->to);
        EXPECT_NE(ids.at(*c->cc)->organisation, s.organisation);
      }
    }
  }
  EXPECT_EQ(drawn, 10 * static_cast<int>(pool.size()));
}

TEST(peers, internal_share_is_honoured) {
  // Organisations of 4, generous limits: an internal partner is always available.
  std::vector<pool_member> pool;
  for (mailbox_id id = 1; id <= 200; ++id)
    pool.push_back({id, "p" + std::to_string(id % 3), "org" + std::to_string((id - 1) / 4),
                    1000, false, true});
  auto ids = by_id(pool);
  peer_rules rules;
  rules.internal_share = 0.25;
  rules.cc_rate = 0.0;
  rules.pair_max = 0;  // no pair limit: only the share is under test
  auto d = directory_of(pool, rules);
  rng r(11);
  int internal = 0, total = 0;
  for (int round = 0; round < 40; ++round)
    for (const auto& s : pool) {
      auto c = d.choose(s.id, r);
      ASSERT_TRUE(c);
      ASSERT_NE(c->to, s.id);
      internal += ids.at(c->to)->organisation == s.organisation;
      ++total;
    }
  double share = static_cast<double>(internal) / total;
  EXPECT_NEAR(share, 0.25, 4.5 * std::sqrt(0.25 * 0.75 / total));
}

TEST(peers, internal_draw_falls_back_outside_a_single_member_organisation) {
  std::vector<pool_member> pool = {{1, "p0", "solo"}, {2, "p1", "other"}};
  peer_rules rules;
  rules.internal_share = 1.0;
  auto d = directory_of(pool, rules);
  rng r(3);
  auto c = d.choose(1, r);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to, 2u);
}

TEST(peers, single_draw_follows_the_exact_weights) {
  // Every factor of the rule in one small pool; each trial starts from the same state,
  // so the empirical distribution of one draw is compared with the formula.
  peer_rules rules;
  rules.cc_rate = 0.0;
  const std::vector<pool_member> pool = {
    {1, "gmail", "alpha", 20},                 // the sender
    {2, "gmail", "alpha", 20},                 // own organisation: never
    {3, "gmail", "beta", 20, true},            // same provider, healthy
    {4, "gmail", "beta", 10},                  // same provider, 7 of 15 inbound used
    {5, "outlook", "gamma", 20},               // other provider
    {6, "outlook", "gamma", 20, true},         // other provider, healthy, 1 pair message
    {7, "outlook", "gamma", 20},               // other provider, 2 pair messages
    {8, "yahoo", "delta", 20},                 // 4 pair messages: excluded
    {9, "yahoo", "delta", 20, false, false},   // inactive: never
    {10, "yahoo", "delta", 2},                 // at its cap (3 of 3): never
    {11, "custom", "zeta", 40},                // other provider, 14 of 60 used
  };
  auto prepare = [&]() {
    auto d = directory_of(pool, rules);
    d.start_day(500);
    for (int i = 0; i < 7; ++i)
      d.record(11, 4);
    d.record(1, 6);
    d.record(7, 1);
    d.record(1, 7);
    for (int i = 0; i < 4; ++i)
      d.record(i % 2 ? 1 : 8, i % 2 ? 8 : 1);
    for (int i = 0; i < 3; ++i)
      d.record(11, 10);
    for (int i = 0; i < 14; ++i)
      d.record(3, 11);
    return d;
  };
  {
    auto d = prepare();
    EXPECT_EQ(d.pair_count(1, 6), 1);
    EXPECT_EQ(d.pair_count(7, 1), 2);
    EXPECT_EQ(d.pair_count(1, 8), 4);
    EXPECT_EQ(d.inbound_today(4), 7);
    EXPECT_EQ(d.inbound_today(10), 3);
  }
  // The weights by the documented formula, written out independently.
  auto capacity = [](int limit, int used) {
    double cap = std::floor(1.5 * limit);
    return std::max(0.05, (cap - used) / cap);
  };
  std::map<mailbox_id, double> expected = {
    {3, 3.0 * 1.8 * capacity(20, 0)},
    {4, 3.0 * capacity(10, 7)},
    {5, 6.0 * capacity(20, 0)},
    {6, 6.0 * 1.8 * capacity(20, 1) * 0.4},
    {7, 6.0 * capacity(20, 1) * 0.4 * 0.4},
    {11, 6.0 * capacity(40, 14)},
  };
  double sum = 0;
  for (auto& [id, w] : expected)
    sum += w;
  constexpr int trials = 6000;
  std::map<mailbox_id, int> seen;
  for (int t = 0; t < trials; ++t) {
    auto d = prepare();
    rng r(seed_of(99, static_cast<std::uint64_t>(t)));
    auto c = d.choose(1, r);
    ASSERT_TRUE(c);
    ++seen[c->to];
  }
  double chi2 = 0;
  for (auto& [id, w] : expected) {
    double e = trials * w / sum;
    chi2 += (seen[id] - e) * (seen[id] - e) / e;
  }
  for (auto [id, n] : seen)
    EXPECT_TRUE(expected.count(id)) << "drew excluded member " << id << " " << n << " times";
  // 5 degrees of freedom: P(chi2 > 20.5) = 0.001.
  EXPECT_LT(chi2, 20.5) << "3:" << seen[3] << " 4:" << seen[4] << " 5:" << seen[5]
                        << " 6:" << seen[6] << " 7:" << seen[7] << " 11:" << seen[11];
}

TEST(peers, other_providers_are_preferred_in_the_configured_ratio) {
  // 50 same-provider and 50 other-provider recipients, equal in everything else; caps so
  // large the capacity factor stays ~1, no pair limit: P(other) = 2 x 50 / (2 x 50 + 50).
  std::vector<pool_member> pool = {{1, "gmail", "home", 1000000}};
  for (mailbox_id id = 2; id < 102; ++id)
    pool.push_back({id, id % 2 ? "gmail" : "outlook", "org" + std::to_string(id),
                    1000000, false, true});
  peer_rules rules;
  rules.pair_max = 0;
  rules.pair_decay = 1.0;
  rules.cc_rate = 0.0;
  auto d = directory_of(pool, rules);
  auto ids = by_id(pool);
  rng r(5);
  constexpr int n = 9000;
  int other = 0;
  for (int i = 0; i < n; ++i)
    other += ids.at(d.choose(1, r)->to)->provider != "gmail";
  EXPECT_NEAR(static_cast<double>(other) / n, 2.0 / 3.0,
              4.5 * std::sqrt(2.0 / 9.0 / n));
}

TEST(peers, inbound_cap_holds_over_a_full_day) {
  auto pool = make_pool(120, 5, 0, 21);
  rng limits(4);
  for (auto& m : pool)
    m.daily_limit = static_cast<int>(limits.uniform_int(2, 40));
  auto d = directory_of(pool);
  d.start_day(2000);
  rng r(8);
  // Everyone sends its full daily limit (more than the real openers), round robin.
  std::map<mailbox_id, int> left;
  int planned = 0;
  for (const auto& m : pool) {
    left[m.id] = m.daily_limit;
    planned += m.daily_limit;
  }
  int delivered = 0, failed = 0;
  for (bool any = true; any;) {
    any = false;
    for (const auto& m : pool) {
      if (left[m.id] == 0)
        continue;
      --left[m.id];
      any = true;
      if (auto c = d.choose(m.id, r))
        delivered += 1 + (c->cc ? 1 : 0);
      else
        ++failed;
    }
  }
  int inbound = 0;
  for (const auto& m : pool) {
    EXPECT_LE(d.inbound_today(m.id), static_cast<int>(std::floor(1.5 * m.daily_limit)))
      << "member " << m.id;
    inbound += d.inbound_today(m.id);
  }
  EXPECT_EQ(inbound, delivered);
  EXPECT_LT(failed, planned / 20);  // capacity 1.5x the volume: nearly all placed
}

TEST(peers, pair_limits_hold_over_seven_days) {
  // Five single-member organisations sending 3 a day: 4 partners x 4 messages cannot
  // carry a week of it, so the limit bites. pair_count is checked against a plain log.
  std::vector<pool_member> pool = {{1, "a", "o1", 10}, {2, "a", "o2", 10},
                                   {3, "b", "o3", 10}, {4, "b", "o4", 10},
                                   {5, "c", "o5", 10}};
  auto d = directory_of(pool);
  rng r(17);
  std::vector<std::tuple<day_number, mailbox_id, mailbox_id>> log;
  auto windowed = [&](day_number today, mailbox_id a, mailbox_id b) {
    int n = 0;
    for (auto& [day, x, y] : log)
      n += day > today - 7 && day <= today && ((x == a && y == b) || (x == b && y == a));
    return n;
  };
  int drawn = 0, refused = 0;
  for (day_number day = 300; day < 314; ++day) {
    d.start_day(day);
    for (int round = 0; round < 3; ++round)
      for (const auto& s : pool) {
        auto c = d.choose(s.id, r);
        if (!c) {
          ++refused;
          continue;
        }
        ++drawn;
        log.emplace_back(day, s.id, c->to);
        if (c->cc)
          log.emplace_back(day, s.id, *c->cc);
        ASSERT_LE(d.pair_count(s.id, c->to), 4);
      }
    for (const auto& a : pool)
      for (const auto& b : pool)
        if (a.id < b.id) {
          ASSERT_EQ(d.pair_count(a.id, b.id), windowed(day, a.id, b.id))
            << "day " << day << " pair " << a.id << "," << b.id;
          ASSERT_LE(d.pair_count(a.id, b.id), 4);
        }
  }
  EXPECT_GT(drawn, 0);
  EXPECT_GT(refused, 0);  // the pool is small enough for the limit to bite
}

TEST(peers, start_day_resets_inbound_and_forgets_old_pairs) {
  std::vector<pool_member> pool = {{1, "a", "o1"}, {2, "b", "o2"}, {3, "c", "o3"}};
  auto d = directory_of(pool);
  d.start_day(10);
  d.record(1, 2);
  d.record(2, 1);
  d.record(1, 3);
  EXPECT_EQ(d.inbound_today(2), 1);
  EXPECT_EQ(d.pair_count(1, 2), 2);
  EXPECT_EQ(d.pair_count(2, 1), 2);
  d.start_day(11);
  EXPECT_EQ(d.inbound_today(2), 0);
  EXPECT_EQ(d.pair_count(1, 2), 2);
  d.record(2, 1);
  d.start_day(11);  // a repeated start of the same day keeps that day's history
  EXPECT_EQ(d.pair_count(1, 2), 3);
  d.start_day(16);  // window (9, 16]: day 10 still in
  EXPECT_EQ(d.pair_count(1, 2), 3);
  d.start_day(17);  // day 10 left the window, day 11 stays
  EXPECT_EQ(d.pair_count(1, 2), 1);
  EXPECT_EQ(d.pair_count(1, 3), 0);
  d.start_day(30);  // a jump forgets everything
  EXPECT_EQ(d.pair_count(1, 2), 0);
}

TEST(peers, a_day_start_frees_capacity_again) {
  std::vector<pool_member> pool = {{1, "a", "o1", 20}, {2, "b", "o2", 2}};
  auto d = directory_of(pool);
  d.start_day(1);
  rng r(1);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(d.choose(1, r));
  EXPECT_FALSE(d.choose(1, r));  // member 2 is at its cap of 3
  d.start_day(2);
  EXPECT_TRUE(d.choose(1, r));   // fresh inbound; pair count 3 of 4 still allows one
}

TEST(peers, inactive_and_removed_members_are_never_drawn) {
  auto pool = make_pool(30, 3, 40, 41);
  auto d = directory_of(pool);
  std::set<mailbox_id> off;
  for (std::size_t i = 0; i < pool.size(); i += 3) {
    d.set_active(pool[i].id, false);
    off.insert(pool[i].id);
  }
  for (std::size_t i = 1; i < pool.size(); i += 7) {
    d.remove(pool[i].id);
    off.insert(pool[i].id);
  }
  EXPECT_EQ(d.size(), pool.size() - (pool.size() + 5) / 7);
  rng r(2);
  for (int round = 0; round < 20; ++round)
    for (const auto& s : pool) {
      if (off.count(s.id))
        continue;
      d.start_day(round);
      if (auto c = d.choose(s.id, r)) {
        EXPECT_FALSE(off.count(c->to)) << c->to;
        if (c->cc) {
          EXPECT_FALSE(off.count(*c->cc)) << *c->cc;
        }
      }
    }
  // Re-activated members come back.
  d.set_active(pool[0].id, true);
  std::set<mailbox_id> seen;
  for (int i = 0; i < 3000; ++i) {
    d.start_day(1000 + i);
    if (auto c = d.choose(pool[2].id, r))
      seen.insert(c->to);
  }
  EXPECT_TRUE(seen.count(pool[0].id) || pool[0].organisation == pool[2].organisation);
}

TEST(peers, nullopt_when_nobody_is_eligible) {
  rng r(1);
  {
    peer_directory d;
    EXPECT_FALSE(d.choose(1, r));  // unknown sender
    add(d, {1, "a", "solo"});
    EXPECT_FALSE(d.choose(1, r));  // alone in the pool
  }
  {
    auto d = directory_of({{1, "a", "same"}, {2, "b", "same"}, {3, "c", "same"}});
    EXPECT_FALSE(d.choose(1, r));  // only its own organisation, internal share 0
  }
  {
    auto d = directory_of({{1, "a", "o1"}, {2, "b", "o2", 20, false, false}});
    EXPECT_FALSE(d.choose(1, r));  // the only other member is inactive
    d.set_active(2, true);
    d.set_daily_limit(2, 0);
    EXPECT_FALSE(d.choose(1, r));  // ... then has no inbound capacity
  }
  {
    auto d = directory_of({{1, "a", "o1"}, {2, "b", "o2"}});
    for (int i = 0; i < 4; ++i)
      d.record(2, 1);
    EXPECT_FALSE(d.choose(1, r));  // the only pair is at its weekly maximum
    EXPECT_EQ(d.inbound_today(2), 0);
  }
}

TEST(peers, a_heavily_used_pair_is_still_drawn_exactly) {
  // Acceptance 0.4^3 = 6.4%: the bounded rejection often gives up and the exact scan
  // must still return the only eligible member.
  auto d = directory_of({{1, "a", "o1"}, {2, "b", "o2", 1000}});
  for (int trial = 0; trial < 200; ++trial) {
    d.start_day(trial * 10);  // the window forgets the previous trial
    for (int i = 0; i < 3; ++i)
      d.record(1, 2);
    rng r(static_cast<std::uint64_t>(trial));
    auto c = d.choose(1, r);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->to, 2u);
    EXPECT_EQ(d.pair_count(1, 2), 4);
  }
}

TEST(peers, cc_is_a_second_distinct_draw_at_its_rate) {
  auto pool = make_pool(80, 4, 1000, 51);
  peer_rules rules;
  rules.cc_rate = 0.2;
  rules.pair_max = 0;
  auto d = directory_of(pool, rules);
  rng r(6);
  int with_cc = 0, n = 0;
  for (int round = 0; round < 20; ++round)
    for (const auto& s : pool) {
      auto c = d.choose(s.id, r);
      ASSERT_TRUE(c);
      ++n;
      if (c->cc) {
        ++with_cc;
        EXPECT_NE(*c->cc, c->to);
        EXPECT_NE(*c->cc, s.id);
      }
    }
  EXPECT_NEAR(static_cast<double>(with_cc) / n, 0.2, 4.5 * std::sqrt(0.16 / n));
  // Both recipients were counted inbound.
  int inbound = 0;
  for (const auto& m : pool)
    inbound += d.inbound_today(m.id);
  EXPECT_EQ(inbound, n + with_cc);
}

TEST(peers, draws_are_deterministic_given_the_seed) {
  auto pool = make_pool(50, 4, 25, 61);
  auto run = [&](std::uint64_t seed) {
    auto d = directory_of(pool);
    std::vector<std::pair<mailbox_id, mailbox_id>> out;
    rng r(seed);
    for (int day = 0; day < 3; ++day) {
      d.start_day(day);
      for (const auto& s : pool) {
        auto c = d.choose(s.id, r);
        out.emplace_back(c ? c->to : no_mailbox, c && c->cc ? *c->cc : no_mailbox);
      }
    }
    return out;
  };
  EXPECT_EQ(run(123), run(123));
  EXPECT_NE(run(123), run(124));
}

TEST(peers, upserts_move_members_between_providers_and_organisations) {
  auto d = directory_of({{1, "a", "o1"}, {2, "a", "o2"}, {3, "b", "o3"}});
  rng r(9);
  ASSERT_TRUE(d.choose(1, r));
  add(d, {2, "a", "o1"});  // 2 joins the sender's organisation
  add(d, {3, "b", "o1"});  // and so does 3, on another provider
  EXPECT_EQ(d.size(), 3u);
  EXPECT_FALSE(d.choose(1, r));
  add(d, {4, "c", "o4"});
  for (int i = 0; i < 5; ++i) {
    d.start_day(100 + i * 10);
    auto c = d.choose(3, r);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->to, 4u);
  }
}

// The pair filter may only err towards "maybe". In pools of 1024+ members the pairs of
// two small organisations share filter words by organisation pair (read before the
// candidate is known) while the others use the member pair; a false "no" would let a
// pair past pair_max. These pools are big enough for both kinds.
namespace {

using message_log = std::vector<std::tuple<day_number, mailbox_id, mailbox_id>>;

// Every pair in the log, both ways, against the directory's count of the 7-day window.
void expect_counts_match(const peer_directory& d, const message_log& log, day_number today,
                         const char* when) {
  std::map<std::pair<mailbox_id, mailbox_id>, int> expected;
  for (const auto& [day, x, y] : log) {
    auto& n = expected[{std::min(x, y), std::max(x, y)}];
    n += day > today - 7 && day <= today;
  }
  for (const auto& [pair, n] : expected) {
    ASSERT_EQ(d.pair_count(pair.first, pair.second), n)
      << when << ": pair " << pair.first << "," << pair.second;
    ASSERT_EQ(d.pair_count(pair.second, pair.first), n)
      << when << ": pair " << pair.second << "," << pair.first;
  }
}

}  // namespace

TEST(peers, pair_counts_are_exact_in_a_large_pool_of_small_and_large_organisations) {
  // 1100 members: organisations of 1-3 (small for this pool) and three of 40 (large).
  std::vector<pool_member> pool;
  rng setup(2024);
  mailbox_id next = 1;
  int org = 0;
  while (pool.size() < 1100) {
    const auto size = pool.size() < 120 ? 40 : setup.uniform_int(1, 3);
    const auto provider = "p" + std::to_string(setup.uniform_int(0, 3));
    for (int i = 0; i < size; ++i)
      pool.push_back({next++, provider, "org" + std::to_string(org), 1000, false, true});
    ++org;
  }
  auto d = directory_of(pool);
  rng r(5);
  message_log log;
  day_number day = 500;
  for (; day < 508; ++day) {
    d.start_day(day);
    for (int round = 0; round < 3; ++round)
      for (std::size_t i = 0; i < pool.size(); i += 1 + round) {
        auto c = d.choose(pool[i].id, r);
        ASSERT_TRUE(c);
        log.emplace_back(day, pool[i].id, c->to);
        if (c->cc)
          log.emplace_back(day, pool[i].id, *c->cc);
      }
    // Replies recorded outside choose(), between both kinds of organisation.
    for (int i = 0; i < 50; ++i) {
      const auto& [when, from, to] = log[log.size() - 1 - static_cast<std::size_t>(i)];
      d.record(to, from);
      log.emplace_back(day, to, from);
    }
  }
  --day;
  expect_counts_match(d, log, day, "after a week");

  // A member with history leaves and comes back within the window (same id): the
  // others' messages with it still count.
  const auto leaver = std::get<1>(log.back());
  ASSERT_GT(d.pair_count(leaver, std::get<2>(log.back())), 0);
  d.remove(leaver);
  for (const auto& m : pool)
    if (m.id == leaver)
      add(d, m);
  std::erase_if(log, [&](const auto& m) { return std::get<1>(m) == leaver; });  // its own list went
  expect_counts_match(d, log, day, "after leaving and coming back");

  // Moves between small organisations that leave every organisation small (1-2
  // members: the limit for this pool): only the moved members' filter words change.
  std::map<std::string, std::vector<std::size_t>> members_of;
  for (std::size_t i = 120; i < pool.size(); ++i)
    members_of[pool[i].organisation].push_back(i);
  std::vector<std::string> pairs_orgs, solo_orgs;
  for (const auto& [name, at] : members_of)
    (at.size() == 2 ? pairs_orgs : solo_orgs).push_back(name);
  ASSERT_GE(pairs_orgs.size(), 2u);
  ASSERT_GE(solo_orgs.size(), 2u);
  const auto& mover = pool[members_of[pairs_orgs[0]][0]];
  add(d, {mover.id, mover.provider, solo_orgs[0], 1000});
  const auto& returner = pool[members_of[pairs_orgs[1]][0]];
  d.remove(returner.id);
  add(d, {returner.id, returner.provider, solo_orgs[1], 1000});
  std::erase_if(log, [&](const auto& m) { return std::get<1>(m) == returner.id; });
  auto c = d.choose(pool[300].id, r);  // rebuilds the draw structure and the filter
  ASSERT_TRUE(c);
  log.emplace_back(day, pool[300].id, c->to);
  if (c->cc)
    log.emplace_back(day, pool[300].id, *c->cc);
  expect_counts_match(d, log, day, "after moves between small organisations");

  // Moves between small and large organisations change which organisations are small;
  // counted before any rebuild, then after one.
  add(d, {pool[200].id, pool[200].provider, "org0", 1000});
  add(d, {pool[5].id, pool[5].provider, "a-new-small-org", 1000});
  expect_counts_match(d, log, day, "after organisation moves, not rebuilt");
  c = d.choose(pool[300].id, r);
  ASSERT_TRUE(c);
  log.emplace_back(day, pool[300].id, c->to);
  if (c->cc)
    log.emplace_back(day, pool[300].id, *c->cc);
  expect_counts_match(d, log, day, "after organisation moves");

  // A member joins an untouched organisation of two (it becomes large for this pool)
  // and one leaves an organisation of three (it becomes small). The history is long, so
  // these organisations are not re-marked but checked under both words: counts stay
  // exact, and further days of draws never take a pair past pair_max.
  std::vector<std::string> triple_orgs;
  for (const auto& [name, at] : members_of)
    if (at.size() == 3)
      triple_orgs.push_back(name);
  ASSERT_GE(pairs_orgs.size(), 3u);
  ASSERT_FALSE(triple_orgs.empty());
  const auto& host = pool[members_of[pairs_orgs[2]][0]];
  add(d, {9000, host.provider, pairs_orgs[2], 1000});
  const auto leaving = pool[members_of[triple_orgs[0]][0]].id;
  d.remove(leaving);
  std::erase_if(log, [&](const auto& m) {
    return std::get<1>(m) == leaving || std::get<2>(m) == leaving;  // no longer a member
  });
  c = d.choose(pool[300].id, r);
  ASSERT_TRUE(c);
  log.emplace_back(day, pool[300].id, c->to);
  if (c->cc)
    log.emplace_back(day, pool[300].id, *c->cc);
  expect_counts_match(d, log, day, "after organisations changed class");
  for (++day; day < 511; ++day) {
    d.start_day(day);
    for (std::size_t i = 0; i < pool.size(); i += 2) {
      if (pool[i].id == leaving)
        continue;
      auto next_choice = d.choose(pool[i].id, r);
      ASSERT_TRUE(next_choice);
      log.emplace_back(day, pool[i].id, next_choice->to);
      ASSERT_LE(d.pair_count(pool[i].id, next_choice->to), 4);
      if (next_choice->cc)
        log.emplace_back(day, pool[i].id, *next_choice->cc);
    }
  }
  --day;
  expect_counts_match(d, log, day, "days after organisations changed class");
}

TEST(peers, exhausted_pairs_between_small_organisations_are_never_drawn) {
  // 1100 members keep the organisation-pair filter words in use; 60 take mail (enough
  // partners for 1 and 2 not to exhaust all their pairs in 165 draws each).
  std::vector<pool_member> pool;
  for (mailbox_id id = 1; id <= 1100; ++id)
    pool.push_back({id, id % 2 ? "p1" : "p2", "solo" + std::to_string(id), 1000, false,
                    id <= 60});
  auto d = directory_of(pool);
  d.start_day(40);
  for (int i = 0; i < 4; ++i)
    d.record(1, 2);  // the pair (1, 2) is at pair_max
  rng r(77);
  std::map<mailbox_id, int> from_one;
  for (int i = 0; i < 150; ++i) {
    auto a = d.choose(1, r);
    ASSERT_TRUE(a);
    ASSERT_NE(a->to, 2u);
    ASSERT_TRUE(!a->cc || *a->cc != 2u);
    ++from_one[a->to];
    auto b = d.choose(2, r);
    ASSERT_TRUE(b);
    ASSERT_NE(b->to, 1u);
    ASSERT_TRUE(!b->cc || *b->cc != 1u);
    if (i % 50 == 49)
      d.start_day(40);  // same day again: inbound resets, the pair history stays
  }
  EXPECT_EQ(d.pair_count(1, 2), 4);
  EXPECT_GT(from_one.size(), 40u);  // the others stay reachable
}

TEST(peers, large_weight_factors_shrink_the_fixed_point_scale_without_losing_the_ratio) {
  // healthy_weight 300 does not fit 32-bit weights at the usual scale: the directory
  // scales down; a healthy member must still be drawn ~300x as often as an unhealthy one.
  peer_rules rules;
  rules.healthy_weight = 300.0;
  rules.cc_rate = 0.0;
  rules.pair_max = 0;  // no pair limit and no decay: 5000 draws among two recipients
  rules.pair_decay = 1.0;
  auto d = directory_of({{1, "a", "o1", 100000}, {2, "b", "o2", 100000, true},
                         {3, "b", "o3", 100000, false}},
                        rules);
  rng r(3);
  int healthy = 0, plain = 0;
  for (int i = 0; i < 5000; ++i) {
    auto c = d.choose(1, r);
    ASSERT_TRUE(c);
    (c->to == 2u ? healthy : plain) += 1;
  }
  EXPECT_GE(plain, 5);   // expected ~16.6 of 5000
  EXPECT_LE(plain, 35);
  EXPECT_EQ(healthy + plain, 5000);
}

TEST(peers, draws_follow_the_weights_across_a_deep_block_tree) {
  // 600 single-member organisations are 600 blocks: four levels of the 8-ary sum tree,
  // with runs of zero-weight (inactive) blocks between the five that take mail.
  peer_rules rules;
  rules.cc_rate = 0.0;
  rules.pair_max = 0;  // no pair limit and no decay: only the members' own weights
  rules.pair_decay = 1.0;
  std::vector<pool_member> pool;
  const std::set<mailbox_id> open = {7, 150, 333, 480, 599};
  const std::set<mailbox_id> healthy = {150, 480};
  for (mailbox_id id = 1; id <= 600; ++id)
    pool.push_back({id, "p1", "solo" + std::to_string(id), 1000000, healthy.contains(id),
                    open.contains(id)});
  pool.push_back({1000, "p2", "sender", 10});
  auto d = directory_of(pool, rules);
  rng r(8);
  std::map<mailbox_id, int> hits;
  constexpr int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    auto c = d.choose(1000, r);
    ASSERT_TRUE(c);
    ASSERT_TRUE(open.contains(c->to)) << c->to;
    ++hits[c->to];
  }
  // Capacity barely moves (20000 of 1.5M each): healthy 1.8 / 6.6, plain 1 / 6.6.
  for (auto id : open) {
    const double expected = (healthy.contains(id) ? 1.8 : 1.0) / 6.6;
    EXPECT_NEAR(hits[id] / double(draws), expected, 0.015) << id;
  }
}
