// sandbox_network.cpp: the simulated mail network: striped mailbox state, the reputation
// model (engagement, drift, volume heat), placement, cleanup and snapshots.
#include "net/sandbox_network.hpp"

#include "warmup/random.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

namespace warmup::sandbox {

namespace {

constexpr std::string_view folder_names[] = {"none", "inbox", "spam", "warmup", "archive"};
constexpr std::string_view status_names[] = {"accepted", "bounced", "temporary_failure"};
constexpr std::string_view snapshot_magic = "warmup-sandbox-network 1";
constexpr std::size_t stripe_count = 64;
constexpr int history_days = 8;  // today + the trailing 7 days
constexpr std::uint8_t no_provider = 0xFF;
constexpr std::size_t max_providers = 32;  // more would be configuration noise
// Salts keep the independent draws of one message apart.
constexpr std::uint64_t placement_salt = 0x706c6163656d656eULL;
constexpr std::uint64_t transient_salt = 0x7472616e7369656eULL;

// Flag bits of a stored message.
enum : std::uint8_t {
  bit_read = 1,
  bit_important = 2,
  bit_starred = 4,
  bit_replied = 8,      // a reply was seen: reply engagement counted once
  bit_rescued = 16,     // left spam once: rescue counted once
  bit_spam_left = 32,   // "spam left" cost counted once
};

// 32 bytes per message: the network keeps no bodies.
struct stored_message {
  std::uint64_t id_hash = 0;
  std::uint64_t thread = 0;
  time_ms arrived_at = 0;
  mailbox_id from = no_mailbox;
  std::uint8_t turn = 0;
  folder where = folder::none;
  std::uint8_t bits = 0;
};
static_assert(sizeof(stored_message) == 32);

struct provider_reputation {
  double value = 0.0;
  day_number day = 0;  // the day `value` was last brought up to date (drift applied)
};

// A sender's memory at the providers: reputations, heat and daily send counts.
struct sender_state {
  std::vector<provider_reputation> reputation;  // one per provider
  double heat = 0.0;
  day_number heat_day = 0;
  day_number today = 0;
  std::array<std::uint32_t, history_days> sent{};  // sent[d % 8] = sends on day d
};

struct mailbox_record {
  mailbox_id id = no_mailbox;
  std::uint8_t provider = no_provider;  // no_provider: a sender only, not a recipient
  std::vector<stored_message> messages;  // arrival order
  std::unique_ptr<sender_state> sender;  // created at its first send
};

// Counts of one provider within one stripe (summed over stripes by totals()). Plain
// integers: they change under the stripe's lock, which the operation holds anyway.
struct provider_tally {
  std::uint64_t mailboxes = 0, accepted = 0, inbox = 0, spam = 0, temporary_failures = 0,
                rescued = 0;
};

// A stripe's mailboxes: records in one vector and an open-addressing index over them.
// Compact and cache-friendly: a node-based map cost a cache miss per lookup, which was
// a third of the time of a deliver + find + engage cycle at 10k mailboxes.
class mailbox_table {
public:
  mailbox_record* find(mailbox_id id) {
    if (keys_.empty() || id == no_mailbox) return nullptr;
    for (std::size_t i = home(id);; i = (i + 1) & mask()) {
      if (keys_[i] == id) return &records_[slots_[i]];
      if (keys_[i] == no_mailbox) return nullptr;
    }
  }
  const mailbox_record* find(mailbox_id id) const {
    return const_cast<mailbox_table*>(this)->find(id);
  }
  // The record of `id`, created empty when missing (id must not be no_mailbox).
  mailbox_record& operator[](mailbox_id id) {
    if (auto* rec = find(id)) return *rec;
    if ((records_.size() + 1) * 4 > keys_.size() * 3) grow();
    place(id, static_cast<std::uint32_t>(records_.size()));
    records_.emplace_back().id = id;
    return records_.back();
  }
  std::vector<mailbox_record>& records() { return records_; }
  const std::vector<mailbox_record>& records() const { return records_; }

private:
  std::size_t mask() const { return keys_.size() - 1; }
  std::size_t home(mailbox_id id) const {
    // The low bits choose the stripe; the high bits spread within it.
    return static_cast<std::size_t>(mix64(id) >> 32) & mask();
  }
  void place(mailbox_id id, std::uint32_t slot) {
    std::size_t i = home(id);
    while (keys_[i] != no_mailbox) i = (i + 1) & mask();
    keys_[i] = id;
    slots_[i] = slot;
  }
  void grow() {
    const std::size_t size = keys_.empty() ? 16 : keys_.size() * 2;
    keys_.assign(size, no_mailbox);
    slots_.assign(size, 0);
    for (std::uint32_t slot = 0; slot < records_.size(); ++slot) place(records_[slot].id, slot);
  }

