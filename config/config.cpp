// config.cpp: the configuration loader: one table of keys drives the TOML file, the
// WARMUP_* environment, command-line settings, validation and the error messages.
#include "config/config.hpp"

#include "warmup/calendar.hpp"
#include "warmup/ramp.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>
#include <unistd.h>
#include <variant>

extern char** environ;

namespace warmup::config {

namespace {

// ---------------------------------------------------------------------------------------
// Where a value came from; error messages are phrased from it.

enum class layer : std::uint8_t { defaults, preset, file, environment, command_line };

struct origin {
  layer from = layer::defaults;
  std::string source;   // file path, "environment", "command line", "defaults"
  int line = 0;         // file line
  std::string name;     // environment variable or flag, e.g. WARMUP_RAMP_START
  std::string text;     // the value as written (TOML-formatted for files)
};

// The decoded value of one key before it is range-checked and stored.
using setting_value = std::variant<std::int64_t, double, bool, std::string,
                                   std::vector<std::string>>;

enum class value_kind : std::uint8_t { integer, real, boolean, text, text_list, clock_time };

struct key_spec {
  std::string section;   // "" for top-level keys
  std::string name;
  value_kind kind = value_kind::text;
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  std::vector<std::string> choices;                                     // enum-like text
  std::function<bool(const std::string&)> check;                        // other text rules
  std::string allowed;                                                  // for messages
  std::function<void(engine_config&, const setting_value&)> assign;
  bool secret = false;   // its value never appears in a message (tokens)

  std::string dotted() const { return section.empty() ? name : section + "." + name; }
};

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// The shortest text that reads back as `v` (0.3, not 0.29999999999999999).
std::string format_number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(v);
}

std::string format_minutes(int m) {
  m = std::clamp(m, 0, 24 * 60);
  std::string out = std::to_string(m / 60) + ":" + std::to_string(m % 60 / 10)
                    + std::to_string(m % 10);
  return out.size() == 4 ? "0" + out : out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += sep;
    out += items[i];
  }
  return out;
}


// The closest candidate when it is close enough to be a plausible typo.
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    auto d = edit_distance(lower(std::string(word)), c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  auto limit = std::max<std::size_t>(2, word.size() / 3);
  if (best && best_d <= limit)
    return best;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// The key table. Ranges are the ones documented in config/README.md.

template <class Field>
std::function<void(engine_config&, const setting_value&)> store_int(Field field) {
  return [field](engine_config& c, const setting_value& v) {
    auto& target = field(c);
    target = static_cast<std::remove_reference_t<decltype(target)>>(std::get<std::int64_t>(v));
  };
}

template <class Field>
std::function<void(engine_config&, const setting_value&)> store_real(Field field) {
  return [field](engine_config& c, const setting_value& v) { field(c) = std::get<double>(v); };
}

template <class Field>
std::function<void(engine_config&, const setting_value&)> store_bool(Field field) {
  return [field](engine_config& c, const setting_value& v) { field(c) = std::get<bool>(v); };
}

template <class Field>
std::function<void(engine_config&, const setting_value&)> store_text(Field field) {
  return [field](engine_config& c, const setting_value& v) {
    field(c) = std::get<std::string>(v);
  };
}

key_spec integer_key(std::string section, std::string name, std::int64_t min, std::int64_t max,
                     std::function<void(engine_config&, const setting_value&)> assign) {
  key_spec k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.kind = value_kind::integer;
  k.min = static_cast<double>(min);
  k.max = static_cast<double>(max);
  k.allowed = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  k.assign = std::move(assign);
  return k;
}

key_spec real_key(std::string section, std::string name, double min, double max,
                  bool min_exclusive,
                  std::function<void(engine_config&, const setting_value&)> assign) {
  key_spec k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.kind = value_kind::real;
  k.min = min;
  k.max = max;
  k.min_exclusive = min_exclusive;
  k.allowed = min_exclusive
                ? "a number greater than " + format_number(min) + " and at most "
                    + format_number(max)
                : "a number from " + format_number(min) + " to " + format_number(max);
  k.assign = std::move(assign);
  return k;
}

key_spec rate_key(std::string section, std::string name,
                  std::function<void(engine_config&, const setting_value&)> assign) {
  return real_key(std::move(section), std::move(name), 0.0, 1.0, false, std::move(assign));
}

key_spec bool_key(std::string section, std::string name,
                  std::function<void(engine_config&, const setting_value&)> assign) {
  key_spec k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.kind = value_kind::boolean;
  k.allowed = "true or false";
  k.assign = std::move(assign);
  return k;
}

key_spec choice_key(std::string section, std::string name, std::vector<std::string> choices,
                    std::function<void(engine_config&, const setting_value&)> assign) {
  key_spec k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.kind = value_kind::text;
  k.allowed = "one of " + join(choices, ", ");
  k.choices = std::move(choices);
  k.assign = std::move(assign);
  return k;
}

key_spec text_key(std::string section, std::string name, std::string allowed,
                  std::function<bool(const std::string&)> check,
                  std::function<void(engine_config&, const setting_value&)> assign) {
  key_spec k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.kind = value_kind::text;
  k.allowed = std::move(allowed);
  k.check = std::move(check);
  k.assign = std::move(assign);
  return k;
}

key_spec clock_time_key(std::string section, std::string name,
                        std::function<void(engine_config&, const setting_value&)> assign) {
  key_spec k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.kind = value_kind::clock_time;
  k.min = 0;
  k.max = 24 * 60;
  k.allowed = "a local time \"HH:MM\" from \"00:00\" to \"24:00\"";
  k.assign = std::move(assign);
  return k;
}

bool any_text(const std::string&) { return true; }

bool check_console(const std::string& v) {
  if (v == "off")
    return true;
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
    return false;
  int port = -1;
  auto rest = std::string_view(v).substr(colon + 1);
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  return ec == std::errc{} && p == rest.data() + rest.size() && port >= 0 && port <= 65535;
}

// The console's bearer token: long enough not to be guessed, no spaces (HTTP header).
bool check_console_token(const std::string& v) {
  if (v.empty())
    return true;
  return v.size() >= 16 && v.size() <= 512
         && std::none_of(v.begin(), v.end(), [](unsigned char ch) { return ch <= ' ' || ch == 127; });
}

// An IMAP folder name the engine creates at the top level of the personal namespace.
bool check_folder_name(const std::string& v) {
  return !v.empty() && v.size() <= 100 && v.find_first_of("/.\"*%\\") == std::string::npos
         && std::none_of(v.begin(), v.end(), [](unsigned char ch) { return ch < ' ' || ch == 127; });
}

bool two_digits(std::string_view s, int max) {
  if (s.size() != 2 || !std::isdigit(static_cast<unsigned char>(s[0]))
      || !std::isdigit(static_cast<unsigned char>(s[1])))
    return false;
  return (s[0] - '0') * 10 + (s[1] - '0') <= max;
}

bool check_clock_start(const std::string& v) {
  if (v.empty())
    return true;
  day_number day = 0;
  if ((v.size() != 10 && v.size() != 16) || !parse_day(std::string_view(v).substr(0, 10), day))
    return false;
  if (v.size() == 16)
    return (v[10] == 'T' || v[10] == ' ') && v[13] == ':'
           && two_digits(std::string_view(v).substr(11, 2), 23)
           && two_digits(std::string_view(v).substr(14, 2), 59);
  return true;
}

bool check_database_url(const std::string& v) {
  if (v.empty())
    return true;
  for (std::string_view scheme : {"postgres://", "postgresql://", "sqlite:"})
    if (v.rfind(scheme, 0) == 0)
      return true;
  return false;
}

bool check_node_name(const std::string& v) {
  if (v.size() > 255)
    return false;
  for (char c : v)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return false;
  return true;
}

bool check_timezone(const std::string& v) { return !v.empty() && valid_timezone(v); }

bool check_preset(const std::string& v) { return ramp_preset(v).has_value(); }

const std::string timezone_allowed =
  "an IANA time zone name from the system tz database, e.g. UTC, Europe/Berlin, "
  "America/New_York";

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"node",   "console", "clock", "store",      "sandbox", "mail",
                                                 "log",    "ramp",  "window",     "engagement",
                                                 "health", "peers"};
  return names;
}

