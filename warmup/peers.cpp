// peers.cpp: the pool directory and its weighted peer draw, O(log N) per draw.
//
// Layout. Members live in slots (stable while a member exists) and, for drawing, in an
// order sorted by (provider, organisation, id): every provider is one contiguous range
// and every organisation one range per provider it spans. That order is cut into
// blocks of at most 32 members that never straddle an organisation, and a Fenwick tree
// over the blocks holds the sum of the members' own weights w(r) = healthy factor x
// capacity factor, in fixed point (integers: sums are exact, a member of weight 0 is
// never hit). The factors that depend on the SENDER are constant over whole block
// ranges: other provider (x other_domain x other_provider), same provider but other
// organisation (x other_domain), own organisation (excluded, or the only range of an
// internal draw). A draw picks a range by its mass (block prefix sums), a block by a
// prefix search, then a member by a short scan inside the block. The tree has one leaf
// per block, not per member, so it stays in cache for large pools; that, more than the
// O(log N), is what makes a draw cheap.
//
// The pair factor pair_decay^k is per (sender, recipient) and is applied by rejection:
// accept the proposal with probability pair_decay^k. A sender has few recent partners
// among many members, so acceptance is almost always immediate; after a bounded number
// of rejections an exact scan of the candidate ranges takes over, so the result follows
// the exact distribution either way.
//
// Pair history: each message of the window is stored once, as the recipient's 4-byte id
// in the sender's chronological list (the sender's list is the one a draw has already
// brought into cache), with per-day counts so that start_day drops the days leaving the
// window from the front of the list. A 2048-bit filter per member (two bits per
// partner-id hash, set on both sides of every message) answers "no message in the
// window" without reading any list, which is the answer for nearly every proposal;
// being the sender's own, it is fetched into cache once at the start of a draw. Filters
// only ever err towards "maybe", so they are rebuilt lazily, when the days that left
// the window outweigh the live history.
//
// Internal share: when a draw goes to the sender's organisation and nobody there can
// take the message, it is drawn outside as usual. pair_max <= 0 means no pair limit.
#include "warmup/peers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
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
constexpr std::uint32_t max_block_members = 32;
constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();
constexpr day_number no_day = std::numeric_limits<day_number>::min();