  std::vector<mailbox_id> keys_;        // no_mailbox marks a free cell
  std::vector<std::uint32_t> slots_;    // index into records_
  std::vector<mailbox_record> records_;
};

struct alignas(64) stripe {
  mutable std::mutex lock;
  mailbox_table mailboxes;
  std::vector<provider_tally> tallies;  // one per provider
  std::int64_t stored = 0;
  std::uint64_t bounced = 0;
  std::uint64_t senders = 0;
};

day_number day_of(time_ms t) {
  auto d = t / ms_per_day;
  if (t % ms_per_day < 0) --d;
  return static_cast<day_number>(d);
}

// The slot of day `d` in a sender's 8-day send history (days before 1970 included).
std::size_t history_slot(day_number d) {
  return static_cast<std::size_t>(((d % history_days) + history_days) % history_days);
}

std::size_t stripe_of(mailbox_id id) {
  return static_cast<std::size_t>(mix64(id) % stripe_count);
}

stored_message* find_message(std::vector<stored_message>& messages, std::uint64_t id_hash) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it)
    if (it->id_hash == id_hash) return &*it;
  return nullptr;
}

}  // namespace

std::string_view to_string(folder f) {
  return folder_names[static_cast<std::size_t>(f)];
}

std::string_view to_string(delivery_status s) {
  return status_names[static_cast<std::size_t>(s)];
}

std::vector<provider_spec> default_providers() {
  return {{"gmail.sim", 0.48}, {"outlook.sim", 0.42}, {"yahoo.sim", 0.34}, {"mail.sim", 0.26}};
}

std::vector<provider_spec> providers_named(std::span<const std::string> names) {
  const auto defaults = default_providers();
  std::vector<provider_spec> out;
  for (const auto& name : names) {
    auto known = std::find_if(defaults.begin(), defaults.end(),
                              [&](const provider_spec& p) { return p.name == name; });
    if (known != defaults.end()) {
      out.push_back(*known);
    } else {
      const double u = static_cast<double>(stable_hash(name) % 1001) / 1000.0;
      out.push_back({name, 0.33 + 0.12 * u});
    }
  }
  return out;
}

double inbox_probability(double reputation, double strictness, double softness) {
  return 1.0 / (1.0 + std::exp(-(reputation - strictness) / softness));
}

// What an engagement action changed, carried from the recipient's stripe (where the
// message lives) to the sender's stripe (where the reputation lives).
struct reputation_change {
  mailbox_id sender = no_mailbox;
  std::uint8_t provider = no_provider;
  double gain = 0.0;  // share of (1 - r) gained
  double cost = 0.0;  // share of r lost
  bool rescued = false;
};

struct network::impl {
  network_params params;
  std::array<stripe, stripe_count> stripes;

  explicit impl(network_params p) : params(std::move(p)) {
    if (params.providers.size() > max_providers) params.providers.resize(max_providers);
    for (auto& st : stripes) st.tallies.resize(params.providers.size());
  }

  std::uint8_t provider_index(std::string_view name) const {
    for (std::size_t i = 0; i < params.providers.size(); ++i)
      if (params.providers[i].name == name) return static_cast<std::uint8_t>(i);
    return no_provider;
  }