const std::vector<key_spec>& key_table() {
  static const std::vector<key_spec> table = [] {
    std::vector<key_spec> t;
    // top level
    t.push_back(text_key("", "data_dir", "a directory path (empty: the per-user default)",
                         any_text, store_text([](engine_config& c) -> auto& { return c.data_dir; })));
    t.push_back(choice_key("", "transport", {"sandbox", "smtp"},
                           store_text([](engine_config& c) -> auto& { return c.transport; })));
    t.push_back(text_key("", "default_timezone", timezone_allowed, check_timezone,
                         store_text([](engine_config& c) -> auto& { return c.default_timezone; })));
    // [node]
    t.push_back(text_key("node", "name", "a name of at most 255 characters without spaces",
                         check_node_name,
                         store_text([](engine_config& c) -> auto& { return c.node.name; })));
    t.push_back(integer_key("node", "shard_count", 1, 65536,
                            store_int([](engine_config& c) -> auto& { return c.node.shard_count; })));
    t.push_back(integer_key("node", "scheduler_threads", 1, 256,
                            store_int([](engine_config& c) -> auto& { return c.node.scheduler_threads; })));
    // [console]
    t.push_back(text_key("console", "listen", "HOST:PORT (port 0: any free port) or \"off\", "
                         "e.g. 127.0.0.1:8025", check_console,
                         store_text([](engine_config& c) -> auto& { return c.console.listen; })));
    {
      auto k = text_key("console", "token", "a token of at least 16 characters without "
                        "spaces, or empty", check_console_token,
                        store_text([](engine_config& c) -> auto& { return c.console.token; }));
      k.secret = true;
      t.push_back(std::move(k));
    }
    // [clock]
    t.push_back(real_key("clock", "time_scale", 0.0, 1e6, true,
                         store_real([](engine_config& c) -> auto& { return c.clock.time_scale; })));
    t.push_back(text_key("clock", "start",
                         "empty (now), \"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM\", e.g. "
                         "\"2026-03-02T07:30\"",
                         check_clock_start,
                         store_text([](engine_config& c) -> auto& { return c.clock.start; })));
    t.push_back(integer_key("clock", "tick_ms", 1, 60000,
                            store_int([](engine_config& c) -> auto& { return c.clock.tick_ms; })));
    // [store]
    t.push_back(text_key("store", "database_url",
                         "empty (SQLite in the data directory) or a URL starting with "
                         "postgresql://, postgres:// or sqlite:",
                         check_database_url,
                         store_text([](engine_config& c) -> auto& { return c.store.database_url; })));
    t.push_back(integer_key("store", "batch_max", 1, 100000,
                            store_int([](engine_config& c) -> auto& { return c.store.batch_max; })));
    t.push_back(integer_key("store", "queue_max", 1, 100000000,
                            store_int([](engine_config& c) -> auto& { return c.store.queue_max; })));
    // [sandbox]
    t.push_back(integer_key("sandbox", "seed", 0, std::numeric_limits<std::int64_t>::max(),
                            store_int([](engine_config& c) -> auto& { return c.sandbox.seed; })));
    {
      key_spec k;
      k.section = "sandbox";
      k.name = "providers";
      k.kind = value_kind::text_list;
      k.allowed = "a non-empty list of distinct provider domains, e.g. [\"gmail.sim\", \"outlook.sim\"]";
      k.assign = [](engine_config& c, const setting_value& v) {
        c.sandbox.providers = std::get<std::vector<std::string>>(v);
      };
      t.push_back(std::move(k));
    }
    // [mail]
    t.push_back(integer_key("mail", "workers", 1, 256,
                            store_int([](engine_config& c) -> auto& { return c.mail.workers; })));
    t.push_back(integer_key("mail", "per_host", 1, 64,
                            store_int([](engine_config& c) -> auto& { return c.mail.per_host; })));
    t.push_back(integer_key("mail", "timeout_seconds", 5, 600,
                            store_int([](engine_config& c) -> auto& { return c.mail.timeout_seconds; })));
    t.push_back(integer_key("mail", "send_attempts", 1, 10,
                            store_int([](engine_config& c) -> auto& { return c.mail.send_attempts; })));
    t.push_back(text_key("mail", "warmup_folder",
                         "a folder name without the hierarchy delimiters / and .",
                         check_folder_name,
                         store_text([](engine_config& c) -> auto& { return c.mail.warmup_folder; })));
    t.push_back(integer_key("mail", "cleanup_days", 0, 3650,
                            store_int([](engine_config& c) -> auto& { return c.mail.cleanup_days; })));
    t.push_back(choice_key("mail", "cleanup_action", {"delete", "archive"},
                           store_text([](engine_config& c) -> auto& { return c.mail.cleanup_action; })));
    // [log]
    t.push_back(choice_key("log", "level", {"trace", "debug", "info", "warn", "error", "off"},
                           store_text([](engine_config& c) -> auto& { return c.log.level; })));
    t.push_back(choice_key("log", "format", {"text", "json"},
                           store_text([](engine_config& c) -> auto& { return c.log.format; })));
    t.push_back(text_key("log", "file", "a file path (empty: standard error)", any_text,
                         store_text([](engine_config& c) -> auto& { return c.log.file; })));
    // [ramp]
    t.push_back(text_key("ramp", "preset", "one of slow, standard, fast", check_preset,
                         store_text([](engine_config& c) -> auto& { return c.ramp_preset; })));
    t.push_back(integer_key("ramp", "start", 0, 1000,
                            store_int([](engine_config& c) -> auto& { return c.ramp.start; })));
    t.push_back(real_key("ramp", "step", 0.0, 100.0, false,
                         store_real([](engine_config& c) -> auto& { return c.ramp.step; })));
    t.push_back(integer_key("ramp", "ceiling", 1, 1000,
                            store_int([](engine_config& c) -> auto& { return c.ramp.ceiling; })));
    t.push_back(rate_key("ramp", "variance",
                         store_real([](engine_config& c) -> auto& { return c.ramp.variance; })));
    t.push_back(bool_key("ramp", "weekdays_only",
                         store_bool([](engine_config& c) -> auto& { return c.ramp.weekdays_only; })));
    t.push_back(rate_key("ramp", "weekend_factor",
                         store_real([](engine_config& c) -> auto& { return c.ramp.weekend_factor; })));
    // [window]
    t.push_back(clock_time_key("window", "start",
                               store_int([](engine_config& c) -> auto& { return c.window.start_minute; })));
    t.push_back(clock_time_key("window", "end",
                               store_int([](engine_config& c) -> auto& { return c.window.end_minute; })));
    t.push_back(integer_key("window", "min_gap_minutes", 1, 720,
                            store_int([](engine_config& c) -> auto& { return c.window.min_gap_minutes; })));
    // [engagement]
    t.push_back(rate_key("engagement", "read_rate",
                         store_real([](engine_config& c) -> auto& { return c.engagement.read_rate; })));
    t.push_back(rate_key("engagement", "important_rate",
                         store_real([](engine_config& c) -> auto& { return c.engagement.important_rate; })));
    t.push_back(rate_key("engagement", "star_rate",
                         store_real([](engine_config& c) -> auto& { return c.engagement.star_rate; })));
    t.push_back(rate_key("engagement", "reply_rate",
                         store_real([](engine_config& c) -> auto& { return c.engagement.reply_rate; })));
    t.push_back(rate_key("engagement", "rescue_rate",
                         store_real([](engine_config& c) -> auto& { return c.engagement.rescue_rate; })));
    t.push_back(integer_key("engagement", "max_thread_turns", 1, 20,
                            store_int([](engine_config& c) -> auto& { return c.engagement.max_thread_turns; })));
    // [health]
    t.push_back(rate_key("health", "watch_spam",
                         store_real([](engine_config& c) -> auto& { return c.health.watch_spam; })));
    t.push_back(rate_key("health", "throttle_spam",
                         store_real([](engine_config& c) -> auto& { return c.health.throttle_spam; })));
    t.push_back(rate_key("health", "pause_spam",
                         store_real([](engine_config& c) -> auto& { return c.health.pause_spam; })));
    t.push_back(rate_key("health", "block_spam",
                         store_real([](engine_config& c) -> auto& { return c.health.block_spam; })));
    t.push_back(rate_key("health", "bounce_pause",
                         store_real([](engine_config& c) -> auto& { return c.health.bounce_pause; })));
    t.push_back(integer_key("health", "min_sample", 0, 100000,
                            store_int([](engine_config& c) -> auto& { return c.health.min_sample; })));
    t.push_back(integer_key("health", "window_days", 1, 90,
                            store_int([](engine_config& c) -> auto& { return c.health.window_days; })));
    t.push_back(real_key("health", "recency_decay", 0.0, 1.0, true,
                         store_real([](engine_config& c) -> auto& { return c.health.recency_decay; })));
    t.push_back(rate_key("health", "throttle_cut",
                         store_real([](engine_config& c) -> auto& { return c.health.throttle_cut; })));
    t.push_back(integer_key("health", "cooldown_days", 0, 365,
                            store_int([](engine_config& c) -> auto& { return c.health.cooldown_days; })));
    // [peers]
    t.push_back(rate_key("peers", "internal_share",
                         store_real([](engine_config& c) -> auto& { return c.peers.internal_share; })));
    t.push_back(real_key("peers", "other_domain_weight", 0.0, 1000.0, true,
                         store_real([](engine_config& c) -> auto& { return c.peers.other_domain_weight; })));
    t.push_back(real_key("peers", "other_provider_weight", 0.0, 1000.0, true,
                         store_real([](engine_config& c) -> auto& { return c.peers.other_provider_weight; })));
    t.push_back(real_key("peers", "healthy_weight", 0.0, 1000.0, true,
                         store_real([](engine_config& c) -> auto& { return c.peers.healthy_weight; })));
    t.push_back(rate_key("peers", "pair_decay",
                         store_real([](engine_config& c) -> auto& { return c.peers.pair_decay; })));
    t.push_back(integer_key("peers", "pair_max", 1, 100,
                            store_int([](engine_config& c) -> auto& { return c.peers.pair_max; })));
    t.push_back(integer_key("peers", "pair_window_days", 1, 90,
                            store_int([](engine_config& c) -> auto& { return c.peers.pair_window_days; })));
    t.push_back(real_key("peers", "inbound_cap_factor", 0.0, 100.0, true,
                         store_real([](engine_config& c) -> auto& { return c.peers.inbound_cap_factor; })));
    t.push_back(rate_key("peers", "min_capacity_weight",
                         store_real([](engine_config& c) -> auto& { return c.peers.min_capacity_weight; })));
    t.push_back(rate_key("peers", "cc_rate",
                         store_real([](engine_config& c) -> auto& { return c.peers.cc_rate; })));
    return t;
  }();
  return table;
}

