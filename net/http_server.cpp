// http_server.cpp: the console's HTTP/1.1 server: one acceptor, a strand per connection,
// Beast parsers with body and header limits, timeouts on every read.
#include "net/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace warmup::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

const std::string& request::header(const std::string& name) const {
  static const std::string none;
  auto it = headers.find(name);
  return it == headers.end() ? none : it->second;
}

std::string url_decode(std::string_view s, bool form) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(form && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer input is visited whatever the contents.
  auto n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

request to_request(const bhttp::request<bhttp::string_body>& in) {
  request r;
  r.method = std::string(in.method_string());
  r.target = std::string(in.target());
  auto q = r.target.find('?');
  r.path = url_decode(std::string_view(r.target).substr(0, q));
  if (q != std::string::npos) {
    std::string_view rest = std::string_view(r.target).substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      auto part = rest.substr(0, amp);
      auto eq = part.find('=');
      if (!part.empty())
        r.query[url_decode(part.substr(0, eq), true)]
          = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1), true);
      if (amp == std::string_view::npos)
        break;
      rest.remove_prefix(amp + 1);
    }
  }
  for (const auto& f : in) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.headers[name] = std::string(f.value());
  }
  r.body = in.body();
  return r;
}

const char* json_error_body(int status) {
  switch (status) {
    case 400:
      return R"({"error":"malformed HTTP request"})";
    case 413:
      return R"({"error":"request too large: the body limit is 64 KiB"})";
    default:
      return R"({"error":"internal error while answering; see the node's log"})";
  }
}

}  // namespace

struct server::impl {
  server_options opts;
  handler on_request;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;
  std::atomic<std::uint64_t> served{0};
  std::atomic<bool> stopping{false};
  bool started = false;

  class session;
  std::mutex sessions_mutex;
  std::list<std::weak_ptr<session>> sessions;

  impl(server_options o, handler h) : opts(std::move(o)), on_request(std::move(h)) {}

  void accept();
  void track(const std::shared_ptr<session>& s);
};

class server::impl::session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket sock, impl* owner) : stream_(std::move(sock)), owner_(owner) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(true); });
  }

  // Closes the connection from any thread (server stop).
  void close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

private:
  void read(bool first) {
    parser_.emplace();
    parser_->body_limit(owner_->opts.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(owner_->opts.header_limit));
    // The first request must arrive within the read timeout; a kept-alive connection may
    // wait for its next request up to the idle timeout.
    stream_.expires_after(first ? owner_->opts.read_timeout : owner_->opts.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_read(ec);
                      });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
      reply_error(413);
      return;
    }
    if (ec == bhttp::error::end_of_stream || ec) {
      if (ec && ec != bhttp::error::end_of_stream && ec != beast::error::timeout
          && ec != asio::error::operation_aborted && ec != asio::error::eof
          && parser_ && parser_->got_some()) {
        reply_error(400);
        return;
      }
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto& in = parser_->get();
    response out;
    try {
      out = owner_->on_request(to_request(in));
    } catch (const std::exception&) {
      out.status = 500;
      out.body = json_error_body(500);
    }
    res_ = {};
    res_.version(in.version());
    res_.result(static_cast<unsigned>(out.status));
    res_.set(bhttp::field::server, "warmup");
    res_.set(bhttp::field::content_type, out.content_type);
    res_.set(bhttp::field::cache_control, "no-store");
    for (auto& [k, v] : out.headers)
      res_.set(k, v);
    res_.body() = std::move(out.body);
    res_.keep_alive(in.keep_alive() && !owner_->stopping.load());
    head_ = in.method() == bhttp::verb::head;
    write();
  }

  void reply_error(int status) {
    head_ = false;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(status));
    res_.set(bhttp::field::content_type, "application/json");
    res_.body() = json_error_body(status);
    res_.keep_alive(false);
    write();
  }

  void write() {
    res_.prepare_payload();
    if (head_) {
      // HEAD (RFC 9110 9.3.2): the headers a GET would get, Content-Length included, and
      // no body; a client reading one would take it for the start of the next response.
      auto length = res_.body().size();
      res_.body().clear();
      res_.content_length(length);
    }
    stream_.expires_after(owner_->opts.read_timeout);
    bhttp::async_write(stream_, res_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->owner_->served.fetch_add(1, std::memory_order_relaxed);
                         if (ec)
                           return;
                         if (!self->res_.keep_alive()) {
                           beast::error_code ignored;
                           self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                           return;
                         }
                         self->read(false);
                       });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  bool head_ = false;   // res_ answers a HEAD request: headers only
  impl* owner_;
};

void server::impl::track(const std::shared_ptr<session>& s) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  sessions.remove_if([](const std::weak_ptr<session>& w) { return w.expired(); });
  sessions.push_back(s);
}

void server::impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket sock) {
    if (ec || stopping.load())
      return;  // the acceptor was closed (stop) or failed: no more connections
    auto s = std::make_shared<session>(std::move(sock), this);
    track(s);
    s->run();
    accept();
  });
}

server::server(server_options opts, handler h)
  : impl_(std::make_unique<impl>(std::move(opts), std::move(h))) {}

server::~server() {
  stop();
}

void server::start() {
  auto& im = *impl_;
  if (im.started)
    return;
  beast::error_code ec;
  auto address = asio::ip::make_address(im.opts.host, ec);
  if (ec)
    throw std::runtime_error("console address \"" + im.opts.host
                             + "\" is not a numeric IP address (use e.g. 127.0.0.1 or ::1)");
  tcp::endpoint ep{address, im.opts.port};
  auto fail = [&](const char* what) {
    throw std::runtime_error(std::string("cannot ") + what + " the console on " + im.opts.host
                             + ":" + std::to_string(im.opts.port) + ": " + ec.message());
  };
  im.acceptor.open(ep.protocol(), ec);
  if (ec)
    fail("open a socket for");
  im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  im.acceptor.bind(ep, ec);
  if (ec)
    fail("bind");
  im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    fail("listen with");
  im.bound_port = im.acceptor.local_endpoint().port();
  im.guard.emplace(asio::make_work_guard(im.ioc));
  im.accept();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, im.opts.threads); ++i)
    im.threads.emplace_back([&im] { im.ioc.run(); });
  im.started = true;
}

void server::stop() {
  auto& im = *impl_;
  if (!im.started || im.stopping.exchange(true))
    return;
  asio::post(im.ioc, [&im] {
    beast::error_code ec;
    im.acceptor.close(ec);
  });
  {
    std::lock_guard<std::mutex> lock(im.sessions_mutex);
    for (auto& w : im.sessions)
      if (auto s = w.lock())
        s->close();
    im.sessions.clear();
  }
  im.guard.reset();
  // Closed connections finish their handlers; whatever still runs after a grace period
  // (a handler waiting on a slow answer) is abandoned with the I/O context.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!im.ioc.stopped() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  im.ioc.stop();
  for (auto& t : im.threads)
    if (t.joinable())
      t.join();
  im.threads.clear();
}

std::uint16_t server::port() const {
  return impl_->bound_port;
}

const std::string& server::host() const {
  return impl_->opts.host;
}

std::uint64_t server::requests_served() const {
  return impl_->served.load(std::memory_order_relaxed);
}

}  // namespace warmup::http
