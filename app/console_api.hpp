// console_api.hpp: the console's request router: API v1 (JSON), /metrics, /healthz,
// /readyz and the embedded web page, independent of the HTTP transport (tests call it
// directly or through the server).
#pragma once

#include "app/console.hpp"
#include "net/http_server.hpp"

#include <atomic>
#include <mutex>

namespace warmup::app {

class console_api {
public:
  console_api(engine_node& node, storage::store& store, console_options opts);

  http::response handle(const http::request& r);
  // Requests answered (for /metrics), counted by handle().
  std::uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

private:
  http::response route(const http::request& r);
  http::response status();
  http::response node_info();
  http::response shards();
  http::response shard(shard_id id);
  http::response list_mailboxes(const http::request& r);
  http::response mailbox(mailbox_id id, const http::request& r);
  http::response create_mailbox(const http::request& r);
  http::response patch_mailbox(mailbox_id id, const http::request& r);
  http::response remove_mailbox(mailbox_id id);
  http::response change_state(mailbox_id id, bool pause);
  http::response metrics();
  http::response ready();
  bool authorised(const http::request& r) const;

  engine_node& node_;
  storage::store& store_;
  std::mutex store_mutex_;   // one connection, many HTTP threads
  console_options opts_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace warmup::app