const key_spec* find_key(const std::string& dotted) {
  for (const auto& k : key_table())
    if (k.dotted() == dotted)
      return &k;
  return nullptr;
}

std::vector<std::string> keys_of_section(const std::string& section) {
  std::vector<std::string> out;
  for (const auto& k : key_table())
    if (k.section == section)
      out.push_back(k.name);
  return out;
}

// ---------------------------------------------------------------------------------------
// Decoding raw values (TOML nodes, environment text) into setting values.

struct decode_result {
  std::optional<setting_value> value;
  std::string problem;   // why it was rejected, beyond "must be <allowed>"
};

std::optional<int> parse_clock_time(std::string_view s) {
  if (s.size() != 5 || s[2] != ':')
    return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u})
    if (!std::isdigit(static_cast<unsigned char>(s[i])))
      return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0))
    return std::nullopt;
  return h * 60 + m;
}

decode_result decode_text(const key_spec& k, const std::string& raw) {
  decode_result r;
  switch (k.kind) {
    case value_kind::integer: {
      std::string t = trim(raw);
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (t.empty() || ec != std::errc{} || p != t.data() + t.size())
        return r;
      r.value = v;
      return r;
    }
    case value_kind::real: {
      std::string t = trim(raw);
      if (t.empty())
        return r;
      char* end = nullptr;
      double v = std::strtod(t.c_str(), &end);
      if (end != t.c_str() + t.size() || !std::isfinite(v))
        return r;
      r.value = v;
      return r;
    }
    case value_kind::boolean: {
      auto t = lower(trim(raw));
      if (t == "true" || t == "1" || t == "yes" || t == "on")
        r.value = true;
      else if (t == "false" || t == "0" || t == "no" || t == "off")
        r.value = false;
      return r;
    }
    case value_kind::text:
      r.value = raw;
      return r;
    case value_kind::text_list: {
      std::vector<std::string> items;
      std::string item;
      std::istringstream in(raw);
      while (std::getline(in, item, ','))
        items.push_back(trim(item));
      r.value = items;
      return r;
    }
    case value_kind::clock_time: {
      auto m = parse_clock_time(trim(raw));
      if (m)
        r.value = static_cast<std::int64_t>(*m);
      return r;
    }
  }
  return r;
}

