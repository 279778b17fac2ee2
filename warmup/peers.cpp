// peers.cpp: the pool directory and its weighted peer draw, O(log N) per draw.
//
// Layout. Members are kept in slots (stable while a member exists) and, for drawing, in
// an order sorted by (provider, organisation, id): every provider is then one contiguous
// range of positions and every organisation one range per provider it spans. A Fenwick
// tree over positions holds each member's own weight w(r) = healthy factor x capacity
// factor in fixed point (integers, so sums are exact and a member of weight 0 can never
// be hit). The factors that depend on the SENDER are constant over whole ranges: other
// provider (x other_domain x other_provider), same provider but other organisation
// (x other_domain), own organisation (excluded, or the only range of an internal draw).
// A draw picks a range group by its mass (range sums from the tree), then a position by
// a prefix search. The pair factor pair_decay^k is per (sender, recipient) and is applied
// by rejection: accept the proposal with probability pair_decay^k. Because senders have
// few recent partners among many members, acceptance is almost always immediate; after
// a bounded number of rejections an exact scan of the candidate ranges takes over, so
// the result follows the exact distribution either way.
//
// Pair history: for each pair, the messages of each day of the window are stored once,
// in the list of the member with the smaller mailbox id (one 4-byte entry per message),
// in a ring of per-day lists; start_day clears the lists of days that left the window.
#include "warmup/peers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace warmup {

namespace {

// Fixed-point scale of member weights: 2^24 keeps 7 significant digits for the smallest
// capacity factor and lets 10^9 members of weight 1.8 sum without overflow.
constexpr double weight_scale = 16777216.0;
constexpr int max_rejections = 32;
constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();
constexpr day_number no_day = std::numeric_limits<day_number>::min();

struct position_range {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// A range of sorted positions drawn with one sender-dependent factor.
struct weighted_part {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  double factor = 1.0;
  std::uint64_t base = 0;  // prefix sum of weights before `begin`
  std::uint64_t sum = 0;   // weights inside the range
};

// The interned index of `name` in `names`, adding it when new.
std::uint32_t intern(std::vector<std::string>& names,
                     std::unordered_map<std::string, std::uint32_t>& index,
                     std::string_view name) {
  auto [it, added] = index.try_emplace(std::string(name),
                                       static_cast<std::uint32_t>(names.size()));
  if (added)
    names.emplace_back(name);
  return it->second;
}

// Fenwick (binary indexed) tree of unsigned weights; arithmetic is modulo 2^64, so a
// decrease is added as its two's complement and every prefix stays exact.
class fenwick_tree {
public:
  void assign(const std::vector<std::uint64_t>& leaves) {
    n_ = leaves.size();
    tree_.assign(n_ + 1, 0);
    for (std::size_t i = 1; i <= n_; ++i) {
      tree_[i] += leaves[i - 1];
      if (auto up = i + (i & (~i + 1)); up <= n_)
        tree_[up] += tree_[i];
    }
    top_bit_ = 1;
    while (top_bit_ * 2 <= n_)
      top_bit_ *= 2;
  }
  void add(std::size_t index, std::uint64_t delta) {
    for (auto i = index + 1; i <= n_; i += i & (~i + 1))
      tree_[i] += delta;
  }
  // Sum of the leaves [0, count).
  std::uint64_t prefix(std::size_t count) const {
    std::uint64_t sum = 0;
    for (auto i = count; i > 0; i -= i & (~i + 1))
      sum += tree_[i];
    return sum;
  }
  // The leaf index i with prefix(i) <= target < prefix(i + 1) (target < total).
  std::size_t find(std::uint64_t target) const {
    std::size_t at = 0;
    for (auto step = top_bit_; step > 0; step /= 2) {
      if (at + step <= n_ && tree_[at + step] <= target) {
        at += step;
        target -= tree_[at];
      }
    }
    return at;
  }

private:
  std::size_t n_ = 0;
  std::size_t top_bit_ = 0;
  std::vector<std::uint64_t> tree_;
};

}  // namespace

struct peer_directory::impl {
  struct member {
    mailbox_id id = no_mailbox;
    std::string email;
    std::uint32_t provider = 0;
    std::uint32_t organisation = 0;
    int daily_limit = 0;
    int cap = 0;
    int inbound = 0;
    bool healthy_steady = false;
    bool active = true;
    bool live = false;
  };

