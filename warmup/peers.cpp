// peers.cpp: the pool directory and its weighted peer draw, O(log N) per draw.
//
// Layout. Members live in slots (stable while a member exists) and, for drawing, in an
// order sorted by (provider, organisation, id): every provider is one contiguous range
// and every organisation one range per provider it spans. That order is cut into
// blocks of at most 32 members that never straddle an organisation, and a sum tree
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
// in the sender's chronological list, with per-day counts so that start_day drops the
// days leaving the window from the front of the list. One filter for the whole pool
// (~2048 bits per member; three bits of one word per pair, set by every message)
// answers "no message in the window" without reading any list, which is the answer for
// nearly every proposal. Filters only ever err towards "maybe" (their marks are rebuilt
// from the lists when the days that left the window outweigh the live history, when the
// pool outgrows the table, or when organisations change in a way that moves pairs to
// other words).
//
// Memory. At 100k members the directory is far larger than the caches, and a draw is
// bound by its cache misses (and their address translations), not by arithmetic. So
// what a draw reads is laid out by when it is needed: a small by-id table gives the
// sender's place; the tree, the segment table and the per-block tables stay in cache;
// the candidate's block is scanned in 8-byte keys; the filter word of two small
// organisations is known from the block and fetched alongside the keys; the lines the
// delivery writes (the recipient's entry, the sender's record and history end) are
// prefetched during the draw. Plans and draws are the same as the straightforward
// layout's: only the order of memory accesses changed.
//
// Internal share: when a draw goes to the sender's organisation and nobody there can
// take the message, it is drawn outside as usual. pair_max <= 0 means no pair limit.
#include "warmup/peers.hpp"

#include <algorithm>
#include <array>
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
// capacity factor and lets 10^9 members of weight 1.8 sum without overflow. A weight is
// 32 bits (it fits at this scale up to a factor of 255); rules with larger factors get a
// smaller scale.
constexpr double default_weight_scale = 16777216.0;
constexpr double max_weight = 4294967295.0;
constexpr int max_rejections = 32;
constexpr std::uint32_t max_block_members = 32;
constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();
constexpr day_number no_day = std::numeric_limits<day_number>::min();
// A filter group is an organisation index, with this bit set when the organisation is
// not small (its pairs use member-pair words).
constexpr std::uint32_t large_group = 0x80000000u;

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

// A sum tree of unsigned weights with eight children per node, each node's children in
// one cache line: a search reads ~5 lines top-down (a Fenwick tree over the same ~10k
// blocks reads 14, each waiting for the one before). Arithmetic is modulo 2^64, so a
// decrease is added as its two's complement and every sum stays exact; a search finds
// the same leaf as any exact prefix search.
class block_sum_tree {
public:
  static constexpr std::size_t fan = 8;

