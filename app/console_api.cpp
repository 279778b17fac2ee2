// console_api.cpp: API v1 routes, their JSON, /metrics, /healthz, /readyz and the web page.
#include "app/console_api.hpp"

#include "actors/node.hpp"
#include "app/console_assets.hpp"
#include "app/console_metrics.hpp"
#include "app/mailbox_commands.hpp"
#include "app/status_command.hpp"
#include "warmup/calendar.hpp"
#include "warmup/health.hpp"
#include "warmup/ramp.hpp"

#include <caf/actor_system.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <set>

namespace warmup::app {

namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t state_count = 6;
constexpr std::array<mailbox_state, state_count> all_states{
  mailbox_state::active,       mailbox_state::paused,     mailbox_state::throttled,
  mailbox_state::disconnected, mailbox_state::restarting, mailbox_state::removed};
constexpr std::array<const char*, 6> slot_status_names{"planned", "in_flight", "sent",
                                                       "failed",  "skipped",   "dropped"};

http::response json_response(int status, const json& j) {
  http::response r;
  r.status = status;
  r.body = j.dump();
  return r;
}

http::response error(int status, const std::string& message, const std::string& field = {}) {
  json j = {{"error", message}, {"field", field.empty() ? json(nullptr) : json(field)}};
  return json_response(status, j);
}

std::string state_name(mailbox_state s) {
  return std::string(to_string(s));
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    auto j = path.find('/', i);
    if (j == std::string::npos)
      j = path.size();
    if (j > i)
      parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

template <class T>
std::optional<T> parse_unsigned(const std::string& s) {
  T v{};
  if (s.empty() || s.size() > 12)
    return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

// The field a domain validation message is about: its first word ("timezone \"X\": ...").
std::string field_of(const std::string& message) {
  static const std::map<std::string, std::string> fields{
    {"email", "email"},       {"timezone", "timezone"}, {"provider", "provider"},
    {"preset", "preset"},     {"ramp", "preset"},       {"organisation", "organisation"},
    {"name", "display_name"}, {"window", "preset"}};
  auto word = message.substr(0, message.find_first_of(" \":"));
  auto it = fields.find(word);
  return it == fields.end() ? std::string{} : it->second;
}

json ramp_params_json(const ramp_params& r) {
  return {{"start", r.start},       {"step", r.step},
          {"ceiling", r.ceiling},   {"variance", r.variance},
          {"weekdays_only", r.weekdays_only}, {"weekend_factor", r.weekend_factor}};
}

// A mailbox as the API shows it: settings and ramp state, never credentials (the
// account's servers and login are shown; sealed_secret never leaves the store).
json mailbox_summary_json(const storage::mailbox_record& r, std::uint32_t shard_count) {
  const auto& m = r.settings;
  return {{"id", m.id},
          {"email", m.email},
          {"display_name", m.display_name},
          {"provider", m.provider},
          {"domain", std::string(email_domain(m.email))},
          {"organisation", m.organisation},
          {"timezone", m.timezone},
          {"transport", std::string(to_string(m.transport))},
          {"state", state_name(m.state)},
          {"shard", shard_count ? shard_of(m.email, shard_count) : 0},
          {"ramp_preset", r.ramp_preset},
          {"ramp_day", r.ramp.ramp_day},
          {"throttle_percent", r.ramp.throttle_percent},
          {"band", std::string(to_string(r.ramp.band))},
          {"paused_by_health", r.ramp.paused_by_health}};
}

json stats_json(const day_stats& d) {
  return {{"day", format_day(d.day)}, {"planned", d.planned}, {"sent", d.sent},
          {"received", d.received},   {"inbox", d.inbox},     {"spam", d.spam},
          {"missing", d.missing},     {"replies", d.replies}, {"bounces", d.bounces},
          {"rescued", d.rescued},     {"skipped", d.skipped}};
}

json shard_view_json(const shard_view& v) {
  json by = json::object();
  for (auto s : all_states)
    by[state_name(s)] = v.by_state[static_cast<std::size_t>(s)];
  return {{"shard", v.shard},
          {"state", v.stopped ? "stopped" : "running"},
          {"epoch", v.epoch},
          {"mailboxes", v.mailboxes},
          {"by_state", by},
          {"restarts", v.restarts},
          {"queued_writes", v.queued_writes},
          {"timer_heap", v.heap_size},
          {"mailbox_queue", v.mailbox_queue}};
}

std::optional<std::pair<std::string, json>> parse_object(const http::request& r) {
  try {
    auto j = json::parse(r.body);
    if (!j.is_object())
      return std::nullopt;
    return std::make_pair(std::string{}, j);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The string value of `key` in a request object; an error response if it is not a string.
std::optional<http::response> take_string(const json& body, const char* key, std::string& out) {
  auto it = body.find(key);
  if (it == body.end())
    return std::nullopt;
  if (!it->is_string())
    return error(400, std::string(key) + " must be a string", key);
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<http::response> reject_unknown(const json& body, const std::set<std::string>& allowed) {
  for (auto it = body.begin(); it != body.end(); ++it)
    if (!allowed.count(it.key())) {
      std::string list;
      for (auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      return error(400, "unknown field \"" + it.key() + "\": accepted fields are " + list,
                   it.key());
    }
  return std::nullopt;
}

}  // namespace

console_api::console_api(engine_node& node, storage::store& store, console_options opts)
  : node_(node), store_(store), opts_(std::move(opts)) {}

bool console_api::authorised(const http::request& r) const {
  if (opts_.token.empty())
    return true;
  const auto& h = r.header("authorization");
  constexpr std::string_view scheme = "bearer ";
  if (h.size() <= scheme.size())
    return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(h[i]))) != scheme[i])
      return false;
  return http::constant_time_equal(std::string_view(h).substr(scheme.size()), opts_.token);
}

http::response console_api::handle(const http::request& r) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  try {
    return route(r);
  } catch (const storage::store_error& e) {
    spdlog::warn("event=console_store_error path={} error=\"{}\"", r.path, e.what());
    return error(503, std::string("the store did not answer: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::error("event=console_error path={} error=\"{}\"", r.path, e.what());
    return error(500, "internal error while answering; see the node's log");
  }
}

http::response console_api::route(const http::request& r) {
  const auto& p = r.path;
  const bool get = r.method == "GET" || r.method == "HEAD";
  auto only = [&](bool ok, const char* allow) -> std::optional<http::response> {
    if (ok)
      return std::nullopt;
    auto res = error(405, "method " + r.method + " is not allowed on " + p + " (allowed: "
                            + allow + ")");
    res.headers.emplace_back("Allow", allow);
    return res;
  };
  // Probes: never behind the token (orchestrators call them without one).
  if (p == "/healthz") {
    if (auto e = only(get, "GET"))
      return *e;
    return json_response(200, {{"status", "alive"}});
  }
  if (p == "/readyz") {
    if (auto e = only(get, "GET"))
      return *e;
    return ready();
  }
  // The page itself holds no data: it loads without the token and asks for one when the
  // API answers 401.
  if (auto asset = find_console_asset(p == "/" ? "/index.html" : p)) {
    if (auto e = only(get, "GET"))
      return *e;
    http::response res;
    res.content_type = std::string(asset->content_type);
    res.body = std::string(asset->body);
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; style-src 'self'; script-src 'self'; "
                             "img-src 'self' data:; connect-src 'self'");
    return res;
  }
  const bool is_api = p.rfind("/api/", 0) == 0;
  if (p != "/metrics" && !is_api)
    return error(404, "no such page: " + p + " (see /api/v1/, /metrics, /healthz, /readyz)");
  if (!authorised(r)) {
    auto res = error(401, "missing or wrong bearer token: send \"Authorization: Bearer "
                          "<token>\" with the token of console.token");
    res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"warmup\"");
    return res;
  }
  if (p == "/metrics") {
    if (auto e = only(get, "GET"))
      return *e;
    return metrics();
  }
  auto parts = split_path(p);
  if (parts.size() < 3 || parts[1] != "v1")
    return error(404, "no such API route: " + p + " (the API is under /api/v1/)");
  const auto& what = parts[2];
  if (what == "status" && parts.size() == 3) {
    if (auto e = only(get, "GET"))
      return *e;
    return status();
  }
  if (what == "node" && parts.size() == 3) {
    if (auto e = only(get, "GET"))
      return *e;
    return node_info();
  }
  if (what == "shards" && parts.size() == 3) {
    if (auto e = only(get, "GET"))
      return *e;
    return shards();
  }
  if (what == "shards" && parts.size() == 4) {
    auto id = parse_unsigned<shard_id>(parts[3]);
    if (!id || *id >= node_.context().cfg.node.shard_count)
      return error(404, "no shard " + parts[3] + ": shards are 0 to "
                          + std::to_string(node_.context().cfg.node.shard_count - 1));
    if (auto e = only(get, "GET"))
      return *e;
    return shard(*id);
  }
  if (what == "mailboxes" && parts.size() == 3) {
    if (r.method == "POST")
      return create_mailbox(r);
    if (auto e = only(get, "GET, POST"))
      return *e;
    return list_mailboxes(r);
  }
  if (what == "mailboxes" && (parts.size() == 4 || parts.size() == 5)) {
    auto id = parse_unsigned<mailbox_id>(parts[3]);
    std::optional<storage::mailbox_record> rec;
    if (id) {
      std::lock_guard<std::mutex> lock(store_mutex_);
      rec = store_.get_mailbox(*id);
    }
    if (!rec)
      return error(404, "no mailbox " + parts[3] + " (ids are listed by GET /api/v1/mailboxes)");
    if (parts.size() == 5) {
      if (parts[4] != "pause" && parts[4] != "resume")
        return error(404, "no such API route: " + p + " (mailbox actions: pause, resume)");
      if (auto e = only(r.method == "POST", "POST"))
        return *e;
      return change_state(*id, parts[4] == "pause");
    }
    if (r.method == "PATCH")
      return patch_mailbox(*id, r);
    if (r.method == "DELETE")
      return remove_mailbox(*id);
    if (auto e = only(get, "GET, PATCH, DELETE"))
      return *e;
    return mailbox(*id, r);
  }
  return error(404, "no such API route: " + p);
}

http::response console_api::status() {
  auto now = node_.context().clock.now();
  storage::status_summary sum;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    sum = store_.status(now, overdue_grace_ms);
  }
  sum.now = now;
  // The same keys and figures as `warmup status --json`, plus the placement counts.
  return json_response(200, {{"total_mailboxes", sum.total_mailboxes},
                             {"active_mailboxes_today", sum.active_mailboxes_today},
                             {"sends_today", sum.sends_today},
                             {"inbox_rate_today", sum.inbox_rate_today},
                             {"planned_today", sum.planned_today},
                             {"overdue", sum.overdue},
                             {"now", sum.now},
                             {"inbox_today", sum.inbox_today},
                             {"spam_today", sum.spam_today},
                             {"active_mailboxes", sum.active_mailboxes}});
}