std::string toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

decode_result decode_toml(const key_spec& k, const toml::node& n) {
  decode_result r;
  auto wrong_type = [&] {
    r.problem = "got " + toml_type_name(n);
    return r;
  };
  switch (k.kind) {
    case value_kind::integer:
      if (auto v = n.as_integer()) {
        r.value = v->get();
        return r;
      }
      return wrong_type();
    case value_kind::real:
      if (auto v = n.as_floating_point()) {
        if (!std::isfinite(v->get()))
          return r;
        r.value = v->get();
        return r;
      }
      if (auto v = n.as_integer()) {
        r.value = static_cast<double>(v->get());
        return r;
      }
      return wrong_type();
    case value_kind::boolean:
      if (auto v = n.as_boolean()) {
        r.value = v->get();
        return r;
      }
      return wrong_type();
    case value_kind::text:
      if (auto v = n.as_string()) {
        r.value = v->get();
        return r;
      }
      return wrong_type();
    case value_kind::text_list:
      if (auto arr = n.as_array()) {
        std::vector<std::string> items;
        for (const auto& item : *arr) {
          auto s = item.as_string();
          if (!s) {
            r.problem = "an item is " + toml_type_name(item);
            return r;
          }
          items.push_back(s->get());
        }
        r.value = items;
        return r;
      }
      return wrong_type();
    case value_kind::clock_time:
      if (auto v = n.as_string()) {
        auto m = parse_clock_time(v->get());
        if (m)
          r.value = static_cast<std::int64_t>(*m);
        return r;
      }
      if (auto v = n.as_time()) {
        auto t = v->get();
        if (t.second != 0 || t.nanosecond != 0) {
          r.problem = "seconds are not allowed";
          return r;
        }
        r.value = static_cast<std::int64_t>(t.hour * 60 + t.minute);
        return r;
      }
      return wrong_type();
  }
  return r;
}

