// api_client.hpp: the CLI's blocking HTTP client of a running node's console API, and how
// the CLI finds that node (--node, WARMUP_NODE_URL, console.listen, the store's console.url).
#pragma once

#include "config/config.hpp"
#include "storage/store.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace warmup::app {

// No node answered at the URL (refused, unreachable, timed out, not HTTP): the caller
// falls back to the store or reports that no node runs.
struct node_unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The node answered with an error status; what() is the API's own "error" text.
struct api_error : std::runtime_error {
  api_error(int status_code, const std::string& message)
    : std::runtime_error(message), status(status_code) {}
  int status;
};

// "http://host:port/" split into its parts (http only: the console serves plain HTTP).
struct node_url {
  std::string host;   // without brackets for IPv6
  std::uint16_t port = 80;
  std::string text;   // normalised: "http://127.0.0.1:8025" (no trailing slash)
};

// Parses "http://HOST:PORT[/]", "HOST:PORT" or "[V6]:PORT"; nullopt when not one of them.
std::optional<node_url> parse_node_url(const std::string& text);

// The URL of this configuration's node console, in this order: `flag` (--node), the
// WARMUP_NODE_URL variable, console.listen (0.0.0.0 and :: connect to loopback; port 0
// is looked up in the store's meta "console.url", which the node writes once its console
// is bound). nullopt when none is known (console "off", port 0 without a store entry).
std::optional<std::string> find_node_url(const config::engine_config& cfg,
                                         storage::store* store, const std::string& flag);

struct api_response {
  int status = 0;
  std::string body;
};

class api_client {
public:
  // `connect_timeout` bounds reaching the node (the CLI's "is a node there?" wait);
  // `answer_timeout` bounds each request once connected (shard views take up to 2 s).
  api_client(node_url url, std::string token,
             std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(1000),
             std::chrono::milliseconds answer_timeout = std::chrono::milliseconds(10000));

  // One request on a fresh connection. Throws node_unreachable when no HTTP answer came.
  api_response request(const std::string& method, const std::string& target,
                       const std::string& body = {}) const;
  // request() whose 2xx body is parsed as JSON; throws api_error on any other status
  // (401 names console.token), node_unreachable when the body is not JSON.
  nlohmann::json call(const std::string& method, const std::string& target,
                      const std::string& body = {}) const;
  nlohmann::json get(const std::string& target) const { return call("GET", target); }
  // GET of a text resource (/metrics); throws like call().
  std::string get_text(const std::string& target) const;

  const std::string& url() const { return url_.text; }

private:
  node_url url_;
  std::string token_;
  std::chrono::milliseconds connect_timeout_;
  std::chrono::milliseconds answer_timeout_;
};

// A client for the configured node when one answers GET /healthz within the connect
// timeout; nullopt otherwise (nothing is printed).
std::optional<api_client> reach_node(const config::engine_config& cfg, storage::store* store,
                                     const std::string& flag);

// Percent-encodes a query value.
std::string url_encode(const std::string& value);

}  // namespace warmup::app