http::response console_api::node_info() {
  const auto& ctx = node_.context();
  auto views = node_.gather_shard_views(opts_.ask_timeout);
  json running = json::array();
  json missing = json::array();
  json queues = json::array();
  std::uint64_t mailbox_actors = 0;
  std::uint64_t queue_total = 0;
  std::uint64_t queue_max = 0;
  std::uint64_t stopped = 0;
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (!views[i]) {
      missing.push_back(i);
      continue;
    }
    const auto& v = *views[i];
    running.push_back(v.shard);
    stopped += v.stopped ? 1 : 0;
    mailbox_actors += v.mailboxes - v.by_state[static_cast<std::size_t>(mailbox_state::restarting)];
    queue_total += v.mailbox_queue;
    queue_max = std::max(queue_max, v.mailbox_queue);
    queues.push_back({{"shard", v.shard},
                      {"mailbox_queue", v.mailbox_queue},
                      {"queued_writes", v.queued_writes}});
  }
  auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                               - node_.started_at())
                  .count();
  const auto& c = ctx.counters;
  const char* clock_mode = "real";
  switch (ctx.clock.kind()) {
    case engine_clock::mode::real: clock_mode = "real"; break;
    case engine_clock::mode::accelerated: clock_mode = "accelerated"; break;
    case engine_clock::mode::manual: clock_mode = "manual"; break;
    case engine_clock::mode::simulated: clock_mode = "simulated"; break;
  }
  json j = {
    {"node", ctx.node_name},
    {"version", WARMUP_VERSION},
    {"running", node_.running()},
    {"uptime_seconds", uptime},
    {"engine_now", ctx.clock.now()},
    {"clock", {{"mode", clock_mode}, {"time_scale", ctx.clock.factor()}}},
    {"scheduler_threads", node_.system().scheduler().num_workers()},
    {"shard_count", ctx.cfg.node.shard_count},
    {"shards_running", running},
    {"shards_missing", missing},
    {"shards_stopped", stopped},
    {"actors",
     {{"shard", views.size()},
      {"mailbox", mailbox_actors},
      {"store_gateway", 1},
      {"transport", 1},
      {"directory", 1},
      {"clock", 1},
      {"node", 1}}},
    {"queues",
     {{"shard_mailbox_total", queue_total},
      {"shard_mailbox_max", queue_max},
      {"store_backlog", c.store_queued_rows.load()},
      {"shards", queues}}},
    {"counters",
     {{"sends", c.sends.load()},
      {"send_failures", c.send_failures.load()},
      {"bounces", c.bounces.load()},
      {"receipts", c.receipts.load()},
      {"inbox", c.inbox.load()},
      {"spam", c.spam.load()},
      {"missing", c.missing.load()},
      {"rescued", c.rescued.load()},
      {"replies", c.replies.load()}}}};
  return json_response(200, j);
}