  double drifted(const provider_reputation& r, day_number day) const {
    if (day <= r.day) return r.value;
    const double keep = std::pow(1.0 - params.daily_drift, day - r.day);
    return params.neutral_reputation + (r.value - params.neutral_reputation) * keep;
  }

  double heat_at(const sender_state& s, day_number day) const {
    if (day <= s.heat_day) return s.heat;
    return s.heat * std::pow(params.heat_decay, day - s.heat_day);
  }

  sender_state& sender_of(stripe& st, mailbox_id id, day_number day) {
    auto& rec = st.mailboxes[id];
    if (!rec.sender) {
      ++st.senders;
      rec.sender = std::make_unique<sender_state>();
      rec.sender->reputation.assign(params.providers.size(),
                                    provider_reputation{params.initial_reputation, day});
      rec.sender->heat_day = day;
      rec.sender->today = day;
    }
    return *rec.sender;
  }

  // Brings a reputation entry up to `day` and returns it.
  provider_reputation& current(sender_state& s, std::uint8_t provider, day_number day) const {
    auto& r = s.reputation[provider];
    r.value = drifted(r, day);
    r.day = std::max(r.day, day);
    return r;
  }

  // Counts one send today and returns the heat after it (spike rule in the header).
  double count_send(sender_state& s, day_number day) const {
    if (day > s.today) {
      for (day_number d = s.today + 1; d <= day && d <= s.today + history_days; ++d)
        s.sent[history_slot(d)] = 0;
      s.today = day;
    }
    // A send stamped before the sender's current day (out-of-order times) counts on today.
    auto& today_count = s.sent[history_slot(s.today)];
    ++today_count;
    double trailing = 0.0;
    double peak = 0.0;
    for (int back = 1; back < history_days; ++back) {
      const double n = s.sent[history_slot(s.today - back)];
      trailing += n;
      peak = std::max(peak, n);
    }
    const double threshold =
        std::max({params.spike_floor, params.spike_factor * trailing / (history_days - 1),
                  params.spike_peak_factor * peak});
    s.heat = heat_at(s, day);
    s.heat_day = std::max(s.heat_day, day);
    const double excess = static_cast<double>(today_count) - threshold;
    if (excess > 0.0) s.heat += params.spike_heat * excess * excess;
    return s.heat;
  }

  void apply(const reputation_change& c, time_ms now) {
    if (c.sender == no_mailbox || c.provider == no_provider) return;
    const auto day = day_of(now);
    auto& st = stripes[stripe_of(c.sender)];
    std::lock_guard guard(st.lock);
    auto& s = sender_of(st, c.sender, day);
    auto& r = current(s, c.provider, day);
    r.value += c.gain * (1.0 - r.value);
    r.value -= c.cost * r.value;
    r.value = std::clamp(r.value, 0.0, 1.0);
  }

  // Runs `change(message, record)` on a stored message under the recipient's lock and
  // applies the reputation change it returns; false when the message is not there.
  template <class Change>
  bool engage(mailbox_id recipient, std::string_view message_id, time_ms now, Change change) {
    reputation_change effect;
    {
      auto& st = stripes[stripe_of(recipient)];
      std::lock_guard guard(st.lock);
      auto* rec = st.mailboxes.find(recipient);
      if (!rec) return false;
      auto* msg = find_message(rec->messages, stable_hash(message_id));
      if (!msg) return false;
      if (!change(*msg, effect)) return false;
      effect.sender = msg->from;
      effect.provider = rec->provider;
      if (effect.rescued && effect.provider != no_provider) ++st.tallies[effect.provider].rescued;
    }
    if (effect.gain > 0.0 || effect.cost > 0.0) apply(effect, now);
    return true;
  }
};

network::network(network_params p) : impl_(std::make_unique<impl>(std::move(p))) {}
network::~network() = default;

const network_params& network::params() const { return impl_->params; }

bool network::add_mailbox(mailbox_id id, std::string_view provider) {
  const auto index = impl_->provider_index(provider);
  if (index == no_provider || id == no_mailbox) return false;
  auto& st = impl_->stripes[stripe_of(id)];
  std::lock_guard guard(st.lock);
  auto& rec = st.mailboxes[id];
  if (rec.provider != no_provider) --st.tallies[rec.provider].mailboxes;
  rec.provider = index;
  ++st.tallies[index].mailboxes;
  return true;
}

