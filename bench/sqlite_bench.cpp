// sqlite_bench.cpp: the SQLite store's write path under the write stream of the simulated
// engine (small intent commits every 5-minute step, a lazy commit of outcomes, registry,
// placements, stats, ramps and plans every few steps), day by day as the tables grow, then
// the reads that follow (find_message, count_messages, status, days_between, one mailbox's
// intents of a day on the writer's connection and on a reader's). Prints figures only.
//
//   sqlite_bench [mailboxes=10000] [days=16] [steps_per_lazy_commit=12] [intent_commits_per_step=25]
//
// Sends per mailbox and day follow the "standard" ramp (3, +2, ceiling 40), so 10,000
// mailboxes reach ~1M sends on day 8, ~2.9M after 16 days and ~8.4M after 30 (the
// engine's sim_throughput 10000 30 made 7.83M). The 4-day engine run had 99 lazy commits
// over 1,152 steps, hence one lazy commit per 12 steps by default.
#include "storage/store.hpp"
#include "warmup/content.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace warmup;
using namespace warmup::storage;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr int steps_per_day = 288;  // 5-minute simulated steps
constexpr shard_id shards = 256;    // the engine's default shard count

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Bytes this process handed to write()/pwrite() (WAL frames and checkpoint copies): the
// "wchar" line of /proc/self/io; 0 where there is none.
double written_bytes() {
  std::ifstream f("/proc/self/io");
  std::string key;
  double value = 0;
  while (f >> key >> value)
    if (key == "wchar:")
      return value;
  return 0;
}

double file_mib(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0.0 : static_cast<double>(n) / (1024.0 * 1024.0);
}

mailbox_record bench_mailbox(std::size_t i) {
  mailbox_record r;
  r.settings.email = "box" + std::to_string(i) + "@bench" + std::to_string(i % 97) + ".test";
  r.settings.display_name = "Bench Box " + std::to_string(i);
  r.settings.provider = i % 3 == 0 ? "gmail" : (i % 3 == 1 ? "outlook" : "other");
  r.settings.organisation = std::string(email_domain(r.settings.email));
  r.settings.timezone = "Europe/Berlin";
  r.settings.created_day = 20000;
  r.created_at = r.updated_at = 1'728'000'000'000;
  return r;
}

// A send between the intent commit that recorded it and the lazy commit of its outcome.
struct sent_message {
  slot_key key;
  mailbox_id to = no_mailbox;
  std::string message_id;
  time_ms at = 0;
};

