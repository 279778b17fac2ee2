// cli_session.cpp: configuration loading, store opening and the engine clock for the CLI.
#include "app/cli_session.hpp"

#include "warmup/calendar.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace warmup::app {

namespace fs = std::filesystem;

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string format_instant(time_ms t) {
  day_number day = static_cast<day_number>(t >= 0 ? t / ms_per_day : (t - ms_per_day + 1) / ms_per_day);
  time_ms in_day = t - static_cast<time_ms>(day) * ms_per_day;
  auto two = [](time_ms v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  return format_day(day) + " " + two(in_day / ms_per_hour) + ":"
         + two(in_day % ms_per_hour / ms_per_minute) + ":"
         + two(in_day % ms_per_minute / ms_per_second) + " UTC";
}

std::optional<double> parse_duration_seconds(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  double total = 0;
  std::size_t i = 0;
  bool plain = true;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
      ++i;
    if (i == start)
      return std::nullopt;
    double value = 0;
    try {
      value = std::stod(text.substr(start, i - start));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    std::size_t unit_start = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z')
      ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit.empty()) {
      if (!plain || i != text.size())
        return std::nullopt;   // "1h30" is ambiguous
      scale = 1;
    } else if (unit == "ms") {
      scale = 0.001;
    } else if (unit == "s") {
      scale = 1;
    } else if (unit == "m") {
      scale = 60;
    } else if (unit == "h") {
      scale = 3600;
    } else if (unit == "d") {
      scale = 86400;
    } else {
      return std::nullopt;
    }
    plain = false;
    total += value * scale;
  }
  if (!(total > 0))
    return std::nullopt;
  return total;
}

namespace {
// The SQLite file of a "sqlite:PATH" URL, or nullopt for any other URL.
std::optional<std::string> sqlite_url_path(const std::string& url) {
  for (std::string prefix : {"sqlite://", "sqlite:"})
    if (url.rfind(prefix, 0) == 0)
      return url.substr(prefix.size());
  return std::nullopt;
}
}  // namespace

std::string cli_session::store_path() const {
  const auto& url = cfg.store.database_url;
  if (url.empty())
    return storage::sqlite_path_in(cfg.data_dir);
  if (auto p = sqlite_url_path(url))
    return *p;
  return redact_url(url);
}

bool cli_session::embedded_store() const {
  return cfg.store.database_url.empty() || sqlite_url_path(cfg.store.database_url).has_value();
}

std::unique_ptr<storage::store> cli_session::open_store() const {
  if (!embedded_store())
    return storage::open_store(cfg.store.database_url, cfg.data_dir);
  auto path = store_path();
  auto dir = fs::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      throw std::runtime_error("cannot create the data directory " + dir.string() + ": "
                               + ec.message() + "; choose another with --data DIR");
  }
  return storage::open_sqlite(path, false);
}

std::unique_ptr<storage::store> cli_session::open_store_read_only() const {
  if (!embedded_store())
    return storage::open_store(cfg.store.database_url, cfg.data_dir, true);
  auto path = store_path();
  std::error_code ec;
  if (!fs::exists(path, ec))
    return nullptr;
  return storage::open_sqlite(path, true);
}

cli_session load_session(const global_options& g,
                         std::vector<config::command_line_setting> flags) {
  auto env = config::process_environment();
  std::optional<std::string> file;
  if (!g.config_file.empty())
    file = g.config_file;
  else if (auto it = env.find("WARMUP_CONFIG"); it != env.end() && !it->second.empty())
    file = it->second;
  if (!g.data_dir.empty())
    flags.push_back({"data_dir", g.data_dir, "--data"});
  cli_session s;
  s.cfg = config::load(file, env, flags);
  return s;
}

namespace {
std::optional<time_ms> written_clock(storage::store* s) {
  if (!s)
    return std::nullopt;
  auto v = s->get_meta("engine.now_ms");
  if (!v)
    return std::nullopt;
  char* end = nullptr;
  long long ms = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0')
    return std::nullopt;
  return static_cast<time_ms>(ms);
}
}  // namespace

time_ms engine_now(storage::store* s) {
  if (auto t = written_clock(s))
    return *t;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

bool engine_clock_written(storage::store* s) { return written_clock(s).has_value(); }

}  // namespace warmup::app