bool network::has_mailbox(mailbox_id id) const {
  const auto& st = impl_->stripes[stripe_of(id)];
  std::lock_guard guard(st.lock);
  const auto* rec = st.mailboxes.find(id);
  return rec && rec->provider != no_provider;
}

delivery network::deliver(const mail& m, time_ms now) {
  auto& self = *impl_;
  const auto day = day_of(now);
  const auto id_hash = stable_hash(m.message_id);
  auto& to_stripe = self.stripes[stripe_of(m.to)];
  if (m.from == no_mailbox) {  // no sender to hold a reputation: refused like a bad address
    std::lock_guard guard(to_stripe.lock);
    ++to_stripe.bounced;
    return {delivery_status::bounced, folder::none};
  }

  if (self.params.transient_failure_rate > 0.0) {
    rng draw(seed_of(self.params.seed ^ transient_salt,
                     id_hash ^ static_cast<std::uint64_t>(now), m.to));
    if (draw.chance(self.params.transient_failure_rate)) {
      std::lock_guard guard(to_stripe.lock);
      const auto* rec = to_stripe.mailboxes.find(m.to);
      if (rec && rec->provider != no_provider) {
        ++to_stripe.tallies[rec->provider].temporary_failures;
        return {delivery_status::temporary_failure, folder::none};
      }
      ++to_stripe.bounced;
      return {delivery_status::bounced, folder::none};
    }
  }

  // The sender's side first: its reputation at every provider is copied out so that the
  // recipient's side needs one lock, not two at once. A new message counts toward the
  // sender's volume whatever the recipient's server answers (a bounce was sent too); a
  // reply to mail the sender really received is conversation, not volume (providers
  // favour replies, and counting them would turn a busy inbox into a "spike"), and it
  // tells the replier's provider that the original sender's mail is wanted.
  std::array<double, max_providers> effective{};
  reputation_change reply_effect;
  {
    auto& st = self.stripes[stripe_of(m.from)];
    std::lock_guard guard(st.lock);
    auto& s = self.sender_of(st, m.from, day);
    bool is_reply = false;
    if (!m.in_reply_to.empty()) {
      auto& replier = st.mailboxes[m.from];
      auto* original = find_message(replier.messages, stable_hash(m.in_reply_to));
      if (original && original->from == m.to) {
        is_reply = true;
        if (!(original->bits & bit_replied)) {
          original->bits |= bit_replied;
          reply_effect = {m.to, replier.provider, self.params.reply_gain, 0.0, false};
        }
      }
    }
    const double heat = is_reply ? self.heat_at(s, day) : self.count_send(s, day);
    for (std::size_t p = 0; p < self.params.providers.size(); ++p)
      effective[p] = std::clamp(
          self.current(s, static_cast<std::uint8_t>(p), day).value - heat, 0.0, 1.0);
  }

  folder placement = folder::none;
  {
    std::lock_guard guard(to_stripe.lock);
    auto* rec = to_stripe.mailboxes.find(m.to);
    if (!rec || rec->provider == no_provider) {
      ++to_stripe.bounced;
      return {delivery_status::bounced, folder::none};
    }
    const auto provider = rec->provider;
    const double p_inbox =
        (1.0 - self.params.misfiling) *
        inbox_probability(effective[provider], self.params.providers[provider].strictness,
                          self.params.softness);
    rng draw(seed_of(self.params.seed ^ placement_salt, id_hash, m.to));
    placement = draw.uniform() < p_inbox ? folder::inbox : folder::spam;
    rec->messages.push_back(stored_message{
        id_hash, m.thread, now, m.from,
        static_cast<std::uint8_t>(std::clamp(m.turn, 0, 255)), placement, 0});
    auto& tally = to_stripe.tallies[provider];
    ++to_stripe.stored;
    ++tally.accepted;
    ++(placement == folder::inbox ? tally.inbox : tally.spam);
  }

  if (reply_effect.sender != no_mailbox) self.apply(reply_effect, now);
  return {delivery_status::accepted, placement};
}