  explicit impl(peer_rules r) : rules(r) {
    window = std::max(1, rules.pair_window_days);
    ring_day.assign(static_cast<std::size_t>(window), no_day);
    ring_day[ring_of(current_day)] = current_day;
    double p = 1.0;
    for (int k = 0; k < decay_table_size; ++k) {
      decay_pow.push_back(p);
      p *= rules.pair_decay;
    }
  }

  // pair_decay^k by repeated multiplication (bit-identical everywhere, unlike pow).
  double decay(int k) const {
    if (k < decay_table_size)
      return decay_pow[static_cast<std::size_t>(k)];
    double p = decay_pow.back();
    for (int i = decay_table_size - 1; i < k; ++i)
      p *= rules.pair_decay;
    return p;
  }

  // A pair at pair_max messages in the window is not drawn (pair_max <= 0: no limit).
  bool pair_exhausted(int k) const {
    return rules.pair_max > 0 && k >= rules.pair_max;
  }

  peer_rules rules;

  // Members by slot.
  std::vector<member> members;
  std::vector<std::uint32_t> free_slots;
  std::unordered_map<mailbox_id, std::uint32_t> slot_of;
  std::size_t live_count = 0;

  std::vector<std::string> provider_names, organisation_names;
  std::unordered_map<std::string, std::uint32_t> provider_index, organisation_index;

  // The draw structure, valid while !dirty.
  bool dirty = true;
  std::vector<std::uint32_t> slot_at;       // sorted position -> slot
  std::vector<std::uint32_t> position_of;   // slot -> sorted position
  std::vector<std::uint64_t> leaf;          // sorted position -> weight in the tree
  fenwick_tree tree;
  std::vector<position_range> provider_range;                   // by provider index
  std::vector<std::vector<position_range>> organisation_ranges;  // by organisation index

  // Pair history ring: history[slot * window + ring] lists the larger mailbox ids of the
  // pairs (this member, other) with one entry per message on that ring day.
  int window = 7;
  day_number current_day = 0;
  std::vector<day_number> ring_day;
  std::vector<std::vector<mailbox_id>> history;
  static constexpr int decay_table_size = 16;
  std::vector<double> decay_pow;  // pair_decay^k for small k

  std::vector<weighted_part> parts;                                   // scratch
  std::vector<std::pair<double, std::uint32_t>> exact_candidates;     // scratch

  std::size_t ring_of(day_number day) const {
    auto m = day % window;
    return static_cast<std::size_t>(m < 0 ? m + window : m);
  }

  const member* find(mailbox_id id) const {
    auto it = slot_of.find(id);
    return it == slot_of.end() ? nullptr : &members[it->second];
  }
  std::uint32_t slot(mailbox_id id) const {
    auto it = slot_of.find(id);
    return it == slot_of.end() ? no_slot : it->second;
  }

  int cap_of(int daily_limit) const {
    auto cap = std::floor(rules.inbound_cap_factor * std::max(0, daily_limit));
    return cap <= 0 ? 0 : static_cast<int>(std::min(cap, 1e9));
  }

  // The recipient's own weight: healthy factor x capacity factor; 0 = never drawn.
  std::uint64_t weight_of(const member& m) const {
    if (!m.live || !m.active || m.cap <= 0 || m.inbound >= m.cap)
      return 0;
    double capacity = static_cast<double>(m.cap - m.inbound) / m.cap;
    double w = std::max(rules.min_capacity_weight, capacity)
               * (m.healthy_steady ? rules.healthy_weight : 1.0);
    if (!(w > 0.0))
      return 0;
    return static_cast<std::uint64_t>(std::llround(w * weight_scale));
  }

  // Brings the tree up to date with a member's weight (after inbound/limit/state moved).
  void refresh_weight(std::uint32_t s) {
    if (dirty)
      return;
    auto pos = position_of[s];
    auto w = weight_of(members[s]);
    if (w != leaf[pos]) {
      tree.add(pos, w - leaf[pos]);
      leaf[pos] = w;
    }
  }

