// pg_startup.cpp: node start-up on PostgreSQL with 100,000 mailboxes: the pool loaded,
// leases taken, every shard and mailbox actor running (engine_node::start on open_store).
// Starts its own server; prints seconds (target < 10 s); asserts nothing.
#include "actors/node.hpp"
#include "messages/messages.hpp"
#include "storage/open_store.hpp"

#include "bench/pg_server.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace warmup;

namespace {

storage::mailbox_record startup_mailbox(std::size_t i) {
  storage::mailbox_record r;
  r.settings.email = "box" + std::to_string(i) + "@start" + std::to_string(i % 97) + ".test";
  r.settings.display_name = "Start Box " + std::to_string(i);
  r.settings.provider = i % 2 == 0 ? "gmail.sim" : "outlook.sim";
  r.settings.timezone = i % 3 == 0 ? "Europe/Berlin" : "UTC";
  r.settings.created_day = 20000;
  r.created_at = r.updated_at = 1'728'000'000'000;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mailboxes = argc > 1 ? std::stoul(argv[1]) : 100'000;
  bench::pg_server pg("pg-startup", false);
  if (!pg.up()) {
    std::printf("pg_startup: the server did not start: %s\n", pg.answer().c_str());
    return 1;
  }
  const std::string& server = pg.answer();
  try {
    {
      std::vector<storage::mailbox_record> records;
      for (std::size_t i = 0; i < mailboxes; ++i)
        records.push_back(startup_mailbox(i));
      storage::open_store(server, "")->add_mailboxes(records);
    }
    config::engine_config cfg;
    cfg.store.database_url = server;
    cfg.node.name = "startup-bench";
    caf::actor_system_config sys_cfg;
    sys_cfg.set("scheduler.max-threads", cfg.node.scheduler_threads);
    sys_cfg.add_message_types<caf::id_block::warmup>();
    caf::actor_system sys{sys_cfg};
    auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<storage::store> store = storage::open_store(server, "");
    auto open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Engine time stands still: the measure is the start-up, not the first day's work.
    engine_node node(sys, cfg, engine_clock::manual(20000LL * ms_per_day), store);
    auto rep = node.start();
    auto total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("pg_startup: %zu mailboxes, %zu shards: open %.3f s, engine_node::start %.2f s "
                "(load, register, leases, reconcile, seeds, spawn), total %.2f s (target < 10 s)\n",
                rep.mailboxes, rep.shards, open_s, rep.seconds, total_s);
    node.stop();
  } catch (const std::exception& e) {
    std::printf("pg_startup: %s\n", e.what());
  }
  return 0;
}