std::optional<message_view> network::lookup(mailbox_id recipient,
                                            std::string_view message_id) const {
  auto& st = impl_->stripes[stripe_of(recipient)];
  std::lock_guard guard(st.lock);
  auto* rec = st.mailboxes.find(recipient);
  if (!rec) return std::nullopt;
  const auto* msg = find_message(rec->messages, stable_hash(message_id));
  if (!msg) return std::nullopt;
  message_view v;
  v.where = msg->where;
  v.from = msg->from;
  v.thread = msg->thread;
  v.turn = msg->turn;
  v.marks = {(msg->bits & bit_read) != 0, (msg->bits & bit_important) != 0,
             (msg->bits & bit_starred) != 0};
  v.arrived_at = msg->arrived_at;
  return v;
}

folder network::find(mailbox_id recipient, std::string_view message_id) const {
  auto v = lookup(recipient, message_id);
  return v ? v->where : folder::none;
}

bool network::move(mailbox_id recipient, std::string_view message_id, folder to,
                   time_ms now) {
  if (to == folder::none) return false;
  const auto& p = impl_->params;
  return impl_->engage(recipient, message_id, now,
                       [&](stored_message& msg, reputation_change& effect) {
                         if (msg.where == folder::spam && to != folder::spam) {
                           if (!(msg.bits & bit_rescued)) {
                             msg.bits |= bit_rescued;
                             effect.gain = p.rescue_gain;
                             effect.rescued = true;
                           }
                         } else if (msg.where != folder::spam && to == folder::spam) {
                           effect.cost = p.marked_spam_cost;
                         }
                         msg.where = to;
                         return true;
                       });
}

bool network::rescue(mailbox_id recipient, std::string_view message_id, time_ms now) {
  const auto& p = impl_->params;
  // Checked and moved under one lock, so a concurrent move cannot slip in between.
  return impl_->engage(recipient, message_id, now,
                       [&](stored_message& msg, reputation_change& effect) {
                         if (msg.where != folder::spam) return false;
                         msg.where = folder::inbox;
                         if (!(msg.bits & bit_rescued)) {
                           msg.bits |= bit_rescued;
                           effect.gain = p.rescue_gain;
                           effect.rescued = true;
                         }
                         return true;
                       });
}

bool network::file(mailbox_id recipient, std::string_view message_id, time_ms now) {
  return move(recipient, message_id, folder::warmup, now);
}

bool network::set_flags(mailbox_id recipient, std::string_view message_id, flags set,
                        time_ms now) {
  auto& self = *impl_;
  const std::uint8_t wanted = static_cast<std::uint8_t>(
      (set.read ? bit_read : 0) | (set.important ? bit_important : 0) |
      (set.starred ? bit_starred : 0));
  return self.engage(recipient, message_id, now,
                     [&](stored_message& msg, reputation_change& effect) {
                       const std::uint8_t fresh = wanted & static_cast<std::uint8_t>(~msg.bits);
                       msg.bits |= fresh;
                       // Gains of several flags at once compose like separate actions.
                       double keep = 1.0;
                       if (fresh & bit_read) keep *= 1.0 - self.params.read_gain;
                       if (fresh & bit_important) keep *= 1.0 - self.params.important_gain;
                       if (fresh & bit_starred) keep *= 1.0 - self.params.star_gain;
                       effect.gain = 1.0 - keep;
                       return true;
                     });
}

