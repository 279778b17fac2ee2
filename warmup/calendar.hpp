// calendar.hpp: local days and sending windows in an IANA time zone (DST-correct), as pure
// functions of an instant; nothing here reads a clock.
#pragma once

#include "warmup/types.hpp"

#include <string_view>

namespace warmup {

// True if `tz` names a zone in the system tz database (tzdata). Check names where they
// enter the system: the other functions throw std::invalid_argument for an unknown zone.
// Zone lookups are cached (thread-safe), so calling these per plan is cheap.
bool valid_timezone(std::string_view tz);
// The local calendar day that contains instant `t` in zone `tz`.
day_number local_day(time_ms t, std::string_view tz);
// The UTC instant of local wall time `minute_of_day` (0..1439) on local day `day`.
// Nonexistent local times (spring-forward gap) map to the first instant after the gap;
// ambiguous ones (fall-back) to the earlier instant.
time_ms local_to_utc(day_number day, int minute_of_day, std::string_view tz);
// The UTC instant at which local day `day` starts (local midnight, DST-aware).
time_ms local_midnight(day_number day, std::string_view tz);
// 0 = Monday ... 6 = Sunday.
int weekday(day_number day);
bool is_weekend(day_number day);
// The first instant >= t that lies inside the sending window in zone tz (t itself when
// already inside); used to move reply times into working hours.
time_ms next_in_window(time_ms t, const window_params& w, std::string_view tz);
// "2026-11-28" <-> day_number.
std::string format_day(day_number day);
bool parse_day(std::string_view text, day_number& out);

}  // namespace warmup
