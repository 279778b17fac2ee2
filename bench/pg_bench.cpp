// pg_bench.cpp: PostgreSQL store figures: the engine's start-up read of 100k mailboxes,
// and the sustained rate of send intents + outcomes through apply_many against three bulk
// references in the same run: a raw COPY of the same rows (intent rows, outcome rows), the
// same two writes per send in bulk (COPY, then one UPDATE from the copied outcomes), and a
// COPY of each send's final row (the floor of any design). Starts its own server (fsync,
// synchronous commit, production checkpoint spacing); asserts nothing.
#include "bench/pg_server.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using namespace warmup;
using namespace warmup::storage;
using warmup::bench::run_command;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// CPU time of this process (the store's client side: building and parsing statements).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}


mailbox_record bench_mailbox(std::size_t i) {
  mailbox_record r;
  r.settings.email = "box" + std::to_string(i) + "@bench" + std::to_string(i % 97) + ".test";
  r.settings.display_name = "Bench Box " + std::to_string(i);
  r.settings.provider = i % 3 == 0 ? "gmail" : "outlook";
  r.settings.organisation = std::string(email_domain(r.settings.email));
  r.settings.timezone = "Europe/Berlin";
  r.settings.created_day = 20000;
  r.created_at = r.updated_at = 1'728'000'000'000;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mailboxes = argc > 1 ? std::stoul(argv[1]) : 100'000;
  const std::size_t sends = argc > 2 ? std::stoul(argv[2]) : 200'000;
  constexpr std::size_t rows_per_call = 2'000;  // the store gateway's group commit size
  constexpr shard_id shards = 8;
  // Durable: fsync and synchronous commit on, so commits cost what they cost in production.
  // PG_BENCH_SERVER=<url>: an already running server (to watch it with
  // pg_stat_statements or perf); it must run with fsync on for the figures to mean much.
  const char* given = std::getenv("PG_BENCH_SERVER");
  std::optional<bench::pg_server> own;
  if (given == nullptr)
    own.emplace("pg-bench", true);
  auto scratch = (fs::temp_directory_path() / "warmup-pg-bench-files-XXXXXX").string();
  if (mkdtemp(scratch.data()) == nullptr)
    return 1;
  const std::string dir = scratch;
  const std::string server = given != nullptr ? std::string(given) : own->answer();
  if (server.rfind("postgresql://", 0) != 0) {
    std::printf("pg_bench: the server did not start: %s\n", server.c_str());
    return 1;
  }
  const std::string db_url = server.substr(0, server.rfind('/') + 1) + "bench";
  {
    pqxx::connection c(server);
    pqxx::nontransaction tx(c);
    if (given != nullptr)
      tx.exec("DROP DATABASE IF EXISTS bench");
    tx.exec("CREATE DATABASE bench");
  }
  std::printf("pg_bench: PostgreSQL %s (fsync on), %zu mailboxes, %zu sends\n",
              run_command("psql '" + server + "' -Atc 'SHOW server_version'").c_str(), mailboxes,
              sends);

  try {
    auto store = open_postgres(db_url);
    // (a) the engine's start-up read.
    std::vector<mailbox_record> records;
    records.reserve(mailboxes);
    for (std::size_t i = 0; i < mailboxes; ++i)
      records.push_back(bench_mailbox(i));
    auto t0 = clock_type::now();
    auto ids = store->add_mailboxes(records);
    double add_s = seconds_since(t0);
    t0 = clock_type::now();
    auto all = store->list_mailboxes({});
    double list_s = seconds_since(t0);
    std::printf("load:  add_mailboxes %zu in %.2f s (%.0f/s); list_mailboxes of all %zu in "
                "%.3f s\n",
                ids.size(), add_s, static_cast<double>(ids.size()) / add_s, all.size(), list_s);
    all.clear();

    // (b) intents, then their outcomes one call later, as the gateway writes them.
    std::vector<epoch_t> epochs(shards);
    for (shard_id s = 0; s < shards; ++s)
      epochs[s] = *store->acquire_lease(s, "bench", 0, ms_per_day);
    constexpr day_number day = 20000;
    const time_ms day_start = static_cast<time_ms>(day) * ms_per_day;
    auto key_of = [&](std::size_t i) {
      auto m = ids[(i * 7919) % ids.size()];
      return slot_key{m, day, static_cast<std::uint32_t>(i / ids.size())};
    };
    auto make_calls = [&](std::size_t first, std::size_t n, bool outcomes) {
      std::vector<write_batch> calls(shards);
      for (shard_id s = 0; s < shards; ++s) {
        calls[s].shard = s;
        calls[s].epoch = epochs[s];
      }
      for (std::size_t i = first; i < first + n; ++i) {
        auto k = key_of(i);
        auto& b = calls[k.mailbox % shards];
        auto at = day_start + static_cast<time_ms>(i);
        if (outcomes) {
          b.outcomes.push_back({k, intent_status::sent, at + 500, ""});
        } else {
          send_intent in;
          in.key = k;
          in.to = ids[(i * 31) % ids.size()];
          in.message_id = "<" + to_string(k) + ".bench@warmup.test>";
          in.planned_at = at;
          in.recorded_at = at + 1;
          b.intents.push_back(std::move(in));
        }
      }
      return calls;
    };
    // WAL written and checkpoints taken per phase: with full_page_writes, every page
    // first touched after a checkpoint is logged whole, so randomly keyed index inserts
    // cost far more WAL (and commit time) when checkpoints are frequent.
    auto server_counters = [&] {
      auto v = run_command("psql '" + db_url
                           + "' -Atc \"SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, "
                   "checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter\"");
      auto bar = v.find('|');
      return std::pair<double, long>{bar == std::string::npos ? 0.0 : std::atof(v.c_str()),
                                     bar == std::string::npos ? 0 : std::atol(v.c_str() + bar + 1)};
    };
    auto before_apply = server_counters();
    t0 = clock_type::now();
    std::size_t stale = 0;
    double intents_s = 0, outcomes_s = 0;  // inside apply_many only, per kind of row
    double client_cpu_s = 0;
    for (std::size_t first = 0; first < sends; first += rows_per_call) {
      auto n = std::min(rows_per_call, sends - first);
      auto intent_calls = make_calls(first, n, false);
      auto t1 = clock_type::now();
      auto c1 = cpu_seconds();
      for (const auto& r : store->apply_many(intent_calls))
        stale += r.stale_epoch;
      intents_s += seconds_since(t1);
      client_cpu_s += cpu_seconds() - c1;
      auto outcome_calls = make_calls(first, n, true);
      t1 = clock_type::now();
      c1 = cpu_seconds();
      for (const auto& r : store->apply_many(outcome_calls))
        stale += r.stale_epoch;
      outcomes_s += seconds_since(t1);
      client_cpu_s += cpu_seconds() - c1;
    }
    double apply_s = seconds_since(t0);
    double apply_rate = static_cast<double>(sends) / apply_s;
    std::printf("write: apply_many %zu intents + %zu outcomes (%zu rows per call) in %.2f s: "
                "%.0f sends/s%s\n",
                sends, sends, rows_per_call, apply_s, apply_rate,
                stale > 0 ? " (STALE BATCHES: figure invalid)" : "");
    std::printf("write: of which intents %.2f s, outcomes %.2f s (the rest builds the calls); "
                "CPU of the store's client side in apply_many %.2f s\n",
                intents_s, outcomes_s, client_cpu_s);
    auto after_apply = server_counters();
    std::printf("write: %.0f MB of WAL, %ld checkpoints\n",
                (after_apply.first - before_apply.first) / 1e6,
                after_apply.second - before_apply.second);
    auto t_pending = clock_type::now();
    auto pending = store->pending_intents().size();
    double pending_s = seconds_since(t_pending);
    if (pending != 0)
      std::printf("write: %zu intents still pending (figure invalid)\n", pending);
    // The reads that follow these writes: start-up reconciliation (pending intents) and
    // `warmup status` (sends today, overdue) over a day holding every one of these sends.
    auto t_status = clock_type::now();
    auto summary = store->status(day_start + ms_per_day - 1, 5 * ms_per_minute);
    double status_s = seconds_since(t_status);
    std::printf("read:  pending intents %.3f s; status of a day with %llu sends %.3f s\n",
                pending_s, static_cast<unsigned long long>(summary.sends_today), status_s);

    // The same rows, each written once in its final state, by COPY through psql into a
    // table with the same indexes: the floor for any way of storing these sends.
    auto csv = dir + "/sends.csv";
    {
      std::ofstream out(csv);
      for (std::size_t i = 0; i < sends; ++i) {
        auto k = key_of(i);
        auto at = day_start + static_cast<time_ms>(i);
        out << k.day << ',' << k.mailbox << ',' << k.slot << ',' << ids[(i * 31) % ids.size()]
            << ",<" << to_string(k) << ".bench@warmup.test>," << at << ',' << at + 1 << ",sent,"
            << at + 500 << ",\n";
      }
    }
    run_command("psql '" + db_url
        + "' -qc 'CREATE TABLE bench_copy (LIKE send_intents INCLUDING ALL)' 2>&1");
    auto before_copy = server_counters();
    t0 = clock_type::now();
    auto copied = run_command("psql '" + db_url + "' -c \"\\copy bench_copy (day, mailbox, slot, "
                      "to_mailbox, message_id, planned_at, recorded_at, status, outcome_at, "
                      "detail) FROM '" + csv + "' WITH (FORMAT csv)\" 2>&1");
    double copy_s = seconds_since(t0);
    double copy_rate = static_cast<double>(sends) / copy_s;
    std::printf("copy:  psql \\copy of the same %zu sends (final rows) in %.2f s: %.0f sends/s "
                "(%s)\n",
                sends, copy_s, copy_rate, copied.c_str());
    auto after_copy = server_counters();
    std::printf("copy:  %.0f MB of WAL, %ld checkpoints\n",
                (after_copy.first - before_copy.first) / 1e6,
                after_copy.second - before_copy.second);

    // The same two writes per send the store makes (the intent before the send, its
    // outcome after), in bulk: COPY of the intent rows, then COPY of the outcome rows into
    // a staging table and one UPDATE from it (an outcome completes its intent's row).
    auto intents_csv = dir + "/intents.csv";
    auto outcomes_csv = dir + "/outcomes.csv";
    {
      std::ofstream in(intents_csv), out(outcomes_csv);
      for (std::size_t i = 0; i < sends; ++i) {
        auto k = key_of(i);
        auto at = day_start + static_cast<time_ms>(i);
        in << k.day << ',' << k.mailbox << ',' << k.slot << ',' << ids[(i * 31) % ids.size()]
           << ",<" << to_string(k) << ".bench@warmup.test>," << at << ',' << at + 1
           << ",pending\n";
        out << k.day << ',' << k.mailbox << ',' << k.slot << ",sent," << at + 500 << ",\n";
      }
    }
    run_command("psql '" + db_url
        + "' -qc 'CREATE TABLE bench_two_phase (LIKE send_intents INCLUDING ALL)' 2>&1");
    t0 = clock_type::now();
    auto copied_intents = run_command("psql '" + db_url
                                      + "' -c \"\\copy bench_two_phase (day, mailbox, "
                              "slot, to_mailbox, message_id, planned_at, recorded_at, status) "
                              "FROM '" + intents_csv + "' WITH (FORMAT csv)\" 2>&1");
    auto copied_outcomes = run_command(
      "psql '" + db_url + "' -q -v ON_ERROR_STOP=1 "
      "-c 'CREATE TEMP TABLE staged (day integer, mailbox bigint, slot integer, status text, "
      "outcome_at bigint, detail text)' "
      "-c \"\\copy staged FROM '" + outcomes_csv + "' WITH (FORMAT csv)\" "
      "-c \"UPDATE bench_two_phase t SET status = s.status, outcome_at = s.outcome_at, "
      "detail = s.detail FROM staged s WHERE t.day = s.day AND t.mailbox = s.mailbox AND "
      "t.slot = s.slot AND t.status = 'pending'\" 2>&1");
    double two_phase_s = seconds_since(t0);
    double two_phase_rate = static_cast<double>(sends) / two_phase_s;
    std::printf("copy:  the same two writes per send in bulk (COPY intents; COPY outcomes + one "
                "UPDATE) in %.2f s: %.0f sends/s (%s%s)\n",
                two_phase_s, two_phase_rate, copied_intents.c_str(),
                copied_outcomes.empty() ? "" : ("; " + copied_outcomes).c_str());
    // And the most literal reading: a raw COPY of the same rows, intent rows into a table
    // like send_intents and outcome rows into a table keyed like them, no UPDATE at all.
    run_command("psql '" + db_url + "' -qc 'CREATE TABLE bench_raw_intents (LIKE send_intents "
        "INCLUDING ALL)' -c 'CREATE TABLE bench_raw_outcomes (day integer, mailbox bigint, "
        "slot bigint, status text NOT NULL, outcome_at bigint, detail text, "
        "PRIMARY KEY (day, mailbox, slot))' 2>&1");
    t0 = clock_type::now();
    auto raw = run_command("psql '" + db_url
                           + "' -q -v ON_ERROR_STOP=1 -c \"\\copy bench_raw_intents "
                   "(day, mailbox, slot, to_mailbox, message_id, planned_at, recorded_at, "
                   "status) FROM '" + intents_csv + "' WITH (FORMAT csv)\" -c \"\\copy "
                   "bench_raw_outcomes FROM '" + outcomes_csv + "' WITH (FORMAT csv)\" 2>&1");
    double raw_s = seconds_since(t0);
    double raw_rate = static_cast<double>(sends) / raw_s;
    std::printf("copy:  raw COPY of the same rows (intent rows; outcome rows into a table keyed "
                "like them) in %.2f s: %.0f sends/s%s\n",
                raw_s, raw_rate, raw.empty() ? "" : (" (" + raw + ")").c_str());
    std::printf("ratio: apply_many / raw COPY of the same rows = %.2f (target >= 0.5)\n",
                raw_rate > 0 ? apply_rate / raw_rate : 0.0);
    std::printf("ratio: apply_many / COPY of the final rows = %.2f (the floor of any design)\n",
                apply_rate / copy_rate);
    std::printf("ratio: apply_many / the same two writes in bulk = %.2f\n",
                apply_rate / two_phase_rate);
  } catch (const std::exception& e) {
    std::printf("pg_bench: %s\n", e.what());
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
