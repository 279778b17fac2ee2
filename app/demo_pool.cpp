// demo_pool.cpp: a varied sandbox pool: organisations, providers, time zones, a few
// mailboxes pushed too fast.
#include "app/demo_pool.hpp"

#include "warmup/random.hpp"

#include <string>

namespace warmup::app {

void create_demo_pool(storage::store& store, const config::engine_config& cfg, int n,
                      std::uint64_t seed, time_ms now) {
  static const char* first[] = {"anna",  "ben",   "carla", "david", "emma",  "felix",
                                "greta", "hugo",  "ines",  "jonas", "karin", "leo",
                                "mia",   "noah",  "olga",  "paul",  "rita",  "sam",
                                "tara",  "uwe",   "vera",  "will",  "xenia", "yusuf"};
  static const char* last[] = {"berg",   "costa",  "dubois", "evans", "fischer", "garcia",
                               "hansen", "ivanov", "jensen", "klein", "lopez",   "meyer",
                               "novak",  "olsen",  "petit",  "quinn", "rossi",   "smith"};
  static const char* zones[] = {"Europe/Berlin", "America/New_York", "Europe/London", "UTC",
                                "Asia/Kolkata", "America/Los_Angeles"};
  rng r(seed_of(seed, 0xdeadbeef));
  auto day = static_cast<day_number>(now / ms_per_day);
  std::vector<storage::mailbox_record> records;
  records.reserve(static_cast<std::size_t>(n));
  int created = 0;
  int org = 0;
  while (created < n) {
    ++org;
    auto org_size = static_cast<int>(r.uniform_int(1, 12));
    const auto& provider = cfg.sandbox.providers[static_cast<std::size_t>(
      r.uniform_int(0, static_cast<std::int64_t>(cfg.sandbox.providers.size()) - 1))];
    auto domain = "org" + std::to_string(org) + ".test";
    auto zone = zones[r.uniform_int(0, 5)];
    for (int k = 0; k < org_size && created < n; ++k, ++created) {
      storage::mailbox_record rec;
      auto& m = rec.settings;
      std::string f = first[r.uniform_int(0, 23)];
      std::string l = last[r.uniform_int(0, 17)];
      m.email = f + "." + l + std::to_string(created) + "@" + domain;
      m.display_name = f + " " + l;
      m.display_name[0] = static_cast<char>(m.display_name[0] - 'a' + 'A');
      m.provider = provider;
      m.organisation = domain;
      m.timezone = zone;
      m.transport = transport_kind::sandbox;
      m.ramp = cfg.ramp;
      m.window = cfg.window;
      m.engagement = cfg.engagement;
      m.created_day = day;
      rec.ramp_preset = cfg.ramp_preset;
      if (created % 20 == 19) {
        // Pushed too fast: 40 a day from the first day.
        m.ramp = ramp_params{40, 5.0, 60, 0.1, false, 1.0};
        rec.ramp_preset = "custom";
        m.display_name += " (pushed)";
      }
      rec.created_at = now;
      rec.updated_at = now;
      records.push_back(std::move(rec));
    }
  }
  store.add_mailboxes(records);  // one transaction
}


}  // namespace warmup::app
