// http_client.hpp: a blocking HTTP/1.1 client for tests of the console's server (one
// request per connection unless a stream is reused).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace warmup::test {

struct http_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;   // lower-case names
};

inline http_reply http_call(std::uint16_t port, const std::string& method,
                            const std::string& target, const std::string& body = {},
                            const std::string& token = {}, const std::string& host = "127.0.0.1") {
  namespace beast = boost::beast;
  namespace bhttp = beast::http;
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host), port));
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, host);
  if (!token.empty())
    req.set(bhttp::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buf, parser);
  auto& res = parser.get();
  http_reply out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace warmup::test