http::response console_api::shards() {
  auto views = node_.gather_shard_views(opts_.ask_timeout);
  json arr = json::array();
  json missing = json::array();
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (views[i]) {
      arr.push_back(shard_view_json(*views[i]));
    } else {
      missing.push_back(i);
      arr.push_back({{"shard", i}, {"state", "missing"}});
    }
  }
  return json_response(200, {{"node", node_.context().node_name},
                             {"shard_count", views.size()},
                             {"missing", missing},
                             {"shards", arr}});
}

http::response console_api::shard(shard_id id) {
  auto views = node_.gather_shard_views(opts_.ask_timeout);
  if (id >= views.size() || !views[id])
    return json_response(200, {{"shard", id}, {"state", "missing"}, {"mailboxes", json::array()}});
  auto j = shard_view_json(*views[id]);
  j["mailbox_count"] = j["mailboxes"];
  json list = json::array();
  if (auto members = node_.shard_members(id, opts_.ask_timeout)) {
    for (auto& m : *members)
      list.push_back({{"id", m.id},
                      {"email", m.email},
                      {"state", state_name(m.state)},
                      {"restarts", m.restarts},
                      {"next_due", m.due}});
  } else {
    j["state"] = "missing";
  }
  j["mailboxes"] = list;
  return json_response(200, j);
}