  void rebuild() {
    slot_at.clear();
    for (std::uint32_t s = 0; s < members.size(); ++s)
      if (members[s].live)
        slot_at.push_back(s);
    std::sort(slot_at.begin(), slot_at.end(), [&](std::uint32_t a, std::uint32_t b) {
      const auto& x = members[a];
      const auto& y = members[b];
      if (x.provider != y.provider)
        return x.provider < y.provider;
      if (x.organisation != y.organisation)
        return x.organisation < y.organisation;
      return x.id < y.id;
    });
    position_of.assign(members.size(), no_slot);
    leaf.assign(slot_at.size(), 0);
    provider_range.assign(provider_names.size(), position_range{});
    organisation_ranges.assign(organisation_names.size(), {});
    for (std::uint32_t pos = 0; pos < slot_at.size(); ++pos) {
      const auto& m = members[slot_at[pos]];
      position_of[slot_at[pos]] = pos;
      leaf[pos] = weight_of(m);
      auto& pr = provider_range[m.provider];
      if (pr.begin == pr.end)
        pr.begin = pos;
      pr.end = pos + 1;
      auto& orgs = organisation_ranges[m.organisation];
      if (orgs.empty() || orgs.back().end != pos)
        orgs.push_back({pos, pos + 1});
      else
        orgs.back().end = pos + 1;
    }
    tree.assign(leaf);
    dirty = false;
  }

  void ensure_built() {
    if (dirty)
      rebuild();
  }

  // --- pair history --------------------------------------------------------------------

  int pair_count_slots(std::uint32_t a, std::uint32_t b) const {
    auto owner = members[a].id < members[b].id ? a : b;
    auto other = members[a].id < members[b].id ? members[b].id : members[a].id;
    int count = 0;
    const auto* lists = &history[static_cast<std::size_t>(owner) * window];
    for (int d = 0; d < window; ++d)
      for (auto id : lists[d])
        count += id == other;
    return count;
  }

  void record_pair(std::uint32_t a, std::uint32_t b) {
    if (rules.pair_window_days <= 0 || a == b)
      return;
    auto owner = members[a].id < members[b].id ? a : b;
    auto other = members[a].id < members[b].id ? members[b].id : members[a].id;
    history[static_cast<std::size_t>(owner) * window + ring_of(current_day)].push_back(other);
  }

  void record_inbound(std::uint32_t to) {
    ++members[to].inbound;
    refresh_weight(to);
  }

  // --- the draw ------------------------------------------------------------------------

  // Appends `range` minus the (sorted, disjoint) `holes` as parts with `factor`.
  void add_parts(position_range range, const std::vector<position_range>& holes,
                 double factor) {
    auto at = range.begin;
    for (const auto& h : holes) {
      if (h.end <= at || h.begin >= range.end)
        continue;
      if (h.begin > at)
        parts.push_back({at, h.begin, factor, 0, 0});
      at = std::max(at, h.end);
    }
    if (at < range.end)
      parts.push_back({at, range.end, factor, 0, 0});
  }

  void add_parts_around(position_range range, std::uint32_t hole, double factor) {
    add_parts(range, {{hole, hole + 1}}, factor);
  }

  // Fills the sums of the parts; returns their total mass (factor x weight).
  double measure_parts() {
    double mass = 0.0;
    for (auto& p : parts) {
      p.base = tree.prefix(p.begin);
      p.sum = tree.prefix(p.end) - p.base;
      mass += p.factor * static_cast<double>(p.sum);
    }
    return mass;
  }

  bool accept_pair(std::uint32_t sender, std::uint32_t candidate, rng& r) const {
    auto k = pair_count_slots(sender, candidate);
    if (pair_exhausted(k))
      return false;
    return k == 0 || r.uniform() < decay(k);
  }

  // One draw from the parts (already measured, total `mass` > 0), with the pair rules.
  std::optional<std::uint32_t> draw_from_parts(std::uint32_t sender, double mass, rng& r) {
    for (int attempt = 0; attempt < max_rejections; ++attempt) {
      double u = r.uniform() * mass;
      const weighted_part* chosen = nullptr;
      for (const auto& p : parts) {
        if (p.sum == 0)
          continue;
        chosen = &p;
        double m = p.factor * static_cast<double>(p.sum);
        if (u < m)
          break;
        u -= m;
      }
      auto offset = static_cast<std::uint64_t>(
        r.uniform_int(0, static_cast<std::int64_t>(chosen->sum - 1)));
      auto pos = static_cast<std::uint32_t>(tree.find(chosen->base + offset));
      auto candidate = slot_at[pos];
      if (accept_pair(sender, candidate, r))
        return candidate;
    }
    return draw_exact(sender, r);
  }