std::size_t network::cleanup(time_ms now, time_ms older_than) {
  auto& self = *impl_;
  const time_ms drop_before = now - older_than;
  const time_ms spam_left_before = now - self.params.spam_left_after;
  std::size_t dropped = 0;
  std::vector<reputation_change> costs;
  for (auto& st : self.stripes) {
    {
      std::lock_guard guard(st.lock);
      for (auto& rec : st.mailboxes.records()) {
        for (auto& msg : rec.messages) {
          if (msg.where == folder::spam && msg.arrived_at <= spam_left_before &&
              !(msg.bits & bit_spam_left)) {
            msg.bits |= bit_spam_left;
            costs.push_back({msg.from, rec.provider, 0.0, self.params.spam_left_cost});
          }
        }
        const auto before = rec.messages.size();
        std::erase_if(rec.messages, [&](const stored_message& msg) {
          return msg.arrived_at < drop_before &&
                 (msg.where == folder::warmup || msg.where == folder::archive ||
                  msg.where == folder::spam);
        });
        dropped += before - rec.messages.size();
        st.stored -= static_cast<std::int64_t>(before - rec.messages.size());
        // Give memory back once a mailbox holds far less than it did at its peak.
        if (rec.messages.capacity() > 64 && rec.messages.size() * 4 < rec.messages.capacity())
          rec.messages.shrink_to_fit();
      }
    }
    // Costs land on senders in other stripes: applied with this stripe's lock released.
    for (const auto& c : costs) self.apply(c, now);
    costs.clear();
  }
  return dropped;
}

std::optional<double> network::reputation(mailbox_id sender, std::string_view provider,
                                          time_ms now) const {
  const auto& self = *impl_;
  const auto index = self.provider_index(provider);
  if (index == no_provider) return std::nullopt;
  const auto day = day_of(now);
  const auto& st = self.stripes[stripe_of(sender)];
  std::lock_guard guard(st.lock);
  const auto* rec = st.mailboxes.find(sender);
  if (!rec || !rec->sender) return self.params.initial_reputation;
  const auto& s = *rec->sender;
  return std::clamp(self.drifted(s.reputation[index], day) - self.heat_at(s, day), 0.0, 1.0);
}

network_totals network::totals() const {
  const auto& self = *impl_;
  network_totals out;
  for (const auto& spec : self.params.providers)
    out.providers.push_back({spec.name, spec.strictness});
  std::int64_t stored = 0;
  for (const auto& st : self.stripes) {
    std::lock_guard guard(st.lock);
    for (std::size_t i = 0; i < st.tallies.size(); ++i) {
      auto& o = out.providers[i];
      const auto& t = st.tallies[i];
      o.mailboxes += t.mailboxes;
      o.accepted += t.accepted;
      o.inbox += t.inbox;
      o.spam += t.spam;
      o.temporary_failures += t.temporary_failures;
      o.rescued += t.rescued;
    }
    stored += st.stored;
    out.bounced += st.bounced;
    out.senders += st.senders;
  }
  out.messages_stored = static_cast<std::uint64_t>(stored);
  return out;
}

std::size_t network::messages_stored() const {
  std::int64_t stored = 0;
  for (const auto& st : impl_->stripes) {
    std::lock_guard guard(st.lock);
    stored += st.stored;
  }
  return static_cast<std::size_t>(stored);
}

