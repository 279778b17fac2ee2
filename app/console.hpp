// console.hpp: the node's introspection console: JSON API v1, the web page, /metrics,
// /healthz and /readyz, served over HTTP on the console's own threads.
#pragma once

#include "storage/store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace warmup {
class engine_node;
}

namespace warmup::app {

struct console_options {
  // HOST:PORT to bind ("127.0.0.1:8025", "[::1]:0", "0.0.0.0:8025"); port 0 picks a free one.
  std::string listen = "127.0.0.1:8025";
  // Bearer token for the API, the console's data and /metrics. Empty: the console binds
  // loopback addresses only (start_console refuses any other).
  std::string token;
  std::size_t threads = 2;                               // HTTP I/O threads
  std::chrono::milliseconds ask_timeout{2000};           // per CAF request to a shard
};

class console_handle {
public:
  virtual ~console_handle() = default;
  // "http://127.0.0.1:43121/" (the bound port, IPv6 hosts in brackets).
  virtual std::string url() const = 0;
  virtual std::uint16_t port() const = 0;
  // Stops serving; safe to call twice. Call it before engine_node::stop().
  virtual void stop() = 0;
};

// Starts the console of `node` (started already). `store` is a connection of the
// console's own, opened for writing (e.g. storage::open_sqlite(db_path)): never the one
// the node's store gateway uses (a store connection is not shared across threads). Both
// must outlive the handle. Throws std::invalid_argument for a bad or non-loopback address
// without a token, std::runtime_error when the bind fails.
std::unique_ptr<console_handle> start_console(engine_node& node, storage::store& store,
                                              console_options opts);

// Splits "HOST:PORT" / "[V6]:PORT"; throws std::invalid_argument naming `listen`.
std::pair<std::string, std::uint16_t> parse_listen_address(const std::string& listen);
// True for 127.0.0.0/8 and ::1.
bool is_loopback_address(const std::string& host);

}  // namespace warmup::app