  // The exact distribution by a scan of the parts: used only after many rejections,
  // i.e. when the sender's recent partners hold most of the weight (small pools).
  std::optional<std::uint32_t> draw_exact(std::uint32_t sender, rng& r) {
    exact_candidates.clear();
    double mass = 0.0;
    for (const auto& p : parts) {
      if (p.sum == 0)
        continue;
      for (auto pos = p.begin; pos < p.end; ++pos) {
        if (leaf[pos] == 0)
          continue;
        auto candidate = slot_at[pos];
        auto k = pair_count_slots(sender, candidate);
        if (pair_exhausted(k))
          continue;
        double m = p.factor * static_cast<double>(leaf[pos]) * decay(k);
        if (!(m > 0.0))
          continue;
        mass += m;
        exact_candidates.emplace_back(mass, candidate);
      }
    }
    if (exact_candidates.empty())
      return std::nullopt;
    double u = r.uniform() * mass;
    auto it = std::upper_bound(exact_candidates.begin(), exact_candidates.end(), u,
                               [](double v, const auto& c) { return v < c.first; });
    if (it == exact_candidates.end())
      --it;
    return it->second;
  }

  void external_parts(std::uint32_t sender) {
    parts.clear();
    const auto& m = members[sender];
    const auto& own_provider = provider_range[m.provider];
    const auto& own_org = organisation_ranges[m.organisation];
    const double other_domain = rules.other_domain_weight;
    const double other_provider = rules.other_domain_weight * rules.other_provider_weight;
    const auto n = static_cast<std::uint32_t>(slot_at.size());
    add_parts({0, own_provider.begin}, own_org, other_provider);
    add_parts(own_provider, own_org, other_domain);
    add_parts({own_provider.end, n}, own_org, other_provider);
  }

  std::optional<std::uint32_t> draw(std::uint32_t sender, rng& r) {
    if (r.chance(rules.internal_share)) {
      parts.clear();
      const auto me = position_of[sender];
      for (const auto& range : organisation_ranges[members[sender].organisation])
        add_parts_around(range, me, 1.0);
      if (double mass = measure_parts(); mass > 0.0)
        if (auto to = draw_from_parts(sender, mass, r))
          return to;
      // Nobody in the organisation can take it: the send goes out of it as usual.
    }
    external_parts(sender);
    double mass = measure_parts();
    if (!(mass > 0.0))
      return std::nullopt;
    return draw_from_parts(sender, mass, r);
  }

