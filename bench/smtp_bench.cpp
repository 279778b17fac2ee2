// smtp_bench.cpp: SMTP send throughput of smtp_client against postfix's smtp-sink, beside
// postfix's own smtp-source (the C reference) at the same concurrency and message size, one
// connection per message, in one run. Prints both rates and their ratio (target >= 0.8).
//
//   smtp_bench [messages=5000] [concurrency=20] [size=1024]
//
// Needs /usr/sbin/smtp-sink and smtp-source (package postfix). As root smtp-sink must drop
// privileges (-u postfix). Both log only to syslog, which containers lack: a failure shows
// only as an exit code; run them by hand under `script -qc "smtp-sink ..." /dev/null` to
// see the error. smtp-sink's -c (a live counter on the terminal) slows it: not used here.
#include "net/smtp_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace warmup;
using namespace warmup::net;

namespace {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_open(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A message of about `size` bytes, headers included, as smtp-source's -l makes its body.
std::string message_of_size(std::size_t size) {
  std::string m =
      "From: bench@test.local\r\nTo: sink@test.local\r\nSubject: throughput\r\n"
      "Message-ID: <bench@test.local>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n\r\n";
  while (m.size() + 2 < size)
    m += std::string(std::min<std::size_t>(78, size - m.size() - 2), 'x') + "\r\n";
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int messages = argc > 1 ? std::atoi(argv[1]) : 5000;
  int concurrency = argc > 2 ? std::atoi(argv[2]) : 20;
  std::size_t size = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 1024;
  if (messages <= 0 || concurrency <= 0 || size < 200) {
    std::fprintf(stderr, "usage: smtp_bench [messages>0] [concurrency>0] [size>=200]\n");
    return 2;
  }
  auto port = free_port();
  std::vector<std::string> sink{"/usr/sbin/smtp-sink", "127.0.0.1:" + std::to_string(port),
                                "1024"};
  if (::geteuid() == 0)
    sink.insert(sink.begin() + 1, {"-u", "postfix"});
  pid_t sink_pid = spawn(sink);
  for (int i = 0; i < 250 && !port_open(port); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!port_open(port)) {
    std::fprintf(stderr, "smtp-sink did not start on port %u (run it under `script -qc` to "
                         "see why; as root it needs -u postfix)\n", port);
    ::kill(sink_pid, SIGTERM);
    ::waitpid(sink_pid, nullptr, 0);
    return 1;
  }

  // The machine is shared (2 cores): the two senders alternate over a few rounds and the
  // median of each is compared, so a burst of other load does not decide the ratio.
  auto bytes = message_of_size(size);
  smtp_envelope envelope{"bench@test.local", {"sink@test.local"}};
  std::atomic<int> sent{0}, failed{0};
  std::string first_error;
  std::atomic_flag error_taken = ATOMIC_FLAG_INIT;
  bool source_ok = true;
  auto run_source = [&] {
    // the reference: smtp-source, a new connection per message (no -d)
    auto t0 = std::chrono::steady_clock::now();
    pid_t source = spawn({"/usr/sbin/smtp-source", "-s", std::to_string(concurrency), "-m",
                          std::to_string(messages), "-l", std::to_string(size), "-f",
                          "bench@test.local", "-t", "sink@test.local",
                          "127.0.0.1:" + std::to_string(port)});
    int status = 0;
    ::waitpid(source, &status, 0);
    source_ok = source_ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return messages / seconds_since(t0);
  };
  auto run_client = [&] {
    // smtp_client: `concurrency` threads, one client each, one connection per message
    std::atomic<int> next{0}, round_sent{0};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < concurrency; ++w)
      workers.emplace_back([&] {
        smtp_client client(server_endpoint{"127.0.0.1", port, mail_security::none}, tls_policy{});
        while (next.fetch_add(1) < messages) {
          auto r = client.send(envelope, bytes, mail_login{});
          if (r) {
            ++round_sent;
          } else {
            ++failed;
            if (!error_taken.test_and_set())
              first_error = r.error().message();
          }
        }
      });
    for (auto& t : workers)
      t.join();
    sent += round_sent.load();
    return round_sent / seconds_since(t0);
  };
  constexpr int rounds = 3;
  std::vector<double> source_rates, client_rates;
  for (int r = 0; r < rounds; ++r) {
    source_rates.push_back(run_source());
    client_rates.push_back(run_client());
  }
  ::kill(sink_pid, SIGTERM);
  ::waitpid(sink_pid, nullptr, 0);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto list = [](const std::vector<double>& v) {
    std::string out;
    for (double x : v)
      out += (out.empty() ? "" : " ") + std::to_string(static_cast<long>(x));
    return out;
  };
  double source_rate = median(source_rates);
  double client_rate = median(client_rates);
  std::printf("smtp_bench: %d messages of %zu bytes, %d concurrent sessions, one connection "
              "per message, to smtp-sink on 127.0.0.1:%u, %d alternating rounds\n", messages,
              size, concurrency, port, rounds);
  std::printf("  smtp-source : %8.0f msg/s median (rounds: %s)%s\n", source_rate,
              list(source_rates).c_str(), source_ok ? "" : "  [smtp-source failed]");
  std::printf("  smtp_client : %8.0f msg/s median (rounds: %s), %d sent, %d failed\n",
              client_rate, list(client_rates).c_str(), sent.load(), failed.load());
  std::printf("  ratio smtp_client / smtp-source: %.2f (target >= 0.8)\n", client_rate / source_rate);
  if (failed > 0)
    std::printf("  first failure: %s\n", first_error.c_str());
  return source_ok && failed == 0 ? 0 : 1;
}