// Range and rule checks shared by every layer; returns the reason or nullopt.
std::optional<std::string> check_value(const key_spec& k, const setting_value& v) {
  switch (k.kind) {
    case value_kind::integer:
    case value_kind::clock_time: {
      auto x = static_cast<double>(std::get<std::int64_t>(v));
      if (x < k.min || x > k.max)
        return "";
      return std::nullopt;
    }
    case value_kind::real: {
      double x = std::get<double>(v);
      if ((k.min_exclusive ? x <= k.min : x < k.min) || x > k.max)
        return "";
      return std::nullopt;
    }
    case value_kind::boolean:
      return std::nullopt;
    case value_kind::text: {
      const auto& s = std::get<std::string>(v);
      if (!k.choices.empty()
          && std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end())
        return "";
      if (k.check && !k.check(s))
        return "";
      return std::nullopt;
    }
    case value_kind::text_list: {
      const auto& items = std::get<std::vector<std::string>>(v);
      if (items.empty())
        return "the list is empty";
      std::set<std::string> seen;
      for (const auto& item : items) {
        if (item.empty() || item.find_first_of(" \t@,") != std::string::npos)
          return "\"" + item + "\" is not a domain";
        if (!seen.insert(item).second)
          return "\"" + item + "\" appears twice";
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Errors phrased from the origin of a value.

[[noreturn]] void fail_value(const key_spec& k, const origin& o_in, const std::string& reason) {
  std::string message;
  const std::string key = k.dotted();
  auto o = o_in;
  if (k.secret)
    o.text = "(hidden)";
  switch (o.from) {
    case layer::file:
      message = key + " = " + o.text + ": " + reason;
      break;
    case layer::environment:
    case layer::command_line:
      message = o.name + "=" + o.text + ": " + key + " " + reason;
      break;
    case layer::defaults:
    case layer::preset:
      message = key + " = " + o.text + " (" + o.source + "): " + reason;
      break;
  }
  throw config_error(o.from == layer::defaults || o.from == layer::preset ? "configuration"
                                                                          : o.source,
                     o.from == layer::file ? o.line : 0, key, message);
}

[[noreturn]] void fail_allowed(const key_spec& k, const origin& o, const std::string& problem) {
  std::string reason = "must be " + k.allowed;
  if (!problem.empty())
    reason += " (" + problem + ")";
  fail_value(k, o, reason);
}

// A value as the user would have written it (toml++ prints strings single-quoted).
std::string toml_text(const toml::node& n) {
  if (auto s = n.as_string()) {
    std::string out = "\"";
    for (char c : s->get()) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    return out + "\"";
  }
  if (auto arr = n.as_array()) {
    std::vector<std::string> items;
    for (const auto& item : *arr)
      items.push_back(toml_text(item));
    return "[" + join(items, ", ") + "]";
  }
  if (auto f = n.as_floating_point())
    return format_number(f->get());
  std::ostringstream os;
  n.visit([&](const auto& v) { os << v; });
  return os.str();
}

// Everything the loader knows about each set value, so cross-key checks can blame the
// value that was set last (and say where the other one came from).
struct loader {
  engine_config cfg;
  std::map<std::string, origin> origins;

  void set(const key_spec& k, const setting_value& v, const origin& o) {
    if (auto problem = check_value(k, v))
      fail_allowed(k, o, *problem);
    k.assign(cfg, v);
    origins[k.dotted()] = o;
  }

  origin origin_of(const std::string& key, const std::string& text) const {
    auto it = origins.find(key);
    if (it != origins.end()) {
      origin o = it->second;
      if (o.text.empty())
        o.text = text;
      return o;
    }
    origin o;
    o.from = layer::defaults;
    o.source = "default";
    o.text = text;
    return o;
  }

  static std::string describe(const origin& o) {
    switch (o.from) {
      case layer::file: return "set at " + o.source + ":" + std::to_string(o.line);
      case layer::environment: return "set by " + o.name;
      case layer::command_line: return "set by " + o.name;
      case layer::preset: return "from the " + o.source;
      case layer::defaults: return "the default";
    }
    return {};
  }

  // Fails on whichever of two related keys was set by the higher layer.
  [[noreturn]] void fail_pair(const std::string& a, const std::string& a_text,
                              const std::string& b, const std::string& b_text,
                              const std::string& relation) const {
    auto oa = origin_of(a, a_text), ob = origin_of(b, b_text);
    bool blame_a = oa.from >= ob.from;
    const auto& key = blame_a ? a : b;
    const auto& o = blame_a ? oa : ob;
    const auto& other = blame_a ? b : a;
    const auto& other_text = blame_a ? b_text : a_text;
    const auto& other_origin = blame_a ? ob : oa;
    const std::string reason = relation + " (" + other + " = " + other_text + ", "
                               + describe(other_origin) + ")";
    fail_value(*find_key(key), o, reason);
  }

  void cross_checks() {
    const auto& r = cfg.ramp;
    if (r.start > r.ceiling)
      fail_pair("ramp.start", std::to_string(r.start), "ramp.ceiling", std::to_string(r.ceiling),
                blame_text("ramp.start", "ramp.ceiling", "must not exceed", "must not be below"));
    const auto& w = cfg.window;
    if (w.start_minute >= w.end_minute)
      fail_pair("window.start", "\"" + format_minutes(w.start_minute) + "\"", "window.end",
                "\"" + format_minutes(w.end_minute) + "\"",
                blame_text("window.start", "window.end", "must be earlier than",
                           "must be later than"));
    if (w.min_gap_minutes > w.end_minute - w.start_minute)
      fail_pair("window.min_gap_minutes", std::to_string(w.min_gap_minutes), "window.end",
                "\"" + format_minutes(w.end_minute) + "\"",
                "must fit in the sending window (" + format_minutes(w.start_minute) + " to "
                  + format_minutes(w.end_minute) + ")");
    const auto& h = cfg.health;
    const std::vector<std::pair<std::string, double>> bands = {
      {"health.watch_spam", h.watch_spam},
      {"health.throttle_spam", h.throttle_spam},
      {"health.pause_spam", h.pause_spam},
      {"health.block_spam", h.block_spam}};
    for (std::size_t i = 0; i + 1 < bands.size(); ++i)
      if (bands[i].second > bands[i + 1].second)
        fail_pair(bands[i].first, format_number(bands[i].second), bands[i + 1].first,
                  format_number(bands[i + 1].second),
                  blame_text(bands[i].first, bands[i + 1].first, "must not exceed",
                             "must not be below"));
    if (cfg.store.queue_max < cfg.store.batch_max)
      fail_pair("store.queue_max", std::to_string(cfg.store.queue_max), "store.batch_max",
                std::to_string(cfg.store.batch_max),
                blame_text("store.queue_max", "store.batch_max", "must not be below",
                           "must not exceed"));
  }

  // The relation as read from the key that gets the blame.
  std::string blame_text(const std::string& a, const std::string& b, const std::string& a_rel,
                         const std::string& b_rel) const {
    auto oa = origin_of(a, ""), ob = origin_of(b, "");
    return oa.from >= ob.from ? a_rel + " " + b : b_rel + " " + a;
  }
};

// The [[mailbox]] tables of a file, each field checked by name and kept as text.
void collect_mailboxes(const toml::node& node, const std::string& path,
                       std::vector<declared_mailbox>& out) {
  auto line_of = [](const toml::source_region& src) {
    return static_cast<int>(src.begin.line);
  };
  auto tables = node.as_array();
  if (!tables || !tables->is_array_of_tables())
    throw config_error(path, line_of(node.source()), "mailbox",
                       "mailbox: declare each mailbox as a [[mailbox]] table with its fields "
                       "(" + join(mailbox_fields(), ", ") + ")");
  for (auto&& entry : *tables) {
    const auto& t = *entry.as_table();
    declared_mailbox m;
    m.source = path;
    m.line = line_of(t.source());
    for (auto&& [k, v] : t) {
      const std::string field(k.str());
      const int line = line_of(k.source());
      const auto& known = mailbox_fields();
      if (std::find(known.begin(), known.end(), field) == known.end()) {
        std::string msg = "unknown field \"" + field + "\" in [[mailbox]]";
        if (auto guess = closest(field, known))
          msg += " (did you mean \"" + *guess + "\"?)";
        throw config_error(path, line, "mailbox." + field,
                           msg + "; the fields are: " + join(known, ", "));
      }
      std::string text;
      if (auto s = v.value<std::string>(); s && v.is_string())
        text = *s;
      else if (auto i = v.value<std::int64_t>(); i && v.is_integer())
        text = std::to_string(*i);
      else if (auto b = v.value<bool>(); b && v.is_boolean())
        text = *b ? "true" : "false";
      else
        throw config_error(path, line, "mailbox." + field,
                           "mailbox." + field + " = " + toml_text(v)
                             + ": must be a string, a number or true/false");
      m.fields[field] = text;
      m.lines[field] = line;
    }
    if (!m.fields.count("email"))
      throw config_error(path, m.line, "mailbox.email",
                         "a [[mailbox]] table without an email: every mailbox needs one");
    out.push_back(std::move(m));
  }
}

// The [section] tables and top-level keys of a parsed file, applied to the loader.
void collect_file(const toml::table& root, const std::string& path,
                  std::vector<std::tuple<const key_spec*, const toml::node*, origin>>& out,
                  std::vector<declared_mailbox>& mailboxes) {
  auto line_of = [](const toml::source_region& src) {
    return static_cast<int>(src.begin.line);
  };
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    if (name == "mailbox") {
      collect_mailboxes(node, path, mailboxes);
      continue;
    }
    const bool is_section =
      std::find(section_names().begin(), section_names().end(), name) != section_names().end();
    if (is_section) {
      auto table = node.as_table();
      if (!table)
        throw config_error(path, line_of(node.source()), name,
                           name + " = " + toml_text(node) + ": " + name
                             + " is a section: write it as [" + name + "] followed by its keys");
      for (auto&& [sub_key, sub_node] : *table) {
        const std::string sub(sub_key.str());
        const std::string dotted = name + "." + sub;
        const key_spec* k = find_key(dotted);
        if (!k) {
          std::string msg = "unknown key \"" + sub + "\" in [" + name + "]";
          if (auto guess = closest(sub, keys_of_section(name)))
            msg += " (did you mean \"" + *guess + "\"?)";
          msg += "; the keys of [" + name + "] are: " + join(keys_of_section(name), ", ");
          throw config_error(path, line_of(sub_key.source()), dotted, msg);
        }
        origin o;
        o.from = layer::file;
        o.source = path;
        o.line = line_of(sub_node.source());
        o.text = toml_text(sub_node);
        out.emplace_back(k, &sub_node, o);
      }
      continue;
    }
    const key_spec* k = find_key(name);
    if (!k) {
      std::string msg = node.is_table() ? "unknown section [" + name + "]"
                                        : "unknown key \"" + name + "\"";
      std::vector<std::string> homes;   // a section key written outside its section
      for (const auto& spec : key_table())
        if (!node.is_table() && spec.name == name && !spec.section.empty())
          homes.push_back("[" + spec.section + "]");
      if (!homes.empty()) {
        std::string where = homes.back();
        if (homes.size() > 1) {
          homes.pop_back();
          where = join(homes, ", ") + " or " + where;
        }
        msg += " (did you mean \"" + name + "\" in " + where + "?)";
      } else if (node.is_table()) {
        if (auto guess = closest(name, section_names()))
          msg += " (did you mean [" + *guess + "]?)";
      } else {
        auto bare = closest(name, [&] {
          std::vector<std::string> names;
          for (const auto& spec : key_table())
            names.push_back(spec.name);
          return names;
        }());
        if (bare)
          for (const auto& spec : key_table())
            if (spec.name == *bare) {
              msg += spec.section.empty()
                       ? " (did you mean \"" + spec.name + "\"?)"
                       : " (did you mean \"" + spec.name + "\" in [" + spec.section + "]?)";
              break;
            }
      }
      msg += "; the sections are: " + join(section_names(), ", ")
             + "; the top-level keys are: data_dir, transport, default_timezone";
      throw config_error(path, line_of(key.source()), name, msg);
    }
    origin o;
    o.from = layer::file;
    o.source = path;
    o.line = line_of(node.source());
    o.text = toml_text(node);
    out.emplace_back(k, &node, o);
  }
}

bool is_legacy_variable(const std::string& name) {
  return name == "WARMUP_WORKER_COUNT" || name == "WARMUP_WORKER_ID"
         || name == "WARMUP_ENABLE_DISTRIBUTED_MODE";
}

// Variables the command line reads itself (not configuration keys).
// Variables read elsewhere, not configuration keys: the config file's path, the key that
// seals mailbox secrets (never a file key: it must not sit next to the data it protects).
bool is_cli_variable(const std::string& name) {
  return name == "WARMUP_CONFIG" || name == "WARMUP_SECRET_KEY";
}

std::string expand_home(const std::string& path, const std::map<std::string, std::string>& env) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    auto home = env.find("HOME");
    if (home != env.end() && !home->second.empty())
      return home->second + path.substr(1);
  }
  return path;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
    return "node";
  return buf;
}

bool valid_email(const std::string& email) {
  auto at = email.find('@');
  if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos)
    return false;
  auto domain = std::string_view(email).substr(at + 1);
  if (domain.empty() || domain.find('.') == std::string_view::npos || domain.front() == '.'
      || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return false;
  for (char c : email)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))
        || c == ',' || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' || c == ';')
      return false;
  return true;
}

}  // namespace