http::response console_api::list_mailboxes(const http::request& r) {
  storage::mailbox_filter f;
  auto q = [&](const char* k) -> const std::string* {
    auto it = r.query.find(k);
    return it == r.query.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (auto s = q("state")) {
    if (*s == "all") {
      f.include_removed = true;
    } else {
      auto st = parse_mailbox_state(lower_ascii(*s));
      if (!st)
        return error(400, "state \"" + *s + "\": use active, paused, throttled, disconnected, "
                          "restarting, removed or all", "state");
      f.state = st;
      f.include_removed = *st == mailbox_state::removed;
    }
  }
  if (auto s = q("provider"))
    f.provider = lower_ascii(*s);
  if (auto s = q("domain"))
    f.domain = lower_ascii(*s);
  std::size_t limit = 50;
  std::size_t offset = 0;
  if (auto s = q("limit")) {
    auto v = parse_unsigned<std::size_t>(*s);
    if (!v || *v < 1 || *v > 500)
      return error(400, "limit \"" + *s + "\": must be an integer from 1 to 500", "limit");
    limit = *v;
  }
  if (auto s = q("offset")) {
    auto v = parse_unsigned<std::size_t>(*s);
    if (!v)
      return error(400, "offset \"" + *s + "\": must be a non-negative integer", "offset");
    offset = *v;
  }
  std::vector<storage::mailbox_record> rows;
  std::uint64_t total = 0;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    total = store_.count_mailboxes(f);
    f.limit = limit;
    f.offset = offset;
    rows = store_.list_mailboxes(f);
  }
  auto shard_count = node_.context().cfg.node.shard_count;
  json items = json::array();
  for (auto& rec : rows)
    items.push_back(mailbox_summary_json(rec, shard_count));
  return json_response(200, {{"total", total},
                             {"limit", limit},
                             {"offset", offset},
                             {"items", items}});
}