  // Temporarily takes a member out of the draw (the `to` of a Cc draw).
  void suppress(std::uint32_t s) {
    auto pos = position_of[s];
    tree.add(pos, 0 - leaf[pos]);
    leaf[pos] = 0;
  }
};

peer_directory::peer_directory(peer_rules rules) : impl_(std::make_unique<impl>(rules)) {
}

peer_directory::~peer_directory() = default;
peer_directory::peer_directory(peer_directory&&) noexcept = default;
peer_directory& peer_directory::operator=(peer_directory&&) noexcept = default;

const peer_rules& peer_directory::rules() const {
  return impl_->rules;
}

void peer_directory::upsert(const peer_member& m) {
  auto& d = *impl_;
  auto provider = intern(d.provider_names, d.provider_index, m.provider);
  auto organisation = intern(d.organisation_names, d.organisation_index,
                             m.organisation.empty() ? email_domain(m.email) : m.organisation);
  auto s = d.slot(m.id);
  if (s == no_slot) {
    if (!d.free_slots.empty()) {
      s = d.free_slots.back();
      d.free_slots.pop_back();
    } else {
      s = static_cast<std::uint32_t>(d.members.size());
      d.members.emplace_back();
      d.history.resize(d.members.size() * static_cast<std::size_t>(d.window));
    }
    d.slot_of.emplace(m.id, s);
    ++d.live_count;
    d.dirty = true;
  }
  auto& x = d.members[s];
  if (x.live && (x.provider != provider || x.organisation != organisation))
    d.dirty = true;
  x.id = m.id;
  x.email = m.email;
  x.provider = provider;
  x.organisation = organisation;
  x.daily_limit = m.daily_limit;
  x.cap = d.cap_of(m.daily_limit);
  x.healthy_steady = m.healthy_steady;
  x.active = m.active;
  x.live = true;
  d.refresh_weight(s);
}

void peer_directory::remove(mailbox_id id) {
  auto& d = *impl_;
  auto s = d.slot(id);
  if (s == no_slot)
    return;
  d.members[s] = impl::member{};
  for (int r = 0; r < d.window; ++r)
    d.history[static_cast<std::size_t>(s) * d.window + r].clear();
  d.slot_of.erase(id);
  d.free_slots.push_back(s);
  --d.live_count;
  d.dirty = true;
}

void peer_directory::set_active(mailbox_id id, bool active) {
  auto& d = *impl_;
  if (auto s = d.slot(id); s != no_slot) {
    d.members[s].active = active;
    d.refresh_weight(s);
  }
}

void peer_directory::set_daily_limit(mailbox_id id, int daily_limit) {
  auto& d = *impl_;
  if (auto s = d.slot(id); s != no_slot) {
    d.members[s].daily_limit = daily_limit;
    d.members[s].cap = d.cap_of(daily_limit);
    d.refresh_weight(s);
  }
}

std::size_t peer_directory::size() const {
  return impl_->live_count;
}

void peer_directory::start_day(day_number day) {
  auto& d = *impl_;
  d.current_day = day;
  // Ring days outside (day - window, day] are forgotten; the ring slot of `day` is
  // emptied unless it already holds this very day (start_day called twice).
  for (int r = 0; r < d.window; ++r) {
    auto rd = d.ring_day[static_cast<std::size_t>(r)];
    bool in_window = rd != no_day && rd <= day && rd > day - d.window;
    if (static_cast<std::size_t>(r) == d.ring_of(day) && rd != day)
      in_window = false;
    if (in_window)
      continue;
    for (std::size_t s = 0; s < d.members.size(); ++s)
      d.history[s * d.window + static_cast<std::size_t>(r)].clear();
    d.ring_day[static_cast<std::size_t>(r)] = no_day;
  }
  d.ring_day[d.ring_of(day)] = day;
  for (auto& m : d.members)
    m.inbound = 0;
  if (!d.dirty) {
    for (std::size_t pos = 0; pos < d.slot_at.size(); ++pos) {
      d.leaf[pos] = d.weight_of(d.members[d.slot_at[pos]]);
    }
    d.tree.assign(d.leaf);
  }
}

std::optional<peer_choice> peer_directory::choose(mailbox_id sender, rng& r) {
  auto& d = *impl_;
  auto s = d.slot(sender);
  if (s == no_slot)
    return std::nullopt;
  d.ensure_built();
  auto to = d.draw(s, r);
  if (!to)
    return std::nullopt;
  d.record_inbound(*to);
  d.record_pair(s, *to);
  peer_choice out;
  out.to = d.members[*to].id;
  if (r.chance(d.rules.cc_rate)) {
    d.suppress(*to);
    auto cc = d.draw(s, r);
    d.refresh_weight(*to);
    if (cc) {
      d.record_inbound(*cc);
      d.record_pair(s, *cc);
      out.cc = d.members[*cc].id;
    }
  }
  return out;
}

void peer_directory::record(mailbox_id from, mailbox_id to) {
  auto& d = *impl_;
  auto t = d.slot(to);
  if (t == no_slot)
    return;
  d.record_inbound(t);
  if (auto f = d.slot(from); f != no_slot)
    d.record_pair(f, t);
}

int peer_directory::inbound_today(mailbox_id id) const {
  const auto* m = impl_->find(id);
  return m ? m->inbound : 0;
}

int peer_directory::pair_count(mailbox_id a, mailbox_id b) const {
  const auto& d = *impl_;
  auto sa = d.slot(a);
  auto sb = d.slot(b);
  if (sa == no_slot || sb == no_slot || sa == sb)
    return 0;
  return d.pair_count_slots(sa, sb);
}

}  // namespace warmup
