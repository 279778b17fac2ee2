// calendar.cpp: local days, DST-correct local-to-UTC conversion and sending windows over
// the system tz database (date/tz.h), with a cache of zone lookups.
#include "warmup/calendar.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace warmup {

namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using sys_ms = date::sys_time<milliseconds>;

// Heterogeneous lookup so a std::string_view finds a std::string key without a copy.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Zone lookups happen for every plan and every reply time, and date::locate_zone is a
// binary search over ~600 names (plus an exception for unknown names), so resolved zones
// are cached for the process. time_zone objects live in the tzdb singleton and never
// move, so caching the pointer is safe. Unknown names are not cached: user input could
// grow the map without bound.
class zone_cache {
public:
  const date::time_zone* find(std::string_view name) {
    // Fast path without any lock: most threads plan many mailboxes in few zones in a row.
    thread_local std::string last_name;
    thread_local const date::time_zone* last_zone = nullptr;
    if (last_zone != nullptr && last_name == name)
      return last_zone;
    const date::time_zone* z = find_shared(name);
    if (z != nullptr) {
      last_name.assign(name);
      last_zone = z;
    }
    return z;
  }

private:
  const date::time_zone* find_shared(std::string_view name) {
    {
      std::shared_lock lock{mutex_};
      if (auto i = zones_.find(name); i != zones_.end())
        return i->second;
    }
    const date::time_zone* z = nullptr;
    try {
      z = date::locate_zone(name);
    } catch (const std::exception&) {
      return nullptr;
    }
    std::unique_lock lock{mutex_};
    zones_.emplace(std::string{name}, z);
    return z;
  }

  std::shared_mutex mutex_;
  std::unordered_map<std::string, const date::time_zone*, name_hash, std::equal_to<>> zones_;
};

zone_cache& zones() {
  static zone_cache cache;
  return cache;
}

// Callers are expected to validate zone names where they enter the system (config, API);
// reaching here with an unknown one is a programming error, reported loudly.
const date::time_zone& zone_of(std::string_view tz) {
  if (const date::time_zone* z = zones().find(tz))
    return *z;
  throw std::invalid_argument("unknown time zone '" + std::string{tz}
                              + "': use an IANA name such as Europe/Berlin or UTC");
}

time_ms to_ms(sys_ms t) {
  return t.time_since_epoch().count();
}

}  // namespace

bool valid_timezone(std::string_view tz) {
  return !tz.empty() && zones().find(tz) != nullptr;
}

day_number local_day(time_ms t, std::string_view tz) {
  const auto local = zone_of(tz).to_local(sys_ms{milliseconds{t}});
  return static_cast<day_number>(date::floor<date::days>(local).time_since_epoch().count());
}

// choose::earliest gives exactly the header's rules: a wall time in the spring-forward
// gap maps to the transition instant (the first instant after the gap), an ambiguous one
// to its first occurrence.
time_ms local_to_utc(day_number day, int minute_of_day, std::string_view tz) {
  const date::local_time<minutes> local =
    date::local_days{date::days{day}} + minutes{minute_of_day};
  const auto utc = zone_of(tz).to_sys(local, date::choose::earliest);
  return to_ms(std::chrono::time_point_cast<milliseconds>(utc));
}

time_ms local_midnight(day_number day, std::string_view tz) {
  return local_to_utc(day, 0, tz);
}

// 1970-01-01 (day 0) was a Thursday, weekday 3 when Monday is 0.
int weekday(day_number day) {
  const int r = static_cast<int>((static_cast<std::int64_t>(day) + 3) % 7);
  return r < 0 ? r + 7 : r;
}

bool is_weekend(day_number day) {
  return weekday(day) >= 5;
}

// The window is half-open, [start, end): an instant exactly at the end is already
// outside. Weekends are not skipped here: whether a day sends at all is the ramp's call.
time_ms next_in_window(time_ms t, const window_params& w, std::string_view tz) {
  const day_number today = local_day(t, tz);
  const time_ms start = local_to_utc(today, w.start_minute, tz);
  if (t < start)
    return start;
  if (t < local_to_utc(today, w.end_minute, tz))
    return t;
  return local_to_utc(today + 1, w.start_minute, tz);
}

std::string format_day(day_number day) {
  const date::year_month_day ymd{date::sys_days{date::days{day}}};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

// Strict "YYYY-MM-DD": ten characters, digits where digits belong, a real date.
bool parse_day(std::string_view text, day_number& out) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-')
    return false;
  auto number = [&](std::size_t from, std::size_t count, int& value) {
    value = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9')
        return false;
      value = value * 10 + (text[i] - '0');
    }
    return true;
  };
  int y = 0;
  int m = 0;
  int d = 0;
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d))
    return false;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return false;
  out = static_cast<day_number>(date::sys_days{ymd}.time_since_epoch().count());
  return true;
}

}  // namespace warmup