http::response console_api::mailbox(mailbox_id id, const http::request& r) {
  const auto& ctx = node_.context();
  int days = 30;
  if (auto it = r.query.find("days"); it != r.query.end()) {
    auto v = parse_unsigned<int>(it->second);
    if (!v || *v < 1 || *v > 365)
      return error(400, "days \"" + it->second + "\": must be an integer from 1 to 365", "days");
    days = *v;
  }
  auto now = ctx.clock.now();
  storage::mailbox_record rec;
  std::vector<day_stats> stats;
  std::optional<storage::plan_record> plan;
  std::vector<storage::intent_row> intents;
  day_number today = 0;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    rec = *store_.get_mailbox(id);
    today = local_day(now, rec.settings.timezone);
    stats = store_.stats(id, today - days + 1, today);
    plan = store_.plan(id, today);
    intents = store_.intents(id, today, today);
  }
  auto live = node_.mailbox_detail_of(id, opts_.ask_timeout);
  auto shard_count = ctx.cfg.node.shard_count;
  auto j = mailbox_summary_json(rec, shard_count);
  j["ramp"] = ramp_params_json(rec.settings.ramp);
  j["ramp_state"] = {{"ramp_day", rec.ramp.ramp_day},
                     {"throttle_percent", rec.ramp.throttle_percent},
                     {"band", std::string(to_string(rec.ramp.band))},
                     {"cooldown_until", rec.ramp.cooldown_until ? format_day(rec.ramp.cooldown_until)
                                                                : std::string{}},
                     {"paused_by_health", rec.ramp.paused_by_health}};
  j["window"] = {{"start_minute", rec.settings.window.start_minute},
                 {"end_minute", rec.settings.window.end_minute},
                 {"min_gap_minutes", rec.settings.window.min_gap_minutes}};
  if (rec.account.configured())
    j["account"] = {{"smtp_host", rec.account.smtp.host},
                    {"imap_host", rec.account.imap.host},
                    {"username", rec.account.username}};
  j["created_day"] = format_day(rec.settings.created_day);
  // Health over the configured window, as the ramp assesses it.
  auto report = assess_health(stats, today, ctx.cfg.health);
  j["health"] = {{"band", std::string(to_string(rec.ramp.band))},
                 {"assessed_band", std::string(to_string(report.band))},
                 {"inbox_rate", report.inbox_rate},
                 {"spam_rate", report.spam_rate},
                 {"bounce_rate", report.bounce_rate},
                 {"sample", report.sample},
                 {"window_days", ctx.cfg.health.window_days}};
  if (live) {
    const auto& v = live->view;
    j["live"] = {{"running", true},
                 {"state", state_name(v.state)},
                 {"ramp_day", v.ramp_day},
                 {"throttle_percent", v.throttle_percent},
                 {"band", std::string(to_string(v.band))},
                 {"planned_today", v.planned_today},
                 {"sent_today", v.sent_today},
                 {"next_due", v.next_due},
                 {"inbound_waiting", live->inbound_waiting}};
  } else {
    j["live"] = {{"running", false},
                 {"note", "no mailbox actor answered on this node (added seconds ago and "
                          "not joined yet, removed, or busy)"}};
  }
  // Today's plan: the actor's live slots when it answered, else the stored plan; the
  // store's intents add each slot's recorded outcome.
  std::map<std::uint32_t, const storage::intent_row*> by_slot;
  for (auto& row : intents)
    by_slot[row.intent.key.slot] = &row;
  json slots = json::array();
  auto slot_json = [&](std::uint32_t i, time_ms at, mailbox_id to, std::string status) {
    json s = {{"slot", i}, {"at", at}, {"status", std::move(status)}};
    if (const auto* m = ctx.mailbox(to))
      s["to"] = m->email;
    else
      s["to"] = nullptr;
    if (auto it = by_slot.find(i); it != by_slot.end()) {
      const auto& row = *it->second;
      s["outcome"] = row.outcome ? std::string(storage::to_string(row.outcome->status))
                                 : std::string("pending");
      s["sent_at"] = row.outcome ? row.outcome->at : row.intent.recorded_at;
      if (row.outcome && !row.outcome->detail.empty())
        s["detail"] = row.outcome->detail;
    } else {
      s["outcome"] = nullptr;
    }
    return s;
  };
  day_number plan_day = today;
  if (live && live->view.day != 0 && !live->slots.empty()) {
    plan_day = live->view.day;
    for (std::uint32_t i = 0; i < live->slots.size(); ++i) {
      const auto& sl = live->slots[i];
      auto name = sl.status < slot_status_names.size() ? slot_status_names[sl.status] : "unknown";
      slots.push_back(slot_json(i, sl.at, sl.to, name));
    }
  } else if (plan) {
    for (std::uint32_t i = 0; i < plan->slot_times.size(); ++i) {
      auto at = plan->slot_times[i];
      auto it = by_slot.find(i);
      std::string status = at < 0 ? "dropped"
                           : it == by_slot.end() ? "planned"
                           : it->second->outcome ? std::string(storage::to_string(it->second->outcome->status))
                                                 : "in_flight";
      slots.push_back(slot_json(i, at, it == by_slot.end() ? no_mailbox : it->second->intent.to,
                                status));
    }
  }
  j["today"] = {{"day", format_day(plan_day)},
                {"target", plan ? plan->target : static_cast<int>(slots.size())},
                {"slots", slots}};
  // History: one row per day of the window, zero-filled (a chart needs every day).
  json history = json::array();
  for (day_number d = today - days + 1; d <= today; ++d) {
    auto it = std::find_if(stats.begin(), stats.end(), [&](const day_stats& x) { return x.day == d; });
    day_stats ds = it == stats.end() ? day_stats{} : *it;
    ds.day = d;
    history.push_back(stats_json(ds));
  }
  j["history"] = history;
  return json_response(200, j);
}