struct phase_totals {
  double seconds = 0;
  std::size_t commits = 0;
  std::size_t rows = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mailboxes = argc > 1 ? std::stoul(argv[1]) : 10'000;
  const int days = argc > 2 ? std::atoi(argv[2]) : 16;
  const int steps_per_lazy = std::max(1, argc > 3 ? std::atoi(argv[3]) : 12);
  const int intent_commits_per_step = std::max(1, argc > 4 ? std::atoi(argv[4]) : 25);
  if (mailboxes == 0 || days <= 0 || days > 365) {
    std::printf("usage: sqlite_bench [mailboxes>0] [days 1..365] [steps_per_lazy_commit] "
                "[intent_commits_per_step]\n");
    return 2;
  }
  auto scratch = (fs::temp_directory_path() / "warmup-sqlite-bench-XXXXXX").string();
  if (mkdtemp(scratch.data()) == nullptr)
    return 1;
  const fs::path dir = scratch;
  const fs::path db_path = dir / "store.db";
  std::printf("sqlite_bench: %zu mailboxes, %d days, a lazy commit per %d steps, %d intent "
              "commits per step, %u shards, in %s\n",
              mailboxes, days, steps_per_lazy, intent_commits_per_step, shards,
              dir.c_str());
  try {
    auto store = open_sqlite(db_path.string());
    std::vector<mailbox_record> records;
    records.reserve(mailboxes);
    for (std::size_t i = 0; i < mailboxes; ++i)
      records.push_back(bench_mailbox(i));
    auto t0 = clock_type::now();
    auto ids = store->add_mailboxes(records);
    std::printf("load:  add_mailboxes %zu in %.2f s\n", ids.size(), seconds_since(t0));
    std::vector<epoch_t> epochs(shards);
    for (shard_id s = 0; s < shards; ++s)
      epochs[s] = *store->acquire_lease(s, "bench", 0, 365 * ms_per_day);
    auto shard_of = [&](mailbox_id m) { return static_cast<shard_id>(m % shards); };
    auto fresh_batches = [&] {
      std::vector<write_batch> bs(shards);
      for (shard_id s = 0; s < shards; ++s) {
        bs[s].shard = s;
        bs[s].epoch = epochs[s];
      }
      return bs;
    };
    // Only the shards that got rows, as the gateway sends them (one batch per shard flush).
    auto non_empty = [](std::vector<write_batch>& bs) {
      std::vector<write_batch> out;
      for (auto& b : bs)
        if (!b.empty())
          out.push_back(std::move(b));
      return out;
    };

    std::mt19937_64 rng(20240601);
    std::uint64_t seq = 0;
    std::size_t stale = 0;
    std::size_t total_sends = 0;
    phase_totals intents_all, lazy_all;
    std::vector<sent_message> unsettled;           // sent since the last lazy commit
    // Message-IDs and their sent_at per earlier lazy window.
    std::deque<std::vector<std::pair<std::string, time_ms>>> recent;
    constexpr std::size_t placement_windows = 6;   // placements land within ~6 windows
    std::size_t lazy_index = 0;
    const int lazy_per_day = (steps_per_day + steps_per_lazy - 1) / steps_per_lazy;
    std::printf("%4s %9s %10s | %8s %8s %8s | %8s %8s %8s | %8s %8s %8s\n", "day", "sends",
                "total", "int_ms", "int_us/s", "int_rows", "lazy_ms", "lazy_us/s",
                "lazy_rows", "KiB/send", "db_MiB", "wal_MiB");

    for (int d = 0; d < days; ++d) {
      const day_number day = 20000 + d;
      const time_ms day_start = static_cast<time_ms>(day) * ms_per_day;
      const int target = std::min(40, 3 + 2 * d);  // the standard ramp's volume
      // The day's sends in a random order, spread evenly over its steps.
      std::vector<slot_key> todays;
      todays.reserve(mailboxes * static_cast<std::size_t>(target));
      for (auto m : ids)
        for (int s = 0; s < target; ++s)
          todays.push_back({m, day, static_cast<std::uint32_t>(s)});
      std::shuffle(todays.begin(), todays.end(), rng);
      phase_totals intents_day, lazy_day;
      const double written_before = written_bytes();
      std::size_t next = 0;

      for (int step = 0; step < steps_per_day; ++step) {
        const time_ms step_at = day_start + static_cast<time_ms>(step) * 5 * ms_per_minute;
        const std::size_t end = todays.size() * static_cast<std::size_t>(step + 1)
                                / steps_per_day;
        // Intent commits: the step's sends in ~25 groups, each group one batch per shard.
        const std::size_t step_begin = next;
        const std::size_t in_step = end - step_begin;
        const auto groups = static_cast<std::size_t>(intent_commits_per_step);
        for (std::size_t c = 0; c < groups && next < end; ++c) {
          const std::size_t group_end = step_begin + in_step * (c + 1) / groups;
          if (group_end == next)
            continue;  // a step with fewer sends than commits
          auto bs = fresh_batches();
          std::size_t rows = 0;
          for (; next < group_end; ++next) {
            const auto& k = todays[next];
            const auto& from = records[k.mailbox - ids.front()];
            sent_message m;
            m.key = k;
            m.to = ids[rng() % ids.size()];
            m.message_id = make_message_id(from.settings.provider,
                                           email_domain(from.settings.email), rng());
            m.at = step_at + static_cast<time_ms>(rng() % (5 * ms_per_minute));
            send_intent in;
            in.key = k;
            in.to = m.to;
            in.message_id = m.message_id;
            in.planned_at = m.at;
            in.recorded_at = m.at + 3;
            bs[shard_of(k.mailbox)].intents.push_back(std::move(in));
            unsettled.push_back(std::move(m));
            ++rows;
          }
          auto call = non_empty(bs);
          auto t1 = clock_type::now();
          for (const auto& r : store->apply_many_once("bench", ++seq, call))
            stale += r.stale_epoch;
          intents_day.seconds += seconds_since(t1);
          ++intents_day.commits;
          intents_day.rows += rows;
        }

        if ((step + 1) % steps_per_lazy != 0 && step + 1 != steps_per_day)
          continue;
        // The lazy commit: what the shards gathered since the last one.
        auto bs = fresh_batches();
        std::size_t rows = 0;
        std::vector<std::pair<std::string, time_ms>> window_ids;
        window_ids.reserve(unsettled.size());
        for (auto& m : unsettled) {
          auto& b = bs[shard_of(m.key.mailbox)];
          const bool reply = rng() % 3 == 0;
          b.outcomes.push_back({m.key, intent_status::sent, m.at + 400, ""});
          registry_entry e;
          e.message_id = m.message_id;
          e.from = m.key.mailbox;
          e.to = m.to;
          e.thread = rng();
          e.turn = reply ? 2 : 1;
          e.sent_at = m.at;
          e.subject = reply ? "Re: Quick question about the quarterly planning"
                            : "Quick question about the quarterly planning";
          if (reply && !window_ids.empty()) {
            e.in_reply_to = window_ids[rng() % window_ids.size()].first;
            e.references = e.in_reply_to;
          }
          b.registry.push_back(std::move(e));
          day_stats sent{};
          sent.day = m.key.day;
          sent.sent = 1;
          b.stats.push_back({m.key.mailbox, sent});
          day_stats received{};
          received.day = m.key.day;
          received.received = 1;
          bs[shard_of(m.to)].stats.push_back({m.to, received});
          day_stats placed{};
          placed.day = m.key.day;
          (rng() % 10 == 0 ? placed.spam : placed.inbox) = 1;
          b.stats.push_back({m.key.mailbox, placed});
          rows += 5;
          window_ids.emplace_back(std::move(m.message_id), m.at);
        }
        // Placements: ~1.07 per send, of messages sent one to six windows earlier (the
        // recipient's human delay), found by Message-ID.
        if (!recent.empty()) {
          const std::size_t n = unsettled.size() * 107 / 100;
          for (std::size_t i = 0; i < n; ++i) {
            const auto& window = recent[rng() % recent.size()];
            if (window.empty())
              continue;
            const auto& [id, sent_at] = window[rng() % window.size()];
            placement_update p;
            p.message_id = id;
            p.sent_at = sent_at;
            p.where = rng() % 10 == 0 ? placement::spam : placement::inbox;
            p.rescued = p.where == placement::spam && rng() % 2 == 0;
            p.at = step_at;
            bs[rng() % shards].placements.push_back(std::move(p));
            ++rows;
          }
        }
        // A ramp and a plan row per mailbox per day, spread over the day's lazy commits
        // (mailboxes start their local days at different times).
        const auto slice = static_cast<std::size_t>(lazy_index % static_cast<std::size_t>(
                                                                   lazy_per_day));
        for (std::size_t i = slice; i < ids.size(); i += static_cast<std::size_t>(lazy_per_day)) {
          auto m = ids[i];
          auto& b = bs[shard_of(m)];
          ramp_update r;
          r.mailbox = m;
          r.ramp.ramp_day = d;
          b.ramps.push_back(r);
          plan_record p;
          p.mailbox = m;
          p.day = day + 1;
          p.target = std::min(40, 5 + 2 * d);
          for (int s = 0; s < p.target; ++s)
            p.slot_times.push_back(day_start + ms_per_day + 8 * ms_per_hour
                                   + static_cast<time_ms>(s) * 15 * ms_per_minute);
          b.plans.push_back(std::move(p));
          day_stats planned{};
          planned.day = day + 1;
          planned.planned = static_cast<std::uint32_t>(std::min(40, 5 + 2 * d));
          b.stats.push_back({m, planned});
          rows += 3;
        }
        ++lazy_index;
        auto call = non_empty(bs);
        auto t1 = clock_type::now();
        for (const auto& r : store->apply_many_once("bench", ++seq, call))
          stale += r.stale_epoch;
        lazy_day.seconds += seconds_since(t1);
        ++lazy_day.commits;
        lazy_day.rows += rows;
        total_sends += unsettled.size();
        unsettled.clear();
        recent.push_back(std::move(window_ids));
        if (recent.size() > placement_windows)
          recent.pop_front();
      }

      const auto sends = todays.size();
      const double written = written_bytes() - written_before;
      std::printf("%4d %9zu %10zu | %8.0f %8.1f %8.1f | %8.0f %8.1f %8.0f | %8.2f %8.0f %8.1f\n",
                  d, sends, total_sends, intents_day.seconds * 1e3,
                  intents_day.seconds * 1e6 / static_cast<double>(sends),
                  static_cast<double>(intents_day.rows)
                    / static_cast<double>(std::max<std::size_t>(1, intents_day.commits)),
                  lazy_day.seconds * 1e3, lazy_day.seconds * 1e6 / static_cast<double>(sends),
                  static_cast<double>(lazy_day.rows)
                    / static_cast<double>(std::max<std::size_t>(1, lazy_day.commits)),
                  written / 1024.0 / static_cast<double>(sends), file_mib(db_path),
                  file_mib(fs::path(db_path.string() + "-wal")));
      std::fflush(stdout);
      intents_all.seconds += intents_day.seconds;
      intents_all.commits += intents_day.commits;
      lazy_all.seconds += lazy_day.seconds;
      lazy_all.commits += lazy_day.commits;
    }
    std::printf("total: %zu sends; intent commits %zu in %.2f s (%.1f us/send, %.0f us/commit); "
                "lazy commits %zu in %.2f s (%.1f us/send); store %.1f us/send%s\n",
                total_sends, intents_all.commits, intents_all.seconds,
                intents_all.seconds * 1e6 / static_cast<double>(total_sends),
                intents_all.seconds * 1e6 / static_cast<double>(intents_all.commits),
                lazy_all.commits, lazy_all.seconds,
                lazy_all.seconds * 1e6 / static_cast<double>(total_sends),
                (intents_all.seconds + lazy_all.seconds) * 1e6
                  / static_cast<double>(total_sends),
                stale > 0 ? " (STALE BATCHES: figures invalid)" : "");

    // The reads that follow: lookups of known and unknown Message-IDs, the audit count,
    // `warmup status` of the last day, start-up's days_between and pending intents.
    const day_number last_day = 20000 + days - 1;
    std::vector<std::string> known;
    for (const auto& w : recent)
      for (std::size_t i = 0; i < w.size() && known.size() < 20'000; i += 7)
        known.push_back(w[i].first);
    t0 = clock_type::now();
    std::size_t found = 0;
    for (const auto& id : known)
      found += store->find_message(id).has_value();
    double find_s = seconds_since(t0);
    t0 = clock_type::now();
    std::size_t unknown_found = 0;
    for (std::size_t i = 0; i < 20'000; ++i)
      unknown_found += store->find_message("<unknown" + std::to_string(i) + "@bench.test>")
                         .has_value();
    double miss_s = seconds_since(t0);
    t0 = clock_type::now();
    auto messages = store->count_messages();
    double count_s = seconds_since(t0);
    t0 = clock_type::now();
    auto summary = store->status(static_cast<time_ms>(last_day) * ms_per_day + 20 * ms_per_hour,
                                 5 * ms_per_minute);
    double status_s = seconds_since(t0);
    t0 = clock_type::now();
    auto rows = store->days_between(last_day - 1, last_day + 1);
    double days_s = seconds_since(t0);
    t0 = clock_type::now();
    auto pending = store->pending_intents().size();
    double pending_s = seconds_since(t0);
    std::printf("read:  find_message %zu known %.1f us each (%zu found), %d unknown %.1f us "
                "each (%zu found)\n",
                known.size(), find_s * 1e6 / static_cast<double>(std::max<std::size_t>(1, known.size())),
                found, 20'000, miss_s * 1e6 / 20'000.0, unknown_found);
    std::printf("read:  count_messages %llu in %.3f s; status (%llu sends today, %llu inbox) "
                "%.3f s; days_between 3 days (%zu intents, %zu plans) %.3f s; pending %zu "
                "in %.3f s\n",
                static_cast<unsigned long long>(messages), count_s,
                static_cast<unsigned long long>(summary.sends_today),
                static_cast<unsigned long long>(summary.inbox_today), status_s,
                rows.intent_keys.size(), rows.plans.size(), days_s, pending, pending_s);
    // One mailbox's intents of a day (a crashed mailbox actor's restart, the console's
    // mailbox page): the last day and the first on the writer's connection, then the last day
    // on a read-only one (the CLI, or a connection that never wrote).
    auto per_mailbox = [&](warmup::storage::store& on, day_number day) {
      constexpr std::size_t asked = 200;
      std::size_t found_rows = 0;
      auto t = clock_type::now();
      for (std::size_t i = 0; i < asked; ++i)
        found_rows += on.intents(ids[(i * 7919) % ids.size()], day, day).size();
      return std::pair(seconds_since(t) * 1e6 / asked,
                       static_cast<double>(found_rows) / asked);
    };
    auto [last_us, last_rows] = per_mailbox(*store, last_day);
    auto [first_us, first_rows] = per_mailbox(*store, 20000);
    auto reader = open_sqlite(db_path.string(), true);
    auto [reader_us, reader_rows] = per_mailbox(*reader, last_day);
    std::printf("read:  intents(m, day, day) writer last day %.1f us (%.0f rows), writer first "
                "day %.1f us (%.0f rows), read-only last day %.1f us (%.0f rows)\n",
                last_us, last_rows, first_us, first_rows, reader_us, reader_rows);
    t0 = clock_type::now();
    auto reader_summary = reader->status(
      static_cast<time_ms>(last_day) * ms_per_day + 20 * ms_per_hour, 5 * ms_per_minute);
    std::printf("read:  status on the read-only connection %.3f s (overdue %llu, writer's %llu)\n",
                seconds_since(t0), static_cast<unsigned long long>(reader_summary.overdue),
                static_cast<unsigned long long>(summary.overdue));
    auto held = store->intent_keys_held();
    std::printf("keys:  the writer holds %llu days, %llu intent keys in %.1f MiB (%.1f bytes a "
                "key)\n",
                static_cast<unsigned long long>(held.days),
                static_cast<unsigned long long>(held.keys),
                static_cast<double>(held.bytes) / (1024.0 * 1024.0),
                held.keys > 0 ? static_cast<double>(held.bytes) / static_cast<double>(held.keys)
                              : 0.0);
    std::printf("size:  db %.0f MiB, wal %.1f MiB\n", file_mib(db_path),
                file_mib(fs::path(db_path.string() + "-wal")));
  } catch (const std::exception& e) {
    std::printf("sqlite_bench: %s\n", e.what());
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