struct block_range {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// A range of blocks drawn with one sender-dependent factor.
struct weighted_part {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  double factor = 1.0;
  std::uint64_t base = 0;  // weight of all blocks before `begin`
  std::uint64_t sum = 0;   // weight inside the range
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
  // The leaf i with prefix(i) <= target < prefix(i + 1) (target < total); `target`
  // becomes the offset inside leaf i.
  std::size_t find(std::uint64_t& target) const {
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
  // What the directory keeps per member, by slot. While the draw structure is built,
  // the day's inbound count lives in the member's entry (where draws touch it anyway).
  struct member {
    mailbox_id id = no_mailbox;
    std::uint32_t provider = 0;
    std::uint32_t organisation = 0;
    int daily_limit = 0;
    int cap = 0;
    int inbound = 0;
    bool healthy_steady = false;
    bool active = true;
    bool live = false;
  };
  // A member at its sorted position: all a draw reads of a sender or a candidate, in
  // one cache line's worth (40 bytes).
  struct entry {
    std::uint64_t weight = 0;
    mailbox_id id = no_mailbox;
    std::uint32_t slot = no_slot;
    std::uint32_t block = 0;
    std::uint32_t org_begin = 0;   // the organisation's blocks within this provider
    std::uint32_t org_end = 0;
    std::int32_t inbound = 0;
    std::int32_t cap = 0;          // 0 while inactive: never drawn
    std::uint16_t provider = 0;
    bool healthy = false;
    bool split_org = false;        // the organisation spans several providers
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

  peer_rules rules;

  std::vector<member> members;
  std::vector<std::string> emails;  // by slot (kept apart: never read by a draw)
  std::vector<std::uint32_t> free_slots;
  // Mailbox ids are dense in practice (store-assigned): a flat table serves them, a map
  // the rest.
  std::vector<std::uint32_t> dense_slot;
  std::unordered_map<mailbox_id, std::uint32_t> sparse_slot;
  std::size_t live_count = 0;

  std::vector<std::string> provider_names, organisation_names;
  std::unordered_map<std::string, std::uint32_t> provider_index, organisation_index;

  // The draw structure, valid while !dirty.
  bool dirty = true;
  std::vector<entry> entries;               // by sorted position
  std::vector<std::uint32_t> position_of;   // slot -> sorted position
  std::vector<std::uint32_t> block_begin;   // block -> first position; size blocks + 1
  fenwick_tree tree;                        // block weights
  std::uint64_t total = 0;                  // all weights
  std::vector<std::uint64_t> provider_total;   // by provider index
  std::vector<std::uint64_t> org_total;        // by an organisation segment's first block
  std::vector<block_range> provider_blocks;                   // by provider index
  std::vector<std::vector<block_range>> organisation_blocks;  // by organisation index

  // Pair history, by sender slot: recipient ids in recording order, counts per ring day.
  int window = 7;
  day_number current_day = 0;
  std::vector<day_number> ring_day;
  std::vector<std::vector<mailbox_id>> partners;
  std::vector<std::uint32_t> day_counts;            // slot * window + ring
  static constexpr std::size_t filter_words = 32;   // 2048 bits per member
  std::vector<std::uint64_t> partner_filter;        // slot * filter_words + word
  std::size_t live_history = 0;   // entries in all lists
  std::size_t stale_history = 0;  // entries dropped since the filters were rebuilt

  static constexpr int decay_table_size = 16;
  std::vector<double> decay_pow;  // pair_decay^k for small k

  std::vector<weighted_part> parts;                                // scratch
  std::vector<std::pair<double, std::uint32_t>> exact_candidates;  // scratch (mass, pos)

  // --- slots ---------------------------------------------------------------------------

  std::size_t ring_of(day_number day) const {
    auto m = day % window;
    return static_cast<std::size_t>(m < 0 ? m + window : m);
  }

  std::uint32_t slot(mailbox_id id) const {
    if (id < dense_slot.size())
      return dense_slot[id];
    auto it = sparse_slot.find(id);
    return it == sparse_slot.end() ? no_slot : it->second;
  }

  void bind_slot(mailbox_id id, std::uint32_t s) {
    // The flat table grows only while it stays proportional to the pool.
    if (id >= dense_slot.size() && id < 4 * (members.size() + 1024)) {
      dense_slot.resize(static_cast<std::size_t>(id) + 1, no_slot);
      for (auto it = sparse_slot.begin(); it != sparse_slot.end();) {
        if (it->first < dense_slot.size()) {
          dense_slot[it->first] = it->second;
          it = sparse_slot.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (id < dense_slot.size())
      dense_slot[id] = s;
    else if (s == no_slot)
      sparse_slot.erase(id);
    else
      sparse_slot[id] = s;
  }

  int cap_of(int daily_limit) const {
    auto cap = std::floor(rules.inbound_cap_factor * std::max(0, daily_limit));
    return cap <= 0 ? 0 : static_cast<int>(std::min(cap, 1e9));
  }

  int inbound_of(std::uint32_t s) const {
    return dirty ? members[s].inbound : entries[position_of[s]].inbound;
  }

  // The recipient's own weight: healthy factor x capacity factor; 0 = never drawn.
  std::uint64_t weight_of(const entry& e) const {
    if (e.cap <= 0 || e.inbound >= e.cap)
      return 0;
    double capacity = static_cast<double>(e.cap - e.inbound) / e.cap;
    double w = std::max(rules.min_capacity_weight, capacity)
               * (e.healthy ? rules.healthy_weight : 1.0);
    if (!(w > 0.0))
      return 0;
    return static_cast<std::uint64_t>(std::llround(w * weight_scale));
  }

  void set_weight(entry& e, std::uint64_t w) {
    if (w != e.weight) {
      const auto delta = w - e.weight;  // modulo 2^64, like the tree
      tree.add(e.block, delta);
      total += delta;
      provider_total[e.provider] += delta;
      org_total[e.org_begin] += delta;
      e.weight = w;
    }
  }

  // Copies a member's settings into its entry and updates its weight.
  void refresh(std::uint32_t s) {
    if (dirty)
      return;
    auto& e = entries[position_of[s]];
    const auto& m = members[s];
    e.cap = m.live && m.active ? m.cap : 0;
    e.healthy = m.healthy_steady;
    set_weight(e, weight_of(e));
  }

  // --- the sorted structure ------------------------------------------------------------

  // Leaves the built state (before members move between ranges): the inbound counts go
  // back to the members.
  void unbuild() {
    if (dirty)
      return;
    for (const auto& e : entries)
      members[e.slot].inbound = e.inbound;
    dirty = true;
  }

  void rebuild() {
    std::vector<std::uint32_t> order;
    order.reserve(live_count);
    for (std::uint32_t s = 0; s < members.size(); ++s)
      if (members[s].live)
        order.push_back(s);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      const auto& x = members[a];
      const auto& y = members[b];
      if (x.provider != y.provider)
        return x.provider < y.provider;
      if (x.organisation != y.organisation)
        return x.organisation < y.organisation;
      return x.id < y.id;
    });
    entries.assign(order.size(), entry{});
    position_of.assign(members.size(), no_slot);
    block_begin.clear();
    provider_blocks.assign(provider_names.size(), block_range{});
    organisation_blocks.assign(organisation_names.size(), {});
    for (std::uint32_t pos = 0; pos < order.size(); ++pos) {
      const auto s = order[pos];
      const auto& m = members[s];
      const bool new_segment = pos == 0
                               || members[order[pos - 1]].provider != m.provider
                               || members[order[pos - 1]].organisation != m.organisation;
      if (new_segment || pos - block_begin.back() == max_block_members)
        block_begin.push_back(pos);
      const auto block = static_cast<std::uint32_t>(block_begin.size() - 1);
      position_of[s] = pos;
      auto& e = entries[pos];
      e.id = m.id;
      e.slot = s;
      e.block = block;
      e.inbound = m.inbound;
      e.cap = m.active ? m.cap : 0;
      e.provider = static_cast<std::uint16_t>(m.provider);
      e.healthy = m.healthy_steady;
      auto& pr = provider_blocks[m.provider];
      if (pr.begin == pr.end)
        pr.begin = block;
      pr.end = block + 1;
      // One range per (provider, organisation) run, even where two runs touch.
      auto& orgs = organisation_blocks[m.organisation];
      if (new_segment)
        orgs.push_back({block, block + 1});
      else
        orgs.back().end = block + 1;
    }
    block_begin.push_back(static_cast<std::uint32_t>(order.size()));
    for (auto& e : entries) {
      const auto& m = members[e.slot];
      const auto& orgs = organisation_blocks[m.organisation];
      e.split_org = orgs.size() > 1;
      for (const auto& range : orgs)
        if (range.begin <= e.block && e.block < range.end) {
          e.org_begin = range.begin;
          e.org_end = range.end;
        }
    }
    reweigh_all();
    dirty = false;
  }

  // Recomputes every weight and every sum from the entries.
  void reweigh_all() {
    std::vector<std::uint64_t> block_weight(block_begin.size() - 1, 0);
    provider_total.assign(provider_names.size(), 0);
    org_total.assign(block_weight.size(), 0);
    total = 0;
    for (auto& e : entries) {
      e.weight = weight_of(e);
      block_weight[e.block] += e.weight;
      provider_total[e.provider] += e.weight;
      org_total[e.org_begin] += e.weight;
      total += e.weight;
    }
    tree.assign(block_weight);
  }

  void ensure_built() {
    if (dirty)
      rebuild();
  }

  // --- pair history --------------------------------------------------------------------

  // Two bits per partner (two 11-bit slices of a 64-bit mix): with ~400 partners in a
  // week, a 2048-bit filter says "maybe" for ~10% of strangers instead of ~18% with one.
  static std::uint64_t filter_hash(mailbox_id other) {
    return (other + 1) * 0x9E3779B97F4A7C15ull;
  }
  bool maybe_partner(std::uint32_t s, mailbox_id other) const {
    const auto h = filter_hash(other);
    const auto* f = &partner_filter[s * filter_words];
    const auto b1 = h >> 53;
    const auto b2 = (h >> 42) & 2047;
    return ((f[b1 / 64] >> (b1 % 64)) & (f[b2 / 64] >> (b2 % 64)) & 1u) != 0;
  }
  void mark_partner(std::uint32_t s, mailbox_id other) {
    const auto h = filter_hash(other);
    auto* f = &partner_filter[s * filter_words];
    const auto b1 = h >> 53;
    const auto b2 = (h >> 42) & 2047;
    f[b1 / 64] |= std::uint64_t{1} << (b1 % 64);
    f[b2 / 64] |= std::uint64_t{1} << (b2 % 64);
  }
  // Every filter from the lists (both sides of each stored message).
  void rebuild_filters() {
    std::fill(partner_filter.begin(), partner_filter.end(), 0);
    for (std::uint32_t s = 0; s < members.size(); ++s) {
      if (!members[s].live)
        continue;
      for (auto other : partners[s]) {
        mark_partner(s, other);
        if (auto o = slot(other); o != no_slot)
          mark_partner(o, members[s].id);
      }
    }
    stale_history = 0;
  }

  // Messages of the pair (slots a, b) in the window, either way.
  int pair_count_slots(std::uint32_t a, std::uint32_t b, mailbox_id id_a,
                       mailbox_id id_b) const {
    if (!maybe_partner(a, id_b))
      return 0;
    int count = 0;
    for (auto id : partners[a])
      count += id == id_b;
    for (auto id : partners[b])
      count += id == id_a;
    return count;
  }

  // One message from slot a to slot b.
  void record_pair(std::uint32_t a, std::uint32_t b, mailbox_id id_a, mailbox_id id_b) {
    if (rules.pair_window_days <= 0 || a == b)
      return;
    partners[a].push_back(id_b);
    ++live_history;
    ++day_counts[a * static_cast<std::size_t>(window) + ring_of(current_day)];
    mark_partner(a, id_b);
    mark_partner(b, id_a);
  }

  // What a sender's draw and delivery will read of its own: fetched up front so that
  // these loads overlap the tree walk instead of following it.
  void prefetch_sender(std::uint32_t s) const {
    for (std::size_t w = 0; w < filter_words; w += 8)
      __builtin_prefetch(&partner_filter[s * filter_words + w]);
    __builtin_prefetch(&partners[s]);
    __builtin_prefetch(&day_counts[s * static_cast<std::size_t>(window)]);
  }

  // Drops a member's list (its partners' filters keep their bits: a harmless "maybe").
  void forget_history(std::uint32_t s) {
    live_history -= partners[s].size();
    partners[s].clear();
    std::fill_n(day_counts.begin() + static_cast<std::ptrdiff_t>(s) * window, window, 0u);
    std::fill_n(partner_filter.begin() + static_cast<std::ptrdiff_t>(s * filter_words),
                filter_words, 0);
  }

  double decay(int k) const {
    if (k < decay_table_size)
      return decay_pow[static_cast<std::size_t>(k)];
    double p = decay_pow.back();  // repeated products: bit-identical everywhere
    for (int i = decay_table_size - 1; i < k; ++i)
      p *= rules.pair_decay;
    return p;
  }

  // A pair at pair_max messages in the window is not drawn (pair_max <= 0: no limit).
  bool pair_exhausted(int k) const {
    return rules.pair_max > 0 && k >= rules.pair_max;
  }

  // --- the draw ------------------------------------------------------------------------

  // Appends `range` minus the (sorted, disjoint) `holes` as parts with `factor`.
  void add_parts(block_range range, const std::vector<block_range>& holes, double factor) {
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

  // Fills the sums of the parts from the tree; returns their total mass.
  double measure_parts() {
    double mass = 0.0;
    std::uint32_t last_end = 0;
    std::uint64_t last_prefix = 0;
    for (auto& p : parts) {
      // Adjacent parts share a boundary: reuse its prefix instead of asking again.
      p.base = p.begin == last_end ? last_prefix : tree.prefix(p.begin);
      last_prefix = tree.prefix(p.end);
      last_end = p.end;
      p.sum = last_prefix - p.base;
      mass += p.factor * static_cast<double>(p.sum);
    }
    return mass;
  }

  // The sum of the weights before the provider's first block.
  std::uint64_t before_provider(std::uint16_t provider) const {
    if (provider_total.size() > 16)
      return tree.prefix(provider_blocks[provider].begin);
    std::uint64_t sum = 0;
    for (std::uint16_t p = 0; p < provider; ++p)
      sum += provider_total[p];
    return sum;
  }

  // The parts of a sender's external draw: other providers and the rest of its own
  // provider. In the usual case (an organisation on one provider) the sums come from
  // the running totals and a single prefix query.
  double external_parts(const entry& sender) {
    const double other_domain = rules.other_domain_weight;
    const double other_provider = rules.other_domain_weight * rules.other_provider_weight;
    const auto& own_provider = provider_blocks[sender.provider];
    const auto blocks = static_cast<std::uint32_t>(block_begin.size() - 1);
    if (sender.split_org) {
      parts.clear();
      const auto& own_org = organisation_blocks[members[sender.slot].organisation];
      add_parts({0, own_provider.begin}, own_org, other_provider);
      add_parts(own_provider, own_org, other_domain);
      add_parts({own_provider.end, blocks}, own_org, other_provider);
      return measure_parts();
    }
    const auto provider_base = before_provider(sender.provider);
    const auto provider_end = provider_base + provider_total[sender.provider];
    const auto org_base = tree.prefix(sender.org_begin);
    const auto org_end = org_base + org_total[sender.org_begin];
    parts.resize(4);
    parts[0] = {0, own_provider.begin, other_provider, 0, provider_base};
    parts[1] = {own_provider.begin, sender.org_begin, other_domain, provider_base,
                org_base - provider_base};
    parts[2] = {sender.org_end, own_provider.end, other_domain, org_end,
                provider_end - org_end};
    parts[3] = {own_provider.end, blocks, other_provider, provider_end,
                total - provider_end};
    double mass = 0.0;
    for (const auto& p : parts)
      mass += p.factor * static_cast<double>(p.sum);
    return mass;
  }

  bool accept_pair(const entry& sender, const entry& candidate, rng& r) const {
    auto k = pair_count_slots(sender.slot, candidate.slot, sender.id, candidate.id);
    if (pair_exhausted(k))
      return false;
    return k == 0 || r.uniform() < decay(k);
  }

  // One draw from the parts (already measured, total `mass` > 0), with the pair rules.
  std::optional<std::uint32_t> draw_from_parts(const entry& sender, double mass, rng& r) {
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
      auto target = chosen->base + static_cast<std::uint64_t>(r.uniform_int(
                                     0, static_cast<std::int64_t>(chosen->sum - 1)));
      const auto block = tree.find(target);
      auto pos = block_begin[block];
      while (target >= entries[pos].weight)
        target -= entries[pos++].weight;
      if (accept_pair(sender, entries[pos], r))
        return pos;
    }
    return draw_exact(sender, r);
  }

  // The exact distribution by a scan of the parts: used only after many rejections,
  // i.e. when the sender's recent partners hold most of the weight (small pools).
  std::optional<std::uint32_t> draw_exact(const entry& sender, rng& r) {
    exact_candidates.clear();
    double mass = 0.0;
    for (const auto& p : parts) {
      if (p.sum == 0)
        continue;
      for (auto pos = block_begin[p.begin]; pos < block_begin[p.end]; ++pos) {
        const auto& e = entries[pos];
        if (e.weight == 0)
          continue;
        auto k = pair_count_slots(sender.slot, e.slot, sender.id, e.id);
        if (pair_exhausted(k))
          continue;
        double m = p.factor * static_cast<double>(e.weight) * decay(k);
        if (!(m > 0.0))
          continue;
        mass += m;
        exact_candidates.emplace_back(mass, pos);
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

  // A sorted position drawn for the sender at position `at` by the rules.
  std::optional<std::uint32_t> draw(std::uint32_t at, rng& r) {
    auto& sender = entries[at];
    if (r.chance(rules.internal_share)) {
      // Its own organisation, the sender's weight taken out of the tree meanwhile.
      const auto own_weight = sender.weight;
      set_weight(sender, 0);
      parts.clear();
      for (const auto& range : organisation_blocks[members[sender.slot].organisation])
        parts.push_back({range.begin, range.end, 1.0, 0, 0});
      std::optional<std::uint32_t> to;
      if (double mass = measure_parts(); mass > 0.0)
        to = draw_from_parts(sender, mass, r);
      set_weight(sender, own_weight);
      if (to)
        return to;
      // Nobody in the organisation can take it: the send goes out of it as usual.
    }
    double mass = external_parts(sender);
    if (!(mass > 0.0))
      return std::nullopt;
    return draw_from_parts(sender, mass, r);
  }

  // Counts one message to the member at position `to` from slot `from` (inbound, pair).
  void deliver(std::uint32_t from, mailbox_id from_id, std::uint32_t to) {
    auto& e = entries[to];
    ++e.inbound;
    set_weight(e, weight_of(e));
    record_pair(from, e.slot, from_id, e.id);
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
    d.unbuild();
    if (!d.free_slots.empty()) {
      s = d.free_slots.back();
      d.free_slots.pop_back();
    } else {
      s = static_cast<std::uint32_t>(d.members.size());
      d.members.emplace_back();
      d.emails.emplace_back();
      d.partners.emplace_back();
      d.day_counts.resize(d.members.size() * static_cast<std::size_t>(d.window), 0);
      d.partner_filter.resize(d.members.size() * impl::filter_words, 0);
    }
    d.bind_slot(m.id, s);
    ++d.live_count;
  }
  auto& x = d.members[s];
  if (x.live && (x.provider != provider || x.organisation != organisation))
    d.unbuild();
  x.id = m.id;
  x.provider = provider;
  x.organisation = organisation;
  x.daily_limit = m.daily_limit;
  x.cap = d.cap_of(m.daily_limit);
  x.healthy_steady = m.healthy_steady;
  x.active = m.active;
  x.live = true;
  d.emails[s] = m.email;
  d.refresh(s);
}

void peer_directory::remove(mailbox_id id) {
  auto& d = *impl_;
  auto s = d.slot(id);
  if (s == no_slot)
    return;
  d.unbuild();
  d.members[s] = impl::member{};
  d.emails[s].clear();
  d.forget_history(s);
  d.bind_slot(id, no_slot);
  d.free_slots.push_back(s);
  --d.live_count;
}

void peer_directory::set_active(mailbox_id id, bool active) {
  auto& d = *impl_;
  if (auto s = d.slot(id); s != no_slot) {
    d.members[s].active = active;
    d.refresh(s);
  }
}

void peer_directory::set_daily_limit(mailbox_id id, int daily_limit) {
  auto& d = *impl_;
  if (auto s = d.slot(id); s != no_slot) {
    d.members[s].daily_limit = daily_limit;
    d.members[s].cap = d.cap_of(daily_limit);
    d.refresh(s);
  }
}

std::size_t peer_directory::size() const {
  return impl_->live_count;
}

void peer_directory::start_day(day_number day) {
  auto& d = *impl_;
  const auto w = static_cast<std::size_t>(d.window);
  if (day < d.current_day) {
    // Back in time (a clock set back): the recorded order no longer matches the days,
    // so the history is dropped rather than mis-aged.
    for (std::uint32_t s = 0; s < d.members.size(); ++s)
      d.forget_history(s);
    d.stale_history = 0;
    std::fill(d.ring_day.begin(), d.ring_day.end(), no_day);
  } else {
    // Days leaving the window are the oldest ones: they sit at the front of each list.
    std::vector<std::size_t> leaving;
    for (std::size_t r = 0; r < w; ++r) {
      auto rd = d.ring_day[r];
      if (rd != no_day && rd <= day - d.window)
        leaving.push_back(r);
    }
    if (!leaving.empty()) {
      for (std::uint32_t s = 0; s < d.members.size(); ++s) {
        std::size_t drop = 0;
        for (auto r : leaving) {
          drop += d.day_counts[s * w + r];
          d.day_counts[s * w + r] = 0;
        }
        if (drop > 0) {
          auto& list = d.partners[s];
          list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(drop));
          d.live_history -= drop;
          d.stale_history += drop;
        }
      }
      for (auto r : leaving)
        d.ring_day[r] = no_day;
      if (d.stale_history * 2 > d.live_history)
        d.rebuild_filters();
    }
  }
  d.current_day = day;
  d.ring_day[d.ring_of(day)] = day;
  for (auto& m : d.members)
    m.inbound = 0;
  if (!d.dirty) {
    for (auto& e : d.entries)
      e.inbound = 0;
    d.reweigh_all();
  }
}

std::optional<peer_choice> peer_directory::choose(mailbox_id sender, rng& r) {
  auto& d = *impl_;
  auto s = d.slot(sender);
  if (s == no_slot)
    return std::nullopt;
  d.prefetch_sender(s);
  d.ensure_built();
  const auto at = d.position_of[s];
  auto to = d.draw(at, r);
  if (!to)
    return std::nullopt;
  d.deliver(s, sender, *to);
  peer_choice out;
  out.to = d.entries[*to].id;
  if (r.chance(d.rules.cc_rate)) {
    // The Cc is drawn like a recipient, with `to` out of the tree meanwhile.
    auto& first = d.entries[*to];
    const auto to_weight = first.weight;
    d.set_weight(first, 0);
    auto cc = d.draw(at, r);
    d.set_weight(first, to_weight);
    if (cc) {
      d.deliver(s, sender, *cc);
      out.cc = d.entries[*cc].id;
    }
  }
  return out;
}

void peer_directory::record(mailbox_id from, mailbox_id to) {
  auto& d = *impl_;
  auto t = d.slot(to);
  if (t == no_slot)
    return;
  const auto f = d.slot(from);
  if (!d.dirty) {
    if (f != no_slot) {
      d.deliver(f, from, d.position_of[t]);
    } else {
      auto& e = d.entries[d.position_of[t]];
      ++e.inbound;
      d.set_weight(e, d.weight_of(e));
    }
    return;
  }
  ++d.members[t].inbound;
  if (f != no_slot)
    d.record_pair(f, t, from, to);
}

int peer_directory::inbound_today(mailbox_id id) const {
  auto s = impl_->slot(id);
  return s == no_slot ? 0 : impl_->inbound_of(s);
}

int peer_directory::pair_count(mailbox_id a, mailbox_id b) const {
  const auto& d = *impl_;
  auto sa = d.slot(a);
  auto sb = d.slot(b);
  if (sa == no_slot || sb == no_slot || sa == sb)
    return 0;
  return d.pair_count_slots(sa, sb, a, b);
}

}  // namespace warmup