http::response console_api::create_mailbox(const http::request& r) {
  auto parsed = parse_object(r);
  if (!parsed)
    return error(400, "the body must be a JSON object such as {\"email\":\"anna@acme.gmail.sim\"}");
  const auto& body = parsed->second;
  if (auto e = reject_unknown(body, {"email", "display_name", "provider", "timezone", "preset",
                                     "organisation"}))
    return *e;
  new_mailbox in;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"email", &in.email},
                          {"display_name", &in.name},
                          {"provider", &in.provider},
                          {"timezone", &in.timezone},
                          {"preset", &in.preset},
                          {"organisation", &in.organisation}})
    if (auto e = take_string(body, key, *out))
      return *e;
  if (in.email.empty())
    return error(400, "email is required", "email");
  if (in.email.find('@') == std::string::npos)
    return error(400, "email \"" + in.email + "\": not an address (name@domain)", "email");
  const auto& cfg = node_.context().cfg;
  auto now = node_.context().clock.now();
  auto made = make_mailbox_record(cfg, in, now);
  if (auto* err = std::get_if<std::string>(&made))
    return error(400, *err, field_of(*err));
  auto& rec = std::get<storage::mailbox_record>(made);
  // The console creates sandbox mailboxes only: a real one needs servers and a secret.
  rec.settings.transport = transport_kind::sandbox;
  const auto& providers = cfg.sandbox.providers;
  if (std::find(providers.begin(), providers.end(), rec.settings.provider) == providers.end()) {
    std::string list;
    for (auto& p : providers)
      list += (list.empty() ? "" : ", ") + p;
    auto field = in.provider.empty() ? "email" : "provider";
    return error(400, std::string(field) + " \"" + (in.provider.empty() ? in.email : in.provider)
                        + "\": a sandbox mailbox lives at one of the simulated providers (" + list
                        + "), e.g. anna@acme." + providers.front(),
                 field);
  }
  mailbox_id id = 0;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    if (auto existing = store_.find_mailbox(rec.settings.email))
      return error(409, "mailbox " + rec.settings.email + " exists already (id "
                          + std::to_string(existing->settings.id) + ", "
                          + state_name(existing->settings.state) + ")",
                   "email");
    try {
      id = store_.add_mailbox(rec);
    } catch (const storage::duplicate_mailbox&) {
      return error(409, "mailbox " + rec.settings.email + " exists already", "email");
    }
    rec = *store_.get_mailbox(id);
  }
  spdlog::info("event=mailbox_added_by_console mailbox={} email={}", id, rec.settings.email);
  auto j = mailbox_summary_json(rec, cfg.node.shard_count);
  j["note"] = "added to the store; a running node takes it into the pool within about 2 s";
  auto res = json_response(201, j);
  res.headers.emplace_back("Location", "/api/v1/mailboxes/" + std::to_string(id));
  return res;
}

http::response console_api::patch_mailbox(mailbox_id id, const http::request& r) {
  auto parsed = parse_object(r);
  if (!parsed)
    return error(400, "the body must be a JSON object such as {\"preset\":\"slow\"}");
  const auto& body = parsed->second;
  if (auto e = reject_unknown(body, {"preset", "timezone", "display_name"}))
    return *e;
  std::string preset, timezone, name;
  bool has_preset = body.contains("preset"), has_tz = body.contains("timezone"),
       has_name = body.contains("display_name");
  if (auto e = take_string(body, "preset", preset))
    return *e;
  if (auto e = take_string(body, "timezone", timezone))
    return *e;
  if (auto e = take_string(body, "display_name", name))
    return *e;
  storage::mailbox_record rec;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    rec = *store_.get_mailbox(id);
  }
  if (rec.settings.state == mailbox_state::removed)
    return error(409, "mailbox " + std::to_string(id) + " is removed; resume it first", "state");
  if (has_preset) {
    auto p = ramp_preset(lower_ascii(preset));
    if (!p)
      return error(400, "preset \"" + preset + "\": unknown ramp preset: use slow, standard or fast",
                   "preset");
    rec.settings.ramp = *p;
    rec.ramp_preset = lower_ascii(preset);
  }
  if (has_tz)
    rec.settings.timezone = timezone;
  if (has_name)
    rec.settings.display_name = name;
  if (auto err = config::validate_mailbox(rec.settings))
    return error(400, *err, field_of(*err));
  rec.updated_at = node_.context().clock.now();
  bool ok = false;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    ok = store_.update_mailbox(rec);
  }
  if (!ok)
    return error(404, "no mailbox " + std::to_string(id));
  auto j = mailbox_summary_json(rec, node_.context().cfg.node.shard_count);
  j["note"] = "saved; a running node passes it to the mailbox actor within about 5 s: the time "
              "zone and ramp from its next plan, the display name at once";
  return json_response(200, j);
}