  void assign(const std::vector<std::uint64_t>& leaves) {
    levels_.clear();
    std::vector<std::uint64_t> level(leaves);
    // Level 0 holds the leaves; each level above sums groups of `fan`; the top level
    // is one group. Every level is padded to whole groups with zeros.
    while (true) {
      const auto groups = std::max<std::size_t>(1, (level.size() + fan - 1) / fan);
      level.resize(groups * fan, 0);
      auto& stored = levels_.emplace_back(groups);
      for (std::size_t i = 0; i < level.size(); ++i)
        stored[i / fan].sum[i % fan] = level[i];
      if (groups == 1)
        break;
      std::vector<std::uint64_t> up(groups, 0);
      for (std::size_t i = 0; i < level.size(); ++i)
        up[i / fan] += level[i];
      level = std::move(up);
    }
  }
  void add(std::size_t index, std::uint64_t delta) {
    for (auto& level : levels_) {
      level[index / fan].sum[index % fan] += delta;
      index /= fan;
    }
  }
  // Sum of the leaves [0, count).
  std::uint64_t prefix(std::size_t count) const {
    std::uint64_t sum = 0;
    for (const auto& level : levels_) {
      const auto& group = level[count / fan];
      for (std::size_t i = 0; i < count % fan; ++i)
        sum += group.sum[i];
      count /= fan;
    }
    return sum;
  }
  // The leaf i with prefix(i) <= target < prefix(i + 1) (target < total); `target`
  // becomes the offset inside leaf i.
  std::size_t find(std::uint64_t& target) const {
    std::size_t node = 0;
    for (auto level = levels_.size(); level-- > 0;) {
      const auto& child = levels_[level][node].sum;
      std::size_t j = 0;
      while (j + 1 < fan && target >= child[j]) {
        target -= child[j];
        ++j;
      }
      node = node * fan + j;
    }
    return node;
  }

private:
  struct alignas(64) group {
    std::uint64_t sum[fan] = {};
  };
  std::vector<std::vector<group>> levels_;  // [0] = leaves
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
  // What the in-block scan of a draw reads, by sorted position: 8 bytes, so a block of a
  // typical organisation is one or two cache lines. The id leads straight to the pair
  // filter, so the pair check does not wait for the candidate's entry.
  struct draw_key {
    std::uint32_t weight = 0;
    mailbox_id id = no_mailbox;
  };
  // The rest of a member at its sorted position: what a delivery reads and writes. 32
  // bytes, aligned, so it never straddles a cache line.
  struct alignas(32) entry {
    mailbox_id id = no_mailbox;
    std::uint32_t slot = no_slot;
    std::uint32_t block = 0;
    std::uint32_t segment = 0;     // its (provider, organisation) run
    std::int32_t inbound = 0;
    std::int32_t cap = 0;          // 0 while inactive: never drawn
    std::uint16_t provider = 0;
    bool healthy = false;
  };
  // One (provider, organisation) run of the sorted order: all a sender's draw needs of
  // its own place, in a table small enough to stay in cache.
  struct segment {
    std::uint32_t org_begin = 0;   // its blocks
    std::uint32_t org_end = 0;
    std::uint32_t organisation = 0;
    std::uint16_t provider = 0;
    bool split_org = false;        // the organisation spans several providers
    std::uint32_t group = large_group;  // its filter group (see filter_group)
  };
  // Where a slot sits while built.
  struct placement {
    std::uint32_t position = no_slot;
    std::uint32_t segment = 0;
  };
  // A sender by (dense) mailbox id: its slot and segment, all a draw needs before it
  // reaches the tree, and where its history's next id will go. A small table that
  // mostly stays in cache: with it choose() only prefetches the sender's record and the
  // history's end, and neither the draw nor the delivery waits for memory on the
  // sender's side. `history_end` is only a hint: a stale one costs a useless prefetch.
  struct sender_key {
    std::uint32_t slot = no_slot;
    std::uint32_t segment = 0;
    const mailbox_id* history_end = nullptr;
  };
  // All a choose() reads and writes of its sender, in one cache line: its place in the
  // sorted order, its pair history (recipient ids in recording order) and, for windows
  // of up to inline_days days, the per-day counts of that history.
  static constexpr std::size_t inline_days = 8;
  struct alignas(64) sender_record {
    std::vector<mailbox_id> partners;
    placement at;                   // while built
    std::array<std::uint32_t, inline_days> counts{};
  };
  static_assert(sizeof(sender_record) == 64);

  explicit impl(peer_rules r) : rules(r) {
    window = std::max(1, rules.pair_window_days);
    ring_day.assign(static_cast<std::size_t>(window), no_day);
    ring_day[ring_of(current_day)] = current_day;
    double p = 1.0;
    for (int k = 0; k < decay_table_size; ++k) {
      decay_pow.push_back(p);
      p *= rules.pair_decay;
    }
    size_pair_filter(0);
    // Weights are 32-bit: the scale shrinks only for rules whose largest weight would
    // not fit at the usual scale (the defaults keep 2^24).
    const double largest = std::max(1.0, rules.min_capacity_weight)
                           * std::max(1.0, rules.healthy_weight);
    weight_scale = default_weight_scale;
    if (!(largest * weight_scale < max_weight))
      weight_scale = largest > 0.0 && std::isfinite(largest) ? std::floor(max_weight / largest)
                                                             : 0.0;
  }

  peer_rules rules;
  double weight_scale = default_weight_scale;

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
  std::vector<draw_key> keys;               // by sorted position
  std::vector<entry> entries;               // by sorted position
  std::vector<segment> segments;
  std::vector<sender_key> sender_by_id;     // ids below dense_slot.size()
  std::vector<std::uint32_t> block_begin;   // block -> first position; size blocks + 1
  block_sum_tree tree;                      // block weights
  std::uint64_t total = 0;                  // all weights
  std::vector<std::uint64_t> provider_total;   // by provider index
  std::vector<std::uint64_t> org_total;        // by segment
  std::vector<block_range> provider_blocks;                   // by provider index
  std::vector<std::vector<block_range>> organisation_blocks;  // by organisation index

