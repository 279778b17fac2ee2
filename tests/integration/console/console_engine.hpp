// console_engine.hpp: an in-process engine node (demo pool, accelerated clock) with its
// console on an ephemeral loopback port, for the console's contract, load and browser tests.
#pragma once

#include "actors/node.hpp"
#include "app/console.hpp"
#include "app/demo_pool.hpp"
#include "messages/messages.hpp"
#include "storage/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

namespace warmup::test {

// 2026-01-05 07:50 UTC, a Monday just before the sending window opens.
constexpr time_ms console_test_start = 20458LL * ms_per_day + 7 * ms_per_hour + 50 * ms_per_minute;

class console_engine {
public:
  console_engine(const std::string& name, int mailboxes, double time_scale,
                 std::uint32_t shards, const std::string& token) {
    spdlog::set_level(spdlog::level::warn);
    dir_ = std::filesystem::temp_directory_path()
           / ("warmup-console-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = (dir_ / "warmup.db").string();
    cfg_.node.shard_count = shards;
    cfg_.node.name = "console-test";
    cfg_.clock.time_scale = time_scale;
    engine_store_ = std::shared_ptr<storage::store>(storage::open_sqlite(db));
    app::create_demo_pool(*engine_store_, cfg_, mailboxes, 7, console_test_start);
    console_store_ = storage::open_sqlite(db);
    sys_cfg_.set("scheduler.max-threads", 2);
    sys_cfg_.add_message_types<caf::id_block::warmup>();
    sys_ = std::make_unique<caf::actor_system>(sys_cfg_);
    node_ = std::make_unique<engine_node>(*sys_, cfg_,
                                          engine_clock::accelerated(console_test_start, time_scale),
                                          engine_store_);
    node_->start();
    app::console_options o;
    o.listen = "127.0.0.1:0";
    o.token = token;
    console_ = app::start_console(*node_, *console_store_, o);
  }
  ~console_engine() {
    console_->stop();
    node_->stop();
    node_.reset();
    sys_.reset();
    console_store_.reset();
    engine_store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::uint16_t port() const { return console_->port(); }
  std::string url() const { return console_->url(); }
  engine_node& node() { return *node_; }
  storage::store& store() { return *console_store_; }
  const config::engine_config& cfg() const { return cfg_; }

private:
  std::filesystem::path dir_;
  config::engine_config cfg_;
  std::shared_ptr<storage::store> engine_store_;
  std::unique_ptr<storage::store> console_store_;
  caf::actor_system_config sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<engine_node> node_;
  std::unique_ptr<app::console_handle> console_;
};

}  // namespace warmup::test