http::response console_api::remove_mailbox(mailbox_id id) {
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    store_.remove_mailbox(id);
  }
  // The actor stops sending at once; the store poll would only notice within seconds.
  bool reached = node_.pause_mailbox(id);
  spdlog::info("event=mailbox_removed_by_console mailbox={}", id);
  return json_response(200, {{"id", id}, {"state", "removed"}, {"reached_actor", reached}});
}

http::response console_api::change_state(mailbox_id id, bool pause) {
  storage::mailbox_record rec;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    rec = *store_.get_mailbox(id);
    if (pause && rec.settings.state == mailbox_state::removed)
      return error(409, "mailbox " + std::to_string(id) + " is removed; resume restores it",
                   "state");
    store_.set_mailbox_state(id, pause ? mailbox_state::paused : mailbox_state::active);
  }
  bool reached = pause ? node_.pause_mailbox(id) : node_.resume_mailbox(id);
  spdlog::info("event=mailbox_{}_by_console mailbox={} reached_actor={}",
               pause ? "paused" : "resumed", id, reached);
  return json_response(200, {{"id", id},
                             {"state", pause ? "paused" : "active"},
                             {"previous_state", state_name(rec.settings.state)},
                             {"reached_actor", reached}});
}

http::response console_api::ready() {
  json reasons = json::array();
  bool store_ok = true;
  try {
    std::lock_guard<std::mutex> lock(store_mutex_);
    store_.get_meta("engine.now_ms");
  } catch (const std::exception& e) {
    store_ok = false;
    reasons.push_back(std::string("store unreachable: ") + e.what());
  }
  std::size_t missing = 0, stopped = 0;
  if (node_.running() && !node_.context().store_ready.load())
    store_ok = false, reasons.push_back("store unreachable: the node's writes wait for it");
  if (!node_.running()) {
    reasons.push_back("the node is not running");
  } else {
    for (auto& v : node_.gather_shard_views(opts_.ask_timeout)) {
      if (!v)
        ++missing;
      else if (v->stopped)
        ++stopped;
    }
    if (missing)
      reasons.push_back(std::to_string(missing) + " shard(s) did not answer");
    if (stopped)
      reasons.push_back(std::to_string(stopped) + " shard(s) stopped (lease lost)");
  }
  bool ready = reasons.empty();
  return json_response(ready ? 200 : 503, {{"ready", ready},
                                           {"store", store_ok},
                                           {"shards_missing", missing},
                                           {"shards_stopped", stopped},
                                           {"reasons", reasons}});
}