// Levenshtein distance; names are short, so the quadratic table is fine.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// ---------------------------------------------------------------------------------------

config_error::config_error(std::string source_, int line_, std::string key_,
                           std::string message)
  : std::runtime_error(line_ > 0 ? source_ + ":" + std::to_string(line_) + ": " + message
                       : (source_ == "environment" || source_ == "command line")
                         ? source_ + " " + message
                         : source_ + ": " + message),
    source(std::move(source_)),
    line(line_),
    key(std::move(key_)) {
}

const std::vector<std::string>& mailbox_fields() {
  static const std::vector<std::string> fields = {
    "email", "provider", "timezone", "preset", "name", "organisation",
    "smtp_host", "smtp_port", "smtp_security", "imap_host", "imap_port", "imap_security",
    "username", "password", "password_env", "oauth_refresh_token", "oauth_refresh_token_env",
    "oauth_client_id", "oauth_client_secret_env", "token_url", "ca_file", "tls_verify"};
  return fields;
}

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  for (const auto& k : key_table())
    out.push_back(k.dotted());
  return out;
}

std::string env_name(const std::string& key) {
  std::string out = "WARMUP_";
  for (char c : key)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

engine_config load(const std::optional<std::string>& file,
                   const std::map<std::string, std::string>& env) {
  return load(file, env, {});
}

engine_config load(const std::optional<std::string>& file,
                   const std::map<std::string, std::string>& env,
                   const std::vector<command_line_setting>& flags) {
  loader l;

  // 1. The file, parsed up front: its ramp.preset must be known before its ramp keys.
  toml::table root;
  std::vector<std::tuple<const key_spec*, const toml::node*, origin>> file_values;
  if (file) {
    try {
      root = toml::parse_file(*file);
    } catch (const toml::parse_error& e) {
      int line = static_cast<int>(e.source().begin.line);
      std::string desc(e.description());
      if (line == 0)   // could not be read at all
        throw config_error(*file, 0, "",
                           "cannot read the configuration file: " + desc
                             + "; check the path given to --config or WARMUP_CONFIG");
      throw config_error(*file, line, "",
                         "not valid TOML: " + desc + " (column "
                           + std::to_string(e.source().begin.column) + ")");
    }
    collect_file(root, *file, file_values, l.cfg.mailboxes);
  }

  // 2. The environment: WARMUP_<SECTION>_<KEY>, then DATABASE_URL.
  std::vector<std::pair<const key_spec*, origin>> env_values;
  std::map<std::string, const key_spec*> by_env;
  for (const auto& k : key_table())
    by_env[env_name(k.dotted())] = &k;
  for (const auto& [name, value] : env) {
    if (name.rfind("WARMUP_", 0) != 0)
      continue;
    if (is_cli_variable(name))
      continue;
    if (is_legacy_variable(name)) {
      l.cfg.notices.push_back(
        name + "=" + value + " is ignored: it is not needed any more. Shards ("
        + "node.shard_count) are placed on the running nodes automatically and move when "
          "nodes join or leave; to add capacity, start another node on the same store.");
      continue;
    }
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      std::vector<std::string> names;
      for (const auto& [n, spec] : by_env)
        names.push_back(n);
      std::string msg = "unknown environment variable " + name + " is ignored";
      if (auto guess = closest(lower(name), [&] {
            std::vector<std::string> lowered;
            for (const auto& n : names)
              lowered.push_back(lower(n));
            return lowered;
          }()))
        msg += " (did you mean " + upper(*guess) + "?)";
      l.cfg.notices.push_back(msg);
      continue;
    }
    origin o;
    o.from = layer::environment;
    o.source = "environment";
    o.name = name;
    o.text = value;
    env_values.emplace_back(it->second, o);
  }
  if (auto url = env.find("DATABASE_URL"); url != env.end()) {
    origin o;
    o.from = layer::environment;
    o.source = "environment";
    o.name = "DATABASE_URL";
    o.text = url->second;
    env_values.emplace_back(find_key("store.database_url"), o);
  }

  std::vector<std::pair<const key_spec*, origin>> flag_values;
  for (const auto& f : flags) {
    const key_spec* k = find_key(f.key);
    if (!k)
      throw config_error("command line", 0, f.key,
                         f.flag + ": sets unknown configuration key " + f.key);
    origin o;
    o.from = layer::command_line;
    o.source = "command line";
    o.name = f.flag;
    o.text = f.value;
    flag_values.emplace_back(k, o);
  }

  // 3. The ramp preset from the highest layer that names one: the preset is the base
  //    that explicit ramp keys (from any layer) then override.
  const key_spec* preset_key = find_key("ramp.preset");
  auto apply_text = [&](const key_spec* k, const origin& o) {
    auto d = decode_text(*k, o.text);
    if (!d.value)
      fail_allowed(*k, o, d.problem);
    l.set(*k, *d.value, o);
  };
  auto apply_toml = [&](const key_spec* k, const toml::node* n, const origin& o) {
    auto d = decode_toml(*k, *n);
    if (!d.value)
      fail_allowed(*k, o, d.problem);
    l.set(*k, *d.value, o);
  };
  for (const auto& [k, n, o] : file_values)
    if (k == preset_key)
      apply_toml(k, n, o);
  for (const auto& [k, o] : env_values)
    if (k == preset_key)
      apply_text(k, o);
  for (const auto& [k, o] : flag_values)
    if (k == preset_key)
      apply_text(k, o);
  l.cfg.ramp = *ramp_preset(l.cfg.ramp_preset);
  for (const auto& k : key_table())
    if (k.section == "ramp" && &k != preset_key) {
      origin o;
      o.from = layer::preset;
      o.source = "ramp preset \"" + l.cfg.ramp_preset + "\"";
      l.origins[k.dotted()] = o;
    }

  // 4. Everything else, layer by layer (a later layer overwrites an earlier one).
  for (const auto& [k, n, o] : file_values)
    if (k != preset_key)
      apply_toml(k, n, o);
  for (const auto& [k, o] : env_values)
    if (k != preset_key)
      apply_text(k, o);
  for (const auto& [k, o] : flag_values)
    if (k != preset_key)
      apply_text(k, o);

  // 5. Derived defaults, then the checks that involve more than one key.
  if (l.cfg.data_dir.empty())
    l.cfg.data_dir = default_data_dir(env);
  l.cfg.data_dir = expand_home(l.cfg.data_dir, env);
  if (l.cfg.node.name.empty())
    l.cfg.node.name = host_name();
  l.cross_checks();
  return l.cfg;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      continue;
    std::string name(entry.substr(0, eq));
    if (name.rfind("WARMUP_", 0) == 0 || name == "DATABASE_URL" || name == "HOME"
        || name == "XDG_DATA_HOME")
      out[name] = std::string(entry.substr(eq + 1));
  }
  return out;
}

