// store.cpp: the backend-independent parts of the store contract: enum names, batch
// emptiness and appending, and the schema version every backend migrates to.
#include "storage/store.hpp"

#include <array>
#include <iterator>

namespace warmup::storage {

namespace {
// Stored as text in every backend (readable with the database's own shell), so these
// names are part of the on-disk format: never rename one, only append.
constexpr std::array<std::string_view, 4> placement_names = {"unknown", "inbox", "spam",
                                                             "missing"};
constexpr std::array<std::string_view, 5> intent_status_names = {
  "pending", "sent", "failed", "bounced", "skipped"};

template <class Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names,
                               std::string_view s) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s)
      return static_cast<Enum>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(placement p) {
  auto i = static_cast<std::size_t>(p);
  return i < placement_names.size() ? placement_names[i] : std::string_view{"unknown"};
}

std::optional<placement> parse_placement(std::string_view s) {
  return parse_name<placement>(placement_names, s);
}

std::string_view to_string(intent_status s) {
  auto i = static_cast<std::size_t>(s);
  return i < intent_status_names.size() ? intent_status_names[i]
                                        : std::string_view{"pending"};
}

std::optional<intent_status> parse_intent_status(std::string_view s) {
  return parse_name<intent_status>(intent_status_names, s);
}

bool write_batch::empty() const {
  return intents.empty() && outcomes.empty() && registry.empty() && placements.empty()
         && stats.empty() && ramps.empty() && plans.empty();
}

namespace {

template <class T>
void move_to_end(std::vector<T>& to, std::vector<T>& from) {
  if (to.empty())
    to = std::move(from);
  else
    std::move(from.begin(), from.end(), std::back_inserter(to));
  from.clear();
}

}  // namespace

void append(write_batch& to, write_batch&& from) {
  move_to_end(to.intents, from.intents);
  move_to_end(to.outcomes, from.outcomes);
  move_to_end(to.registry, from.registry);
  move_to_end(to.placements, from.placements);
  move_to_end(to.stats, from.stats);
  move_to_end(to.ramps, from.ramps);
  move_to_end(to.plans, from.plans);
}

bool store::update_mailbox(const mailbox_record&) {
  throw store_error("this store cannot update mailboxes");
}

std::vector<store::mailbox_stamp> store::mailbox_stamps() {
  mailbox_filter all;
  all.include_removed = true;
  std::vector<mailbox_stamp> out;
  for (const auto& r : list_mailboxes(all))
    out.push_back({r.settings.id, r.settings.state, r.updated_at});
  return out;
}

std::vector<mailbox_id> store::add_mailboxes(const std::vector<mailbox_record>& rs) {
  std::vector<mailbox_id> ids;
  ids.reserve(rs.size());
  for (const auto& r : rs)
    ids.push_back(add_mailbox(r));
  return ids;
}

// Version 1: mailboxes, shard leases, send intents, message registry, day stats, plans,
// meta. Version 2: a mailbox's mail account and sealed secret; the node registry.
// Version 3: PostgreSQL's outcomes as HOT updates (nothing for SQLite).
// Version 4: SQLite's registry by Message-ID hash, day stats by day (nothing for PostgreSQL).
// Version 5: SQLite's registry indexed by (UTC day of sent_at, hash) (nothing for PostgreSQL).
// Version 6: SQLite's intents indexed by (day, id), the key kept unique by the writer
// (nothing for PostgreSQL).
// Every backend's migration list must end at this number (checked by its tests).
int store::latest_schema_version() {
  return 6;
}

bool store::register_node(const node_info&) {
  throw store_error("this store has no node registry");
}

bool store::heartbeat(const std::string&, std::uint64_t) {
  throw store_error("this store has no node registry");
}

std::vector<node_info> store::list_nodes() {
  throw store_error("this store has no node registry");
}

std::vector<batch_result> store::apply_many(const std::vector<write_batch>& batches) {
  std::vector<batch_result> out;
  out.reserve(batches.size());
  for (const auto& b : batches)
    out.push_back(apply(b));
  return out;
}

store::day_rows store::days_between(day_number from_day, day_number to_day) {
  day_rows out;
  mailbox_filter all;
  all.include_removed = true;
  for (const auto& m : list_mailboxes(all)) {
    for (const auto& row : intents(m.settings.id, from_day, to_day))
      out.intent_keys.push_back(row.intent.key);
    for (auto d = from_day; d <= to_day; ++d)
      if (auto p = plan(m.settings.id, d))
        out.plans.push_back(std::move(*p));
  }
  return out;
}

std::vector<batch_result> store::apply_many_once(const std::string&, std::uint64_t,
                                                const std::vector<write_batch>& batches) {
  return apply_many(batches);
}

}  // namespace warmup::storage