http::response console_api::metrics() {
  const auto& ctx = node_.context();
  const auto& c = ctx.counters;
  auto views = node_.gather_shard_views(opts_.ask_timeout);
  auto now = ctx.clock.now();
  storage::status_summary sum;
  {
    std::lock_guard<std::mutex> lock(store_mutex_);
    sum = store_.status(now, overdue_grace_ms);
  }
  metrics_text m;
  auto n = [](auto v) { return static_cast<double>(v); };

  std::array<std::uint64_t, state_count> by_state{};
  std::uint64_t mailbox_actors = 0, missing = 0;
  for (auto& v : views) {
    if (!v) {
      ++missing;
      continue;
    }
    for (std::size_t i = 0; i < state_count; ++i)
      by_state[i] += v->by_state[i];
    mailbox_actors += v->mailboxes - v->by_state[static_cast<std::size_t>(mailbox_state::restarting)];
  }
  m.family("warmup_mailboxes", "gauge", "Mailboxes run by this node's shards, by state.");
  for (auto s : all_states)
    m.sample("warmup_mailboxes", {{"state", state_name(s)}}, n(by_state[static_cast<std::size_t>(s)]));
  m.family("warmup_sends_today", "gauge", "Sends recorded today (UTC day of the engine clock).");
  m.sample("warmup_sends_today", n(sum.sends_today));
  m.family("warmup_planned_sends_today", "gauge", "Plan slots falling in today.");
  m.sample("warmup_planned_sends_today", n(sum.planned_today));
  m.family("warmup_overdue_sends", "gauge",
           "Planned sends more than 5 minutes (engine time) late without a send intent.");
  m.sample("warmup_overdue_sends", n(sum.overdue));
  m.family("warmup_sends_total", "counter", "Sends accepted by the transport since the node started.");
  m.sample("warmup_sends_total", n(c.sends.load()));
  m.family("warmup_send_failures_total", "counter", "Sends that failed temporarily (slot skipped).");
  m.sample("warmup_send_failures_total", n(c.send_failures.load()));

  m.family("warmup_send_lag_seconds", "histogram",
           "How late a send started behind its planned slot, in engine seconds.");
  std::uint64_t cumulative = 0;
  const auto& lag = c.send_lag;
  for (std::size_t i = 0; i < send_lag_histogram::bounds.size(); ++i) {
    cumulative += lag.buckets[i].load();
    m.sample("warmup_send_lag_seconds_bucket",
             {{"le", format_sample_value(send_lag_histogram::bounds[i])}}, n(cumulative));
  }
  cumulative += lag.buckets[send_lag_histogram::bounds.size()].load();
  m.sample("warmup_send_lag_seconds_bucket", {{"le", "+Inf"}}, n(cumulative));
  m.sample("warmup_send_lag_seconds_sum", static_cast<double>(lag.sum_ms.load()) / 1000.0);
  m.sample("warmup_send_lag_seconds_count", n(cumulative));

  m.family("warmup_placements_total", "counter",
           "Warmup mail found by its recipient, by folder (missing: not found).");
  m.sample("warmup_placements_total", {{"folder", "inbox"}}, n(c.inbox.load()));
  m.sample("warmup_placements_total", {{"folder", "spam"}}, n(c.spam.load()));
  m.sample("warmup_placements_total", {{"folder", "missing"}}, n(c.missing.load()));
  m.family("warmup_rescued_total", "counter", "Warmup mail moved from spam to the inbox.");
  m.sample("warmup_rescued_total", n(c.rescued.load()));
  m.family("warmup_replies_total", "counter", "Replies sent.");
  m.sample("warmup_replies_total", n(c.replies.load()));
  m.family("warmup_bounces_total", "counter", "Sends refused permanently for the recipient.");
  m.sample("warmup_bounces_total", n(c.bounces.load()));
  m.family("warmup_human_replies_total", "counter",
           "Replies a person wrote to warmup mail (real mail), left in the inbox.");
  m.sample("warmup_human_replies_total", n(c.human_replies.load()));
  m.family("warmup_smtp_errors_total", "counter", "SMTP errors by kind.");
  for (std::size_t i = 0; i < transport_error_names.size(); ++i)
    m.sample("warmup_smtp_errors_total", {{"kind", transport_error_names[i]}}, n(c.smtp_errors[i].load()));
  m.family("warmup_imap_errors_total", "counter", "IMAP errors by kind.");
  for (std::size_t i = 0; i < transport_error_names.size(); ++i)
    m.sample("warmup_imap_errors_total", {{"kind", transport_error_names[i]}}, n(c.imap_errors[i].load()));

  m.family("warmup_shards", "gauge", "Shards this node runs.");
  m.sample("warmup_shards", n(views.size()));
  m.family("warmup_shards_missing", "gauge", "Shards that did not answer the status request in time.");
  m.sample("warmup_shards_missing", n(missing));
  m.family("warmup_actors", "gauge", "Actors of this node by kind.");
  m.sample("warmup_actors", {{"kind", "shard"}}, n(views.size()));
  m.sample("warmup_actors", {{"kind", "mailbox"}}, n(mailbox_actors));
  for (const char* k : {"store_gateway", "transport", "directory", "clock", "node"})
    m.sample("warmup_actors", {{"kind", k}}, 1);
  m.family("warmup_shard_mailbox_queue", "gauge", "Messages waiting in each shard actor's mailbox.");
  for (auto& v : views)
    if (v)
      m.sample("warmup_shard_mailbox_queue", {{"shard", std::to_string(v->shard)}}, n(v->mailbox_queue));
  m.family("warmup_shard_queued_writes", "gauge", "Rows each shard holds for its next store batch.");
  for (auto& v : views)
    if (v)
      m.sample("warmup_shard_queued_writes", {{"shard", std::to_string(v->shard)}}, n(v->queued_writes));
  m.family("warmup_store_backlog", "gauge",
           "Rows and batches waiting in the store gateway for their transaction.");
  m.sample("warmup_store_backlog", n(c.store_queued_rows.load()));
  m.family("warmup_engine_time_seconds", "gauge", "The engine clock (Unix seconds; simulated or scaled in demos).");
  m.sample("warmup_engine_time_seconds", static_cast<double>(now) / 1000.0);
  m.family("warmup_uptime_seconds", "gauge", "Wall time since the node started.");
  m.sample("warmup_uptime_seconds",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - node_.started_at()).count());
  m.family("warmup_console_requests_total", "counter", "Requests the console answered.");
  m.sample("warmup_console_requests_total", n(requests()));
  m.family("warmup_build_info", "gauge", "Build information (always 1).");
  m.sample("warmup_build_info", {{"version", WARMUP_VERSION}, {"node", ctx.node_name}}, 1);
  http::response res;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = m.text();
  return res;
}

}  // namespace warmup::app
