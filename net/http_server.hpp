// http_server.hpp: a small HTTP/1.1 server (Boost.Beast) on its own I/O threads for the
// introspection console: bounded requests, read and idle timeouts, keep-alive, clean stop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace warmup::http {

struct request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: path and query
  std::string path;                            // percent-decoded, without the query
  std::map<std::string, std::string> query;    // percent-decoded; last value of a key wins
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent (`name` lower-case).
  const std::string& header(const std::string& name) const;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;   // extra headers
};

// Called on one of the server's I/O threads; may block briefly (it holds that thread).
// An exception becomes a 500 with a JSON error naming no internals.
using handler = std::function<response(const request&)>;

struct server_options {
  std::string host = "127.0.0.1";     // numeric address to bind
  std::uint16_t port = 0;             // 0: the system picks one (see server::port())
  std::size_t threads = 2;            // I/O threads (handlers run on them)
  std::size_t body_limit = 64 * 1024; // larger bodies are answered 413
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{10'000};   // a request must arrive whole within this
  std::chrono::milliseconds idle_timeout{30'000};   // a kept-alive connection closes after this
};

class server {
public:
  server(server_options opts, handler h);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts the I/O threads; throws std::runtime_error naming the address when
  // the bind fails (in use, bad address).
  void start();
  // Stops accepting, closes every connection, joins the threads. Safe to call twice.
  void stop();

  std::uint16_t port() const;   // the bound port (after start)
  const std::string& host() const;
  // Requests answered since start (all statuses).
  std::uint64_t requests_served() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// Percent-decoding of a URL component ('+' as space when `form`); invalid escapes are
// kept as they are.
std::string url_decode(std::string_view s, bool form = false);

// Compares two secrets in time independent of where they differ (length leaks only).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace warmup::http
