// console.cpp: start_console: checks the address and the token rule, then serves the
// console API on an HTTP server of its own.
#include "app/console.hpp"

#include "actors/node.hpp"
#include "app/console_api.hpp"
#include "net/http_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace warmup::app {

std::pair<std::string, std::uint16_t> parse_listen_address(const std::string& listen) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("console address \"" + listen + "\": " + why
                                 + " (expected HOST:PORT, e.g. 127.0.0.1:8025 or [::1]:8025)");
  };
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      throw bad("an IPv6 host needs brackets and a port");
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos)
      throw bad("no port");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host == "localhost")
    host = "127.0.0.1";
  if (host.empty())
    throw bad("no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
      || std::stoul(port) > 65535)
    throw bad("the port must be a number from 0 to 65535");
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec)
    throw bad("the host must be a numeric IP address");
  return {host, static_cast<std::uint16_t>(std::stoul(port))};
}

bool is_loopback_address(const std::string& host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

namespace {

class running_console final : public console_handle {
public:
  running_console(engine_node& node, storage::store& store, console_options opts,
                  std::string host, std::uint16_t port)
    : api_(node, store, opts), host_(std::move(host)) {
    http::server_options so;
    so.host = host_;
    so.port = port;
    so.threads = opts.threads;
    server_ = std::make_unique<http::server>(so, [this](const http::request& r) {
      return api_.handle(r);
    });
    server_->start();
  }
  ~running_console() override { stop(); }

  std::string url() const override {
    auto h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
    return "http://" + h + ":" + std::to_string(server_->port()) + "/";
  }
  std::uint16_t port() const override { return server_->port(); }
  void stop() override { server_->stop(); }

private:
  console_api api_;
  std::string host_;
  std::unique_ptr<http::server> server_;
};

}  // namespace

std::unique_ptr<console_handle> start_console(engine_node& node, storage::store& store,
                                              console_options opts) {
  auto [host, port] = parse_listen_address(opts.listen);
  if (opts.token.empty() && !is_loopback_address(host))
    throw std::invalid_argument(
      "console address \"" + opts.listen
      + "\" is not a loopback address and no console.token is set: set console.token "
        "(WARMUP_CONSOLE_TOKEN) or bind 127.0.0.1");
  auto console = std::make_unique<running_console>(node, store, opts, host, port);
  if (opts.token.empty())
    spdlog::warn("event=console_without_token url={} note=\"no console.token: the console and "
                 "its API answer anyone on this machine (loopback only)\"",
                 console->url());
  else
    spdlog::info("event=console_started url={} auth=bearer", console->url());
  return console;
}

}  // namespace warmup::app