  // Pair history, by slot; the per-day counts of windows longer than inline_days live
  // in wide_counts (slot * window + ring).
  int window = 7;
  day_number current_day = 0;
  std::size_t current_ring = 0;  // ring_of(current_day)
  std::vector<day_number> ring_day;
  std::vector<sender_record> records;       // by slot
  std::vector<std::uint32_t> wide_counts;
  // One filter of the pairs with a message in the window, ~2048 bits per member; a pair
  // sets three bits of ONE word, so a check or a mark touches one cache line, and the
  // delivery's mark hits the line its draw's check just read.
  static constexpr std::size_t filter_words_per_member = 32;
  std::vector<std::uint64_t> pair_filter;
  // Organisations small enough for their pairs to share a filter word (see
  // filter_group), as of the last build. An organisation that changed class since the
  // last full rebuild of the marks is "flipped": its pairs are checked under both
  // words, so a member joining or leaving never forces re-marking the whole history.
  std::vector<std::uint8_t> small_organisation;
  std::vector<std::uint8_t> flipped_organisation;
  std::size_t flipped_count = 0;
  std::vector<std::uint32_t> block_group;  // filter group by block
  bool filter_stale = false;  // marks may be under words that no longer apply
  // Members removed in the window (id, day): others' lists still hold their messages,
  // which must be marked again if they come back.
  std::vector<std::pair<mailbox_id, day_number>> departed;
  std::size_t live_history = 0;   // entries in all lists
  std::size_t stale_history = 0;  // entries dropped since the filters were rebuilt

  static constexpr int decay_table_size = 16;
  std::vector<double> decay_pow;  // pair_decay^k for small k

