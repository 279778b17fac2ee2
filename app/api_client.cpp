// api_client.cpp: HTTP/1.1 requests to the node console with Boost.Beast; each request is
// asynchronous on a private io_context run to completion, so connect and answer timeouts
// hold (Beast's synchronous calls have none).
#include "app/api_client.hpp"

#include "app/console.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>

namespace warmup::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// The address a client uses to reach a console bound to `host`.
std::string connect_host(const std::string& host) {
  if (host == "0.0.0.0" || host.empty())
    return "127.0.0.1";
  if (host == "::")
    return "::1";
  return host;
}

}  // namespace

std::optional<node_url> parse_node_url(const std::string& text) {
  std::string rest = text;
  if (rest.rfind("http://", 0) == 0)
    rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos)
    return std::nullopt;   // https or anything else: the console serves plain HTTP
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    return std::nullopt;
  try {
    auto [host, port] = parse_listen_address(rest);
    if (port == 0 || host.empty())
      return std::nullopt;
    node_url u;
    u.host = host;
    u.port = port;
    u.text = "http://" + host_for_url(host) + ":" + std::to_string(port);
    return u;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> find_node_url(const config::engine_config& cfg,
                                         storage::store* store, const std::string& flag) {
  if (!flag.empty())
    return flag;
  if (const char* env = std::getenv("WARMUP_NODE_URL"); env != nullptr && *env != '\0')
    return std::string(env);
  if (cfg.console.listen.empty() || cfg.console.listen == "off")
    return std::nullopt;
  std::pair<std::string, std::uint16_t> listen;
  try {
    listen = parse_listen_address(cfg.console.listen);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (listen.second == 0) {
    // A free port chosen at start: only the node knows it, and it wrote it to the store.
    if (store == nullptr)
      return std::nullopt;
    try {
      auto url = store->get_meta("console.url");
      if (url && url->empty())
        return std::nullopt;   // the node that wrote it stopped cleanly
      return url;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return "http://" + host_for_url(connect_host(listen.first)) + ":"
         + std::to_string(listen.second);
}

api_client::api_client(node_url url, std::string token, std::chrono::milliseconds connect_timeout,
                       std::chrono::milliseconds answer_timeout)
  : url_(std::move(url)),
    token_(std::move(token)),
    connect_timeout_(connect_timeout),
    answer_timeout_(answer_timeout) {}

api_response api_client::request(const std::string& method, const std::string& target,
                                 const std::string& body) const {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, url_.host + ":" + std::to_string(url_.port));
  req.set(bhttp::field::user_agent, "warmup-cli/" WARMUP_VERSION);
  req.set(bhttp::field::connection, "close");
  if (!token_.empty())
    req.set(bhttp::field::authorization, "Bearer " + token_);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code failure;
  const char* stage = "connect";

  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
  if (ec)
    throw node_unreachable("no node at " + url_.text + ": " + ec.message());
  stream.expires_after(connect_timeout_);
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      failure = e;
      return;
    }
    stage = "answer";
    stream.expires_after(answer_timeout_);
    bhttp::async_write(stream, req, [&](beast::error_code we, std::size_t) {
      if (we) {
        failure = we;
        return;
      }
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code re, std::size_t) {
        failure = re;
      });
    });
  });
  ioc.run();
  if (failure)
    throw node_unreachable("no " + std::string(stage) + " from the node at " + url_.text + ": "
                           + failure.message());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  api_response res;
  res.status = static_cast<int>(parser.get().result_int());
  res.body = std::move(parser.get().body());
  return res;
}

nlohmann::json api_client::call(const std::string& method, const std::string& target,
                                const std::string& body) const {
  auto res = request(method, target, body);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(res.body);
  } catch (const std::exception&) {
    if (res.status >= 200 && res.status < 300)
      throw node_unreachable("the server at " + url_.text + " answered " + target
                             + " with something that is not JSON: is it a warmup node?");
  }
  if (res.status == 401)
    throw api_error(401, "the node at " + url_.text + " refused the bearer token: set "
                         "console.token (or WARMUP_CONSOLE_TOKEN) to the node's token");
  if (res.status < 200 || res.status >= 300) {
    std::string message = j.is_object() && j.contains("error") && j["error"].is_string()
                            ? j["error"].get<std::string>()
                            : "HTTP status " + std::to_string(res.status);
    throw api_error(res.status, "the node at " + url_.text + " answered " + method + " "
                                  + target + ": " + message);
  }
  return j;
}

std::string api_client::get_text(const std::string& target) const {
  auto res = request("GET", target);
  if (res.status == 401)
    throw api_error(401, "the node at " + url_.text + " refused the bearer token: set "
                         "console.token (or WARMUP_CONSOLE_TOKEN) to the node's token");
  if (res.status < 200 || res.status >= 300)
    throw api_error(res.status, "the node at " + url_.text + " answered GET " + target
                                  + " with HTTP status " + std::to_string(res.status));
  return res.body;
}

std::optional<api_client> reach_node(const config::engine_config& cfg, storage::store* store,
                                     const std::string& flag) {
  auto text = find_node_url(cfg, store, flag);
  if (!text)
    return std::nullopt;
  auto url = parse_node_url(*text);
  if (!url)
    return std::nullopt;
  api_client client(*url, cfg.console.token);
  // The probe bounds the whole answer too: a port that accepts but never answers is no node.
  api_client probe_client(*url, cfg.console.token, std::chrono::milliseconds(1000),
                          std::chrono::milliseconds(1000));
  try {
    auto probe = probe_client.request("GET", "/healthz");
    if (probe.status != 200)
      return std::nullopt;
  } catch (const node_unreachable&) {
    return std::nullopt;
  }
  return client;
}

std::string url_encode(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
        || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace warmup::app