std::string default_data_dir(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* name) -> std::string {
    auto it = env.find(name);
    return it == env.end() ? std::string{} : it->second;
  };
  if (auto d = get("WARMUP_DATA_DIR"); !d.empty())
    return expand_home(d, env);
  // The XDG spec says relative values are invalid and must be ignored.
  if (auto x = get("XDG_DATA_HOME"); !x.empty() && x.front() == '/')
    return x + "/warmup";
  if (auto h = get("HOME"); !h.empty())
    return h + "/.local/share/warmup";
  return "warmup-data";
}

std::optional<std::string> validate_mailbox(const mailbox_settings& m) {
  if (!valid_email(m.email))
    return "email \"" + m.email
           + "\": not an address: use one @ with a name before it and a domain with a dot "
             "after it, e.g. anna@example.com";
  if (!valid_timezone(m.timezone))
    return "timezone \"" + m.timezone
           + "\": unknown time zone: use an IANA name such as UTC, Europe/Berlin or "
             "America/New_York";
  for (char c : m.provider)
    if (std::isspace(static_cast<unsigned char>(c)))
      return "provider \"" + m.provider + "\": must not contain spaces";
  const auto& r = m.ramp;
  if (r.start < 0 || r.start > 1000)
    return "ramp start " + std::to_string(r.start) + ": must be from 0 to 1000";
  if (r.ceiling < 1 || r.ceiling > 1000)
    return "ramp ceiling " + std::to_string(r.ceiling) + ": must be from 1 to 1000";
  if (r.start > r.ceiling)
    return "ramp start " + std::to_string(r.start) + ": must not exceed the ramp ceiling "
           + std::to_string(r.ceiling);
  if (!(r.step >= 0 && r.step <= 100))
    return "ramp step " + format_number(r.step) + ": must be from 0 to 100";
  if (!(r.variance >= 0 && r.variance <= 1))
    return "ramp variance " + format_number(r.variance) + ": must be from 0 to 1";
  if (!(r.weekend_factor >= 0 && r.weekend_factor <= 1))
    return "ramp weekend factor " + format_number(r.weekend_factor) + ": must be from 0 to 1";
  const auto& w = m.window;
  if (w.start_minute < 0 || w.end_minute > 24 * 60 || w.start_minute >= w.end_minute)
    return "window " + format_minutes(std::clamp(w.start_minute, 0, 1440)) + "-"
           + format_minutes(std::clamp(w.end_minute, 0, 1440))
           + ": the start must be earlier than the end, within 00:00-24:00";
  if (w.min_gap_minutes < 1 || w.min_gap_minutes > w.end_minute - w.start_minute)
    return "window min gap " + std::to_string(w.min_gap_minutes)
           + " minutes: must be at least 1 and fit in the window";
  const auto& e = m.engagement;
  for (auto [name, rate] : {std::pair{"read rate", e.read_rate},
                            std::pair{"important rate", e.important_rate},
                            std::pair{"star rate", e.star_rate},
                            std::pair{"reply rate", e.reply_rate},
                            std::pair{"rescue rate", e.rescue_rate}})
    if (!(rate >= 0 && rate <= 1))
      return std::string("engagement ") + name + " " + format_number(rate)
             + ": must be from 0 to 1";
  if (static_cast<int>(m.state) > static_cast<int>(mailbox_state::removed))
    return "state " + std::to_string(static_cast<int>(m.state))
           + ": not a mailbox state (active, paused, throttled, disconnected, restarting, "
             "removed)";
  if (static_cast<int>(m.transport) > static_cast<int>(transport_kind::smtp))
    return "transport: must be sandbox or smtp";
  return std::nullopt;
}

}  // namespace warmup::config
