// run.cpp: `warmup run`: logging, the store, the demo pool, the clock, the actor system and
// the node; runs until SIGINT/SIGTERM or --for, then stops cleanly.
#include "app/run.hpp"

#include "actors/node.hpp"
#include "app/demo_pool.hpp"
#include "app/console.hpp"
#include "app/declared_mailboxes.hpp"
#include "app/logging.hpp"
#include "app/secrets.hpp"
#include "net/secret_box.hpp"
#include "storage/open_store.hpp"
#include "messages/messages.hpp"
#include "warmup/calendar.hpp"
#include "warmup/random.hpp"
#include "warmup/ramp.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

namespace warmup::app {

namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
}

time_ms parse_start(const std::string& text) {
  day_number d = 0;
  if (text.size() >= 10 && parse_day(text.substr(0, 10), d)) {
    int minute = 0;
    if (text.size() >= 16 && text[10] == 'T')
      minute = std::stoi(text.substr(11, 2)) * 60 + std::stoi(text.substr(14, 2));
    return static_cast<time_ms>(d) * ms_per_day + minute * ms_per_minute;
  }
  return -1;
}

}  // namespace

int run_node(const config::engine_config& cfg_in, const run_options& opts) {
  auto cfg = cfg_in;
  setup_logging(cfg.log);
  for (auto& notice : cfg.notices)
    spdlog::warn("event=config_notice message=\"{}\"", notice);
  const auto network = parse_transport_kind(cfg.transport).value_or(transport_kind::sandbox);
  if (network == transport_kind::smtp) {
    // Fail now, not at the first send, when the stored secrets cannot be opened.
    try {
      net::secret_box::from_env();
    } catch (const std::exception& e) {
      std::cerr << "warmup run: transport smtp needs WARMUP_SECRET_KEY: " << e.what() << "\n";
      return 2;
    }
  }
  if (opts.demo && network != transport_kind::sandbox) {
    std::cerr << "warmup run: --demo creates sandbox (simulated) mailboxes, but transport is \""
              << cfg.transport << "\"; drop --demo or set transport = \"sandbox\"\n";
    return 2;
  }
  if (opts.seed)
    cfg.sandbox.seed = *opts.seed;
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    std::cerr << "warmup run: cannot create data directory " << cfg.data_dir << ": "
              << ec.message() << "\n";
    return 1;
  }
  const bool embedded = cfg.store.database_url.empty();
  const auto store_name = embedded ? storage::sqlite_path_in(cfg.data_dir)
                                   : storage::redact_url(cfg.store.database_url);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::shared_ptr<storage::store> store;
  // A database server may come up after the node (boot order, a failover): retry with
  // capped backoff, each attempt logged (store errors never hold the password). The
  // embedded store's failures are local and final. --no-wait: exit 2 at once.
  for (int attempt = 1;; ++attempt) {
    try {
      store = storage::open_store(cfg.store.database_url, cfg.data_dir);
      if (attempt > 1)
        spdlog::info("event=store_connected attempts={} store={}", attempt, store_name);
      break;
    } catch (const storage::schema_too_new& e) {
      std::cerr << "warmup run: " << e.what() << "\n";
      return 1;
    } catch (const std::exception& e) {
      if (embedded) {
        std::cerr << "warmup run: " << e.what() << "\n";
        return 1;
      }
      if (opts.no_wait) {
        std::cerr << "warmup run: the database is unreachable (" << store_name << "): " << e.what()
                  << "\n(--no-wait: not retrying)\n";
        return 2;
      }
      auto wait_ms = std::min<std::int64_t>(30000, 500LL << std::min(attempt - 1, 6));
      spdlog::error("event=store_unreachable_at_start attempt={} retry_in_ms={} store={} "
                    "error=\"{}\"",
                    attempt, wait_ms, store_name, e.what());
      if (attempt == 1)
        std::cerr << "warmup run: the database is unreachable (" << store_name
                  << "); retrying with backoff (Ctrl-C stops; --no-wait exits at once)\n";
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
      while (std::chrono::steady_clock::now() < until && stop_signal.load() == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop_signal.load() != 0)
        return 1;
    }
  }

  // Engine time: continue where the last run stopped (a restart continues the same
  // simulated day), else the configured start, else now.
  time_ms start = engine_clock::system_now();
  if (auto saved = store->get_meta("engine.now_ms"); saved && cfg.clock.time_scale != 1.0)
    start = std::stoll(*saved);
  else if (!cfg.clock.start.empty())
    start = parse_start(cfg.clock.start);
  try {
    if (auto added = add_declared_mailboxes(cfg, *store, start, whole_environment()))
      spdlog::info("event=declared_mailboxes_added count={}", added);
  } catch (const bad_input& e) {
    std::cerr << "warmup run: " << e.what() << "\n";
    return 2;
  }
  if (opts.demo && store->count_mailboxes(storage::mailbox_filter{}) == 0) {
    create_demo_pool(*store, cfg, *opts.demo, cfg.sandbox.seed, start);
    spdlog::info("event=demo_pool_created mailboxes={} providers={} note=\"sandbox "
                 "simulation: no real mail is sent\"",
                 *opts.demo, cfg.sandbox.providers.size());
  }
  auto clock = cfg.clock.time_scale == 1.0 ? engine_clock::real_time()
                                           : engine_clock::accelerated(start, cfg.clock.time_scale);

  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", cfg.node.scheduler_threads);
  sys_cfg.add_message_types<caf::id_block::warmup>();
  caf::actor_system sys{sys_cfg};
  int rc = 0;
  {
    engine_node node(sys, cfg, clock, store);
    if (!embedded && cfg.console.listen != "off") {
      auto co = node.cluster();
      co.address = cfg.console.listen;
      node.use_cluster(co);
    }
    if (network == transport_kind::smtp) {
      auto mail = mail_options_of(cfg.mail);
      mail.seal_secret = seal_account_secret;
      node.use_real_mail(open_account_secret, std::move(mail));
    }
    try {
      node.start();
    } catch (const std::exception& e) {
      std::cerr << "warmup run: start-up failed: " << e.what() << "\n";
      return 1;
    }
    std::unique_ptr<storage::store> console_store;
    std::unique_ptr<console_handle> console;
    if (cfg.console.listen != "off") {
      try {
        // The console's own connection: a store connection is never shared across threads.
        console_store = storage::open_store(cfg.store.database_url, cfg.data_dir);
        console_options co;
        co.listen = cfg.console.listen;
        co.token = cfg.console.token;
        console = start_console(node, *console_store, co);
        // The CLI finds a console bound to port 0 here (its own connection: the other two
        // belong to the node's and the console's threads).
        storage::open_store(cfg.store.database_url, cfg.data_dir)
          ->put_meta("console.url", console->url());
      } catch (const std::exception& e) {
        std::cerr << "warmup run: console on " << cfg.console.listen << ": " << e.what()
                  << "\n(choose another address with --console HOST:PORT, or --console off)\n";
        node.stop();
        return 2;
      }
      std::cout << "warmup: console at " << console->url() << std::endl;
    }
    std::cout << "warmup: node running on " << store_name
              << (network == transport_kind::smtp ? " (real mail over SMTP/IMAP)"
                                                  : " (sandbox mail network: a simulation)")
              << ", time scale " << cfg.clock.time_scale
              << ". Watch it with: warmup status --data " << cfg.data_dir << std::endl;
    auto t0 = std::chrono::steady_clock::now();
    auto last_report = t0;
    while (stop_signal.load() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto wall = std::chrono::steady_clock::now();
      if (opts.for_seconds
          && std::chrono::duration<double>(wall - t0).count() >= *opts.for_seconds)
        break;
      if (wall - last_report >= std::chrono::seconds(5)) {
        last_report = wall;
        auto& c = node.context().counters;
        auto inbox = c.inbox.load();
        auto spam = c.spam.load();
        auto v = node.status();
        auto by = [&](mailbox_state s) { return v.by_state[static_cast<std::size_t>(s)]; };
        spdlog::info("event=progress engine_time={} sends={} receipts={} inbox={} spam={} "
                     "inbox_rate={:.3f} replies={} rescued={} skipped={} active={} "
                     "throttled={} paused={} disconnected={} restarting={} shards_missing={}",
                     format_day(static_cast<day_number>(node.context().clock.now() / ms_per_day)),
                     c.sends.load(), c.receipts.load(), inbox, spam,
                     inbox + spam ? double(inbox) / double(inbox + spam) : 0.0,
                     c.replies.load(), c.rescued.load(), c.skipped.load(),
                     by(mailbox_state::active), by(mailbox_state::throttled),
                     by(mailbox_state::paused), by(mailbox_state::disconnected),
                     by(mailbox_state::restarting), v.shards_missing);
      }
    }
    if (auto sig = stop_signal.load())
      spdlog::info("event=stop_requested signal={}", sig);
    if (console) {
      console->stop();
      // The CLI must not find this port later (another process may have it by then);
      // cleared only while it is still ours (several nodes may share one store).
      try {
        if (console_store->get_meta("console.url") == console->url())
          console_store->put_meta("console.url", "");
      } catch (const std::exception& e) {
        spdlog::warn("event=console_url_not_cleared error=\"{}\"", e.what());
      }
    }
    if (!node.stop())
      rc = 1;
  }
  return rc;
}

}  // namespace warmup::app