  std::vector<weighted_part> parts;                                // scratch
  std::array<const void*, 2> sender_lines{};  // to prefetch during the next draw
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
    return dirty ? members[s].inbound : entries[records[s].at.position].inbound;
  }

  // The recipient's own weight: healthy factor x capacity factor; 0 = never drawn.
  std::uint32_t weight_of(const entry& e) const {
    if (e.cap <= 0 || e.inbound >= e.cap)
      return 0;
    double capacity = static_cast<double>(e.cap - e.inbound) / e.cap;
    double w = std::max(rules.min_capacity_weight, capacity)
               * (e.healthy ? rules.healthy_weight : 1.0) * weight_scale;
    if (!(w > 0.0))
      return 0;
    // Rounded half away from zero, as std::llround does, without its library call: the
    // fraction of a positive double below 2^52 is exact.
    w = std::min(w, max_weight);
    auto whole = static_cast<std::uint64_t>(w);
    if (w - static_cast<double>(whole) >= 0.5)
      ++whole;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(whole, 4294967295u));
  }

  // Sets the weight at sorted position `pos` and every sum that holds it.
  void set_weight(std::uint32_t pos, std::uint32_t w) {
    auto& key = keys[pos];
    if (w != key.weight) {
      // Modulo 2^64, like the tree.
      const auto delta = std::uint64_t{w} - std::uint64_t{key.weight};
      const auto& e = entries[pos];
      tree.add(e.block, delta);
      total += delta;
      provider_total[e.provider] += delta;
      org_total[e.segment] += delta;
      key.weight = w;
    }
  }

  // Copies a member's settings into its entry and updates its weight.
  void refresh(std::uint32_t s) {
    if (dirty)
      return;
    const auto pos = records[s].at.position;
    auto& e = entries[pos];
    const auto& m = members[s];
    e.cap = m.live && m.active ? m.cap : 0;
    e.healthy = m.healthy_steady;
    set_weight(pos, weight_of(e));
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
    keys.assign(order.size(), draw_key{});
    entries.assign(order.size(), entry{});
    segments.clear();
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
      if (new_segment) {
        segment seg;
        seg.org_begin = block;
        seg.organisation = m.organisation;
        seg.provider = static_cast<std::uint16_t>(m.provider);
        segments.push_back(seg);
      }
      segments.back().org_end = block + 1;
      const auto seg_index = static_cast<std::uint32_t>(segments.size() - 1);
      records[s].at = {pos, seg_index};
      keys[pos].id = m.id;
      auto& e = entries[pos];
      e.id = m.id;
      e.slot = s;
      e.block = block;
      e.segment = seg_index;
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
    for (auto& seg : segments)
      seg.split_org = organisation_blocks[seg.organisation].size() > 1;
    classify_organisations();
    for (auto& seg : segments)
      seg.group = filter_group(seg.organisation);
    block_group.assign(block_begin.size() - 1, large_group);
    for (const auto& seg : segments)
      std::fill(block_group.begin() + seg.org_begin, block_group.begin() + seg.org_end,
                seg.group);
    sender_by_id.assign(dense_slot.size(), sender_key{});
    for (std::size_t id = 0; id < dense_slot.size(); ++id)
      if (const auto s = dense_slot[id]; s != no_slot)
        sender_by_id[id] = {s, records[s].at.segment, end_of_history(s)};
    size_pair_filter(live_count);
    if (filter_stale)
      rebuild_filters();
    reweigh_all();
    dirty = false;
  }

  // Recomputes every weight and every sum from the entries.
  void reweigh_all() {
    std::vector<std::uint64_t> block_weight(block_begin.size() - 1, 0);
    provider_total.assign(provider_names.size(), 0);
    org_total.assign(segments.size(), 0);
    total = 0;
    for (std::size_t pos = 0; pos < entries.size(); ++pos) {
      const auto& e = entries[pos];
      const auto w = weight_of(e);
      keys[pos].weight = w;
      block_weight[e.block] += w;
      provider_total[e.provider] += w;
      org_total[e.segment] += w;
      total += w;
    }
    tree.assign(block_weight);
  }

  void ensure_built() {
    if (dirty)
      rebuild();
  }

  // --- pair history --------------------------------------------------------------------

  std::uint32_t* day_counts(std::uint32_t s) {
    return window <= static_cast<int>(inline_days)
             ? records[s].counts.data()
             : &wide_counts[s * static_cast<std::size_t>(window)];
  }

  // A pair's three bits, all in one word, so a check or a mark touches one cache line.
  // The bits come from a mixed hash of the unordered member pair. The word comes from
  // the pair of their organisations when both are small (filter_group): then the draw
  // knows it as soon as the tree has picked the candidate's block and reads it while
  // the block's keys arrive, instead of after them. Otherwise from the member pair. At
  // the usual ~200 messages per member in a week, ~2% of strangers read "maybe".
  struct filter_probe {
    std::size_t word;
    std::uint64_t mask;
  };
  __extension__ using wide = unsigned __int128;
  static std::uint64_t mix_pair(std::uint32_t a, std::uint32_t b) {
    std::uint64_t h = a < b ? (std::uint64_t{a} << 32 | b) : (std::uint64_t{b} << 32 | a);
    h = (h ^ (h >> 31)) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
  }
  std::size_t word_of(std::uint64_t h) const {  // multiply-high: any table size
    return static_cast<std::size_t>((static_cast<wide>(h) * pair_filter.size()) >> 64);
  }
  static std::uint64_t mask_of(std::uint64_t h) {
    return (std::uint64_t{1} << (h & 63)) | (std::uint64_t{1} << ((h >> 6) & 63))
           | (std::uint64_t{1} << ((h >> 12) & 63));
  }
  // The word of a pair of groups, or no_word when either is not a small organisation.
  static constexpr std::size_t no_word = std::numeric_limits<std::size_t>::max();
  std::size_t group_word(std::uint32_t group_a, std::uint32_t group_b) const {
    if (((group_a | group_b) & large_group) != 0)
      return no_word;
    return organisation_word(group_a, group_b);
  }
  // Symmetric like the member pairs' word, but a different mix (an organisation pair
  // should not land where a member pair with the same numbers does).
  std::size_t organisation_word(std::uint32_t org_a, std::uint32_t org_b) const {
    const auto low = std::min(org_a, org_b);
    const auto high = std::max(org_a, org_b);
    return word_of(mix_pair(low, ~high) ^ 0x6F7267616E697361ull);
  }
  bool flipped(std::uint32_t group) const {
    const auto org = group & ~large_group;
    return org < flipped_organisation.size() && flipped_organisation[org] != 0;
  }
  // After the pair's word (`used`) said "no": the other word, when either organisation
  // changed class since the marks were last rebuilt.
  bool maybe_under_old_word(std::uint32_t group_a, std::uint32_t group_b, std::uint64_t h,
                            std::size_t used) const {
    if (flipped_count == 0 || !(flipped(group_a) || flipped(group_b)))
      return false;
    const auto other = used == group_word(group_a, group_b)
                         ? word_of(h)
                         : organisation_word(group_a & ~large_group, group_b & ~large_group);
    const auto mask = mask_of(h);
    return (pair_filter[other] & mask) == mask;
  }
  filter_probe probe_of(mailbox_id a, std::uint32_t group_a, mailbox_id b,
                        std::uint32_t group_b) const {
    const auto h = mix_pair(a, b);
    const auto by_groups = group_word(group_a, group_b);
    return {by_groups != no_word ? by_groups : word_of(h), mask_of(h)};
  }
  // False only if the pair has exchanged no message in the window.
  bool maybe_pair(mailbox_id a, std::uint32_t group_a, mailbox_id b,
                  std::uint32_t group_b) const {
    const auto p = probe_of(a, group_a, b, group_b);
    return (pair_filter[p.word] & p.mask) == p.mask
           || maybe_under_old_word(group_a, group_b, mix_pair(a, b), p.word);
  }
  void mark_pair(mailbox_id a, std::uint32_t group_a, mailbox_id b, std::uint32_t group_b) {
    const auto p = probe_of(a, group_a, b, group_b);
    pair_filter[p.word] |= p.mask;
  }

  // An organisation of at most small_limit members is a filter group: its pairs with
  // another small one share one word. The limit keeps the messages per word low: with
  // N members and ~200 messages each per week, two organisations of s exchange about
  // 400 s^2 / N, so s^2 <= N / 256 keeps that near 1.5 (N = 100k: up to 19 members).
  std::uint32_t filter_group(std::uint32_t organisation) const {
    return organisation < small_organisation.size() && small_organisation[organisation]
             ? organisation
             : organisation | large_group;
  }
  std::uint32_t group_of_slot(std::uint32_t s) const {
    return dirty ? filter_group(members[s].organisation)
                 : segments[records[s].at.segment].group;
  }
  // Recomputes which organisations are small. A change re-marks the history at the end
  // of the build while the history is short; else the organisations are flipped.
  void classify_organisations() {
    std::vector<std::uint32_t> size(organisation_names.size(), 0);
    for (const auto& m : members)
      if (m.live)
        ++size[m.organisation];
    std::size_t limit = 0;
    while ((limit + 1) * (limit + 1) * 256 <= live_count)
      ++limit;
    std::vector<std::uint8_t> small(size.size(), 0);
    for (std::size_t o = 0; o < size.size(); ++o)
      small[o] = size[o] > 0 && size[o] <= limit;
    auto old = small_organisation;
    old.resize(small.size(), 0);
    flipped_organisation.resize(small.size(), 0);
    for (std::size_t o = 0; o < small.size(); ++o)
      if (small[o] != old[o]) {
        if (short_history()) {
          filter_stale = true;
        } else if (flipped_organisation[o] == 0) {
          flipped_organisation[o] = 1;
          ++flipped_count;
        }
      }
    small_organisation = std::move(small);
  }

  // Re-marking the history costs about as much as rebuilding the draw structure while
  // the history holds at most a few messages per member.
  bool short_history() const {
    return live_history <= 8 * live_count;
  }
  // Grows the filter with the pool (never shrinks: a smaller pool only reads fewer
  // "maybe"s), re-marking the history when it does. A pool may outgrow the table by a
  // quarter (a few more "maybe"s) before it grows, and with a long history it grows by
  // half at once: members joining one by one do not re-mark the history each time.
  void size_pair_filter(std::size_t members_now) {
    const auto words = std::max<std::size_t>(64, members_now * filter_words_per_member);
    if (words > pair_filter.size() + pair_filter.size() / 4) {
      pair_filter.assign(short_history() ? words : words + words / 2, 0);
      rebuild_filters();
    }
  }
  // The filter from the lists (pairs of current members: a member coming back re-marks
  // it). The marks are random writes over the whole table: the probes of a batch are
  // computed and their words fetched before any is written.
  void rebuild_filters() {
    std::fill(pair_filter.begin(), pair_filter.end(), 0);
    constexpr std::size_t batch = 16;
    std::array<filter_probe, batch> pending{};
    std::size_t count = 0;
    const auto flush = [&] {
      for (std::size_t i = 0; i < count; ++i)
        pair_filter[pending[i].word] |= pending[i].mask;
      count = 0;
    };
    for (std::uint32_t s = 0; s < members.size(); ++s) {
      if (!members[s].live)
        continue;
      const auto group = filter_group(members[s].organisation);
      for (auto other : records[s].partners) {
        const auto o = slot(other);
        if (o == no_slot)
          continue;
        pending[count] =
          probe_of(members[s].id, group, other, filter_group(members[o].organisation));
        __builtin_prefetch(&pair_filter[pending[count].word], 1);
        if (++count == batch)
          flush();
      }
    }
    flush();
    stale_history = 0;
    filter_stale = false;
    std::fill(flipped_organisation.begin(), flipped_organisation.end(), 0);
    flipped_count = 0;
  }

  // Messages of the pair (slots a, b) in the window, either way.
  int pair_count_slots(std::uint32_t a, std::uint32_t b, mailbox_id id_a,
                       mailbox_id id_b) const {
    // Stale marks (organisations changed since the last build) are not trusted.
    if (!filter_stale && !maybe_pair(id_a, group_of_slot(a), id_b, group_of_slot(b)))
      return 0;
    return count_in_lists(a, b, id_a, id_b);
  }
  // The same from the lists alone (the filter already said "maybe").
  int count_in_lists(std::uint32_t a, std::uint32_t b, mailbox_id id_a,
                     mailbox_id id_b) const {
    int count = 0;
    for (auto id : records[a].partners)
      count += id == id_b;
    for (auto id : records[b].partners)
      count += id == id_a;
    return count;
  }

  // One message from slot a to slot b.
  const mailbox_id* end_of_history(std::uint32_t s) const {
    return records[s].partners.data() + records[s].partners.size();
  }
  // The hints after lists changed wholesale (day start).
  void refresh_history_hints() {
    for (auto& key : sender_by_id)
      if (key.slot != no_slot)
        key.history_end = end_of_history(key.slot);
  }

  void record_pair(std::uint32_t a, std::uint32_t b, mailbox_id id_a, mailbox_id id_b,
                   std::uint32_t group_a, std::uint32_t group_b) {
    if (rules.pair_window_days <= 0 || a == b)
      return;
    records[a].partners.push_back(id_b);
    if (id_a < sender_by_id.size())
      sender_by_id[id_a].history_end = end_of_history(a);
    ++live_history;
    ++day_counts(a)[current_ring];
    mark_pair(id_a, group_a, id_b, group_b);
  }

  // Drops a member's list. The filter keeps its bits (a harmless "maybe" until the next
  // rebuild_filters).
  void forget_history(std::uint32_t s) {
    auto& h = records[s];
    live_history -= h.partners.size();
    h.partners.clear();
    std::fill_n(day_counts(s), window, 0u);
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

  // The parts of a sender's external draw (the sender in segment `seg`): other providers
  // and the rest of its own provider. In the usual case (an organisation on one
  // provider) the sums come from the running totals and a single prefix query.
  double external_parts(std::uint32_t seg) {
    const auto& own = segments[seg];
    const double other_domain = rules.other_domain_weight;
    const double other_provider = rules.other_domain_weight * rules.other_provider_weight;
    const auto& own_provider = provider_blocks[own.provider];
    const auto blocks = static_cast<std::uint32_t>(block_begin.size() - 1);
    if (own.split_org) {
      parts.clear();
      const auto& own_org = organisation_blocks[own.organisation];
      add_parts({0, own_provider.begin}, own_org, other_provider);
      add_parts(own_provider, own_org, other_domain);
      add_parts({own_provider.end, blocks}, own_org, other_provider);
      return measure_parts();
    }
    const auto provider_base = before_provider(own.provider);
    const auto provider_end = provider_base + provider_total[own.provider];
    const auto org_base = tree.prefix(own.org_begin);
    const auto org_end = org_base + org_total[seg];
    parts.resize(4);
    parts[0] = {0, own_provider.begin, other_provider, 0, provider_base};
    parts[1] = {own_provider.begin, own.org_begin, other_domain, provider_base,
                org_base - provider_base};
    parts[2] = {own.org_end, own_provider.end, other_domain, org_end, provider_end - org_end};
    parts[3] = {own_provider.end, blocks, other_provider, provider_end,
                total - provider_end};
    double mass = 0.0;
    for (const auto& p : parts)
      mass += p.factor * static_cast<double>(p.sum);
    return mass;
  }

  // One draw from the parts (already measured, total `mass` > 0), with the pair rules,
  // for the sender (slot, id, filter group).
  std::optional<std::uint32_t> draw_from_parts(std::uint32_t sender_slot, mailbox_id sender,
                                               std::uint32_t sender_group, double mass,
                                               rng& r) {
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
      // Between small organisations the filter word is known before the candidate:
      // fetched while the block's keys arrive.
      const auto early_word = group_word(sender_group, block_group[block]);
      if (early_word != no_word)
        __builtin_prefetch(&pair_filter[early_word]);
      auto pos = block_begin[block];
      // The sender's lines the delivery will write, asked for only now: their address
      // translations then overlap the draw's own instead of preceding them.
      if (sender_lines[0] != nullptr) {
        __builtin_prefetch(&keys[pos]);
        __builtin_prefetch(sender_lines[0], 1);
        __builtin_prefetch(sender_lines[1], 1);
        sender_lines[0] = nullptr;
      }
      while (target >= keys[pos].weight)
        target -= keys[pos++].weight;
      // The delivery reads the entry: fetched while the pair check runs.
      __builtin_prefetch(&entries[pos]);
      const auto candidate = keys[pos].id;
      const auto h = mix_pair(sender, candidate);
      const auto mask = mask_of(h);
      const auto word = early_word != no_word ? early_word : word_of(h);
      if ((pair_filter[word] & mask) != mask
          && !maybe_under_old_word(sender_group, block_group[block], h, word))
        return pos;  // no message of the pair in the window: k = 0, accepted
      const auto k = count_in_lists(sender_slot, entries[pos].slot, sender, candidate);
      if (!pair_exhausted(k) && (k == 0 || r.uniform() < decay(k)))
        return pos;
    }
    return draw_exact(sender_slot, sender, sender_group, r);
  }

  // The exact distribution by a scan of the parts: used only after many rejections,
  // i.e. when the sender's recent partners hold most of the weight (small pools).
  std::optional<std::uint32_t> draw_exact(std::uint32_t sender_slot, mailbox_id sender,
                                          std::uint32_t sender_group, rng& r) {
    exact_candidates.clear();
    double mass = 0.0;
    for (const auto& p : parts) {
      if (p.sum == 0)
        continue;
      for (auto pos = block_begin[p.begin]; pos < block_begin[p.end]; ++pos) {
        const auto w = keys[pos].weight;
        if (w == 0)
          continue;
        const auto& e = entries[pos];
        auto k = maybe_pair(sender, sender_group, e.id, segments[e.segment].group)
                   ? count_in_lists(sender_slot, e.slot, sender, e.id)
                   : 0;
        if (pair_exhausted(k))
          continue;
        double m = p.factor * static_cast<double>(w) * decay(k);
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

  // A sorted position drawn by the rules for the sender (slot, id) in segment `seg`.
  std::optional<std::uint32_t> draw(std::uint32_t sender_slot, mailbox_id sender,
                                    std::uint32_t seg, rng& r) {
    if (r.chance(rules.internal_share)) {
      const auto at = records[sender_slot].at;
      // Its own organisation, the sender's weight taken out of the tree meanwhile.
      const auto own_weight = keys[at.position].weight;
      set_weight(at.position, 0);
      parts.clear();
      for (const auto& range : organisation_blocks[segments[at.segment].organisation])
        parts.push_back({range.begin, range.end, 1.0, 0, 0});
      std::optional<std::uint32_t> to;
      if (double mass = measure_parts(); mass > 0.0)
        to = draw_from_parts(sender_slot, sender, segments[seg].group, mass, r);
      set_weight(at.position, own_weight);
      if (to)
        return to;
      // Nobody in the organisation can take it: the send goes out of it as usual.
    }
    double mass = external_parts(seg);
    if (!(mass > 0.0))
      return std::nullopt;
    return draw_from_parts(sender_slot, sender, segments[seg].group, mass, r);
  }

  // Counts one message to the member at position `to` from slot `from` (inbound, pair).
  // `from_group` is the sender's filter group.
  void deliver(std::uint32_t from, mailbox_id from_id, std::uint32_t from_group,
               std::uint32_t to) {
    auto& e = entries[to];
    ++e.inbound;
    set_weight(to, weight_of(e));
    record_pair(from, e.slot, from_id, e.id, from_group, segments[e.segment].group);
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
      d.records.emplace_back();
      if (d.window > static_cast<int>(impl::inline_days))
        d.wide_counts.resize(d.members.size() * static_cast<std::size_t>(d.window), 0);
    }
    d.bind_slot(m.id, s);
    ++d.live_count;
    // Back within the window of its removal: the others' messages with it are marked
    // again (under its organisation now).
    const auto back = std::find_if(d.departed.begin(), d.departed.end(),
                                   [&](const auto& gone) { return gone.first == m.id; });
    if (back != d.departed.end()) {
      d.departed.erase(back);
      d.filter_stale = true;
    }
  }
  auto& x = d.members[s];
  if (x.live && (x.provider != provider || x.organisation != organisation))
    d.unbuild();
  if (x.live && x.organisation != organisation)
    d.filter_stale = true;  // its pairs' filter words may follow its organisation
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
  d.departed.emplace_back(id, d.current_day);
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
    std::fill(d.pair_filter.begin(), d.pair_filter.end(), 0);
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
        auto* counts = d.day_counts(s);
        for (auto r : leaving) {
          drop += counts[r];
          counts[r] = 0;
        }
        if (drop > 0) {
          auto& list = d.records[s].partners;
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
  d.current_ring = d.ring_of(day);
  std::erase_if(d.departed, [&](const auto& gone) { return gone.second <= day - d.window; });
  d.ring_day[d.ring_of(day)] = day;
  for (auto& m : d.members)
    m.inbound = 0;
  if (!d.dirty) {
    for (auto& e : d.entries)
      e.inbound = 0;
    d.reweigh_all();
    d.refresh_history_hints();
  }
}

std::optional<peer_choice> peer_directory::choose(mailbox_id sender, rng& r) {
  auto& d = *impl_;
  if (d.dirty && d.slot(sender) == no_slot)
    return std::nullopt;
  d.ensure_built();
  impl::sender_key key;
  if (sender < d.sender_by_id.size())
    key = d.sender_by_id[sender];
  else if (const auto sparse = d.slot(sender); sparse != no_slot)
    key = {sparse, d.records[sparse].at.segment};
  if (key.slot == no_slot)
    return std::nullopt;
  const auto s = key.slot;
  // The delivery writes the sender's record and appends to its history: the draw
  // prefetches both lines once its own first miss is under way, so the delivery's stores
  // do not wait for memory (stores reach the cache in order, and a later load may wait
  // for all of them). A stale hint costs a useless prefetch, never a fault.
  d.sender_lines = {&d.records[s], key.history_end};
  auto to = d.draw(s, sender, key.segment, r);
  if (!to)
    return std::nullopt;
  d.deliver(s, sender, d.segments[key.segment].group, *to);
  // Plain locals until the end: building the optional member by member made the compiler
  // store a byte and reload it as a word, a load that waits for every store before it
  // (the delivery's cache-missing ones included) to reach the cache.
  const mailbox_id to_id = d.keys[*to].id;
  mailbox_id cc_id = no_mailbox;
  bool with_cc = false;
  if (r.chance(d.rules.cc_rate)) {
    // The Cc is drawn like a recipient, with `to` out of the tree meanwhile.
    const auto to_weight = d.keys[*to].weight;
    d.set_weight(*to, 0);
    auto cc = d.draw(s, sender, key.segment, r);
    d.set_weight(*to, to_weight);
    if (cc) {
      d.deliver(s, sender, d.segments[key.segment].group, *cc);
      cc_id = d.keys[*cc].id;
      with_cc = true;
    }
  }
  if (!with_cc)
    return peer_choice{to_id, std::nullopt};
  return peer_choice{to_id, cc_id};
}

void peer_directory::record(mailbox_id from, mailbox_id to) {
  auto& d = *impl_;
  auto t = d.slot(to);
  if (t == no_slot)
    return;
  const auto f = d.slot(from);
  if (!d.dirty) {
    const auto pos = d.records[t].at.position;
    if (f != no_slot) {
      d.deliver(f, from, d.group_of_slot(f), pos);
    } else {
      auto& e = d.entries[pos];
      ++e.inbound;
      d.set_weight(pos, d.weight_of(e));
    }
    return;
  }
  ++d.members[t].inbound;
  if (f != no_slot)
    d.record_pair(f, t, from, to, d.group_of_slot(f), d.group_of_slot(t));
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
