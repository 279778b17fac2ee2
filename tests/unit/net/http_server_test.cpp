// http_server_test.cpp: the console's HTTP server: routing data to the handler (path,
// decoded query, headers, body), the body limit, keep-alive, a handler that throws,
// timeouts of idle connections, and a clean stop.
#include "net/http_server.hpp"
#include "tests/unit/net/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace warmup;
namespace bhttp = boost::beast::http;

namespace {

http::response echo(const http::request& r) {
  if (r.path == "/boom")
    throw std::runtime_error("handler failed");
  http::response res;
  res.content_type = "text/plain";
  res.body = r.method + " " + r.path + " q=" + (r.query.count("q") ? r.query.at("q") : "-")
             + " auth=" + r.header("authorization") + " body=" + r.body;
  return res;
}

}  // namespace

TEST(HttpServer, AnswersWithPathQueryHeadersAndBody) {
  http::server srv({}, echo);
  srv.start();
  ASSERT_NE(srv.port(), 0);
  auto r = test::http_call(srv.port(), "POST", "/a%20b/c?q=x%2By+z&other=1", "{\"k\":1}", "tok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /a b/c q=x+y z auth=Bearer tok body={\"k\":1}");
  EXPECT_EQ(r.headers["content-type"], "text/plain");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  srv.stop();
  EXPECT_GE(srv.requests_served(), 1u);
}

TEST(HttpServer, RefusesBodiesOverTheLimitWith413) {
  http::server_options o;
  o.body_limit = 1024;
  http::server srv(o, echo);
  srv.start();
  auto ok = test::http_call(srv.port(), "POST", "/", std::string(1000, 'a'));
  EXPECT_EQ(ok.status, 200);
  auto big = test::http_call(srv.port(), "POST", "/", std::string(5000, 'a'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("too large"), std::string::npos);
}

TEST(HttpServer, AThrowingHandlerIsA500WithoutDetails) {
  http::server srv({}, echo);
  srv.start();
  auto r = test::http_call(srv.port(), "GET", "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("handler failed"), std::string::npos);
}

TEST(HttpServer, KeepsAConnectionAliveForSeveralRequests) {
  http::server srv({}, echo);
  srv.start();
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
  for (int i = 0; i < 3; ++i) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/n?q=" + std::to_string(i), 11};
    req.keep_alive(true);
    bhttp::write(stream, req);
    boost::beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_NE(res.body().find("q=" + std::to_string(i)), std::string::npos);
  }
}

TEST(HttpServer, AnswersHeadWithTheHeadersOfGetAndNoBody) {
  http::server srv({}, echo);
  srv.start();
  auto get = test::http_call(srv.port(), "GET", "/page");
  ASSERT_EQ(get.status, 200);
  // A raw socket: what the server writes after the headers is exactly what must be absent.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
  boost::asio::write(sock, boost::asio::buffer(std::string(
                               "HEAD /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string raw;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) {
    auto n = sock.read_some(boost::asio::buffer(buf), ec);
    raw.append(buf, n);
  }
  auto end = raw.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << raw;
  EXPECT_EQ(raw.substr(0, 12), "HTTP/1.1 200");
  // echo() answers "<method> <path> ...": GET's body is one byte longer than HEAD's would be.
  auto head_length = get.body.size() + 1;
  EXPECT_NE(raw.find("Content-Length: " + std::to_string(head_length) + "\r\n"),
            std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Type: text/plain"), std::string::npos) << raw;
  EXPECT_EQ(raw.size(), end + 4) << "bytes after the headers: " << raw.substr(end + 4);
}

TEST(HttpServer, ClosesIdleConnectionsAfterTheTimeout) {
  http::server_options o;
  o.read_timeout = std::chrono::milliseconds(200);
  http::server srv(o, echo);
  srv.start();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
  // Half a request, then silence: the server must hang up by itself.
  boost::asio::write(sock, boost::asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")));
  auto t0 = std::chrono::steady_clock::now();
  char buf[256];
  boost::system::error_code ec;
  sock.read_some(boost::asio::buffer(buf), ec);   // returns when the server closes
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(ec);
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(HttpServer, StopsWhileAClientHoldsAConnection) {
  http::server srv({}, echo);
  srv.start();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
  auto t0 = std::chrono::steady_clock::now();
  srv.stop();
  srv.stop();   // twice is fine
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_THROW(test::http_call(srv.port(), "GET", "/"), std::exception);
}

TEST(HttpServer, ABusyPortIsAnErrorNamingTheAddress) {
  http::server first({}, echo);
  first.start();
  http::server_options o;
  o.port = first.port();
  http::server second(o, echo);
  try {
    second.start();
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos);
  }
}

TEST(HttpServer, UrlDecodeAndConstantTimeCompare) {
  EXPECT_EQ(http::url_decode("a%2Fb%zz%4"), "a/b%zz%4");
  EXPECT_EQ(http::url_decode("a+b", true), "a b");
  EXPECT_EQ(http::url_decode("a+b", false), "a+b");
  EXPECT_TRUE(http::constant_time_equal("secret", "secret"));
  EXPECT_FALSE(http::constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(http::constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(http::constant_time_equal("", "x"));
  EXPECT_TRUE(http::constant_time_equal("", ""));
}