// Snapshot text, one sender a line (doubles in shortest round-trip form):
//   warmup-sandbox-network 1
//   providers <n> <name>...
//   sender <id> <today> <heat> <heat_day> <sends on today-7 .. today (8)> {<rep> <day>} x n
//   end <senders>
namespace {

void put(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

template <class Int>
void put(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Splits a line into whitespace-separated tokens.
std::vector<std::string_view> tokens_of(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <class T>
bool parse(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::string network::snapshot() const {
  const auto& self = *impl_;
  std::string out;
  out += snapshot_magic;
  out += "\nproviders ";
  put(out, self.params.providers.size());
  for (const auto& p : self.params.providers) out += ' ' + p.name;
  out += '\n';
  std::uint64_t count = 0;
  for (const auto& st : self.stripes) {
    std::lock_guard guard(st.lock);
    for (const auto& rec : st.mailboxes.records()) {
      if (!rec.sender) continue;
      const auto& s = *rec.sender;
      out += "sender ";
      put(out, rec.id);
      out += ' ';
      put(out, s.today);
      out += ' ';
      put(out, s.heat);
      out += ' ';
      put(out, s.heat_day);
      for (int back = history_days - 1; back >= 0; --back) {
        out += ' ';
        put(out, s.sent[history_slot(s.today - back)]);
      }
      for (const auto& r : s.reputation) {
        out += ' ';
        put(out, r.value);
        out += ' ';
        put(out, r.day);
      }
      out += '\n';
      ++count;
    }
  }
  out += "end ";
  put(out, count);
  out += '\n';
  return out;
}

bool network::restore(std::string_view text, std::string* why) {
  auto& self = *impl_;
  auto fail = [&](std::size_t line, std::string_view what) {
    if (why)
      *why = "sandbox network snapshot line " + std::to_string(line) + ": " +
             std::string(what) + " (the snapshot was not restored; the network keeps its state)";
    return false;
  };
  std::vector<std::uint8_t> column_provider;  // snapshot column -> our provider index
  std::vector<std::pair<mailbox_id, sender_state>> senders;
  std::size_t line_no = 0;
  bool have_providers = false;
  bool ended = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line_no == 1) {
      if (tokens_of(line) != tokens_of(snapshot_magic))
        return fail(line_no, "not a sandbox network snapshot (version 1)");
      continue;
    }
    const auto t = tokens_of(line);
    if (t.empty()) continue;
    if (ended) return fail(line_no, "text after the end line");
    if (t[0] == "providers") {
      std::size_t n = 0;
      if (t.size() < 2 || !parse(t[1], n) || t.size() != n + 2)
        return fail(line_no, "malformed providers line");
      column_provider.clear();
      have_providers = true;
      for (std::size_t i = 0; i < n; ++i)
        column_provider.push_back(self.provider_index(t[i + 2]));
    } else if (t[0] == "sender") {
      const auto n = column_provider.size();
      if (!have_providers || t.size() != 5 + history_days + 2 * n)
        return fail(line_no, "malformed sender line (expected after the providers line)");
      mailbox_id id = 0;
      sender_state s;
      bool ok = parse(t[1], id) && id != no_mailbox && parse(t[2], s.today) &&
                parse(t[3], s.heat) && parse(t[4], s.heat_day) && std::isfinite(s.heat) &&
                s.heat >= 0.0;
      for (int i = 0; ok && i < history_days; ++i) {
        const int back = history_days - 1 - i;
        ok = parse(t[5 + static_cast<std::size_t>(i)],
                   s.sent[history_slot(s.today - back)]);
      }
      s.reputation.assign(self.params.providers.size(),
                          provider_reputation{self.params.initial_reputation, s.today});
      for (std::size_t c = 0; ok && c < n; ++c) {
        provider_reputation r;
        ok = parse(t[5 + history_days + 2 * c], r.value) &&
             parse(t[6 + history_days + 2 * c], r.day) && r.value >= 0.0 && r.value <= 1.0;
        if (ok && column_provider[c] != no_provider) s.reputation[column_provider[c]] = r;
      }
      if (!ok) return fail(line_no, "a number is malformed or out of range");
      senders.emplace_back(id, std::move(s));
    } else if (t[0] == "end") {
      std::size_t n = 0;
      if (t.size() != 2 || !parse(t[1], n) || n != senders.size())
        return fail(line_no, "the end line does not match the number of senders (truncated?)");
      ended = true;
    } else {
      return fail(line_no, "unknown line '" + std::string(t[0]) + "'");
    }
  }
  if (!ended) return fail(line_no, "no end line (truncated?)");

  for (auto& st : self.stripes) {
    std::lock_guard guard(st.lock);
    for (auto& rec : st.mailboxes.records()) rec.sender.reset();
    st.senders = 0;
  }
  for (auto& [id, s] : senders) {
    auto& st = self.stripes[stripe_of(id)];
    std::lock_guard guard(st.lock);
    auto& slot = st.mailboxes[id].sender;
    if (!slot) ++st.senders;  // a repeated id in the snapshot: the last line wins
    slot = std::make_unique<sender_state>(std::move(s));
  }
  return true;
}

}  // namespace warmup::sandbox
