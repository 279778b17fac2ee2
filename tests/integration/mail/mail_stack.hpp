// mail_stack.hpp: the real postfix + dovecot the mail tests talk to, started once per test
// process by deploy/mailstack.sh in a temporary root on free ports, with a local OAuth2
// server (oauth_server.py) for XOAUTH2. A stack that cannot start fails the tests (it
// never skips them), saying why.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace warmup::mail_test {

struct mail_stack {
  bool up = false;
  std::string why;                 // why it is not up
  std::string root;
  std::uint16_t smtp = 0, smtps = 0, imap = 0, imaps = 0, lmtp = 0, oauth = 0;
  std::uint16_t closed_port = 0;   // a port nothing listens on
  std::string ca_file;             // the stack's CA (signs the server cert)
  std::string unknown_ca_file;     // another CA: must not verify the server
  std::string token_url;
  pid_t oauth_pid = -1;
};

inline mail_stack& stack() {
  static mail_stack s;
  return s;
}

inline std::string source_dir() {
  const char* env = std::getenv("WARMUP_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : WARMUP_SOURCE_DIR;
}

// Distinct free ports: all bound at once, then released for the servers.
template <std::size_t N>
std::array<std::uint16_t, N> free_ports() {
  std::array<int, N> fds{};
  std::array<std::uint16_t, N> ports{};
  for (std::size_t i = 0; i < N; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fds[i], reinterpret_cast<sockaddr*>(&a), &len);
    ports[i] = ntohs(a.sin_port);
  }
  for (int fd : fds)
    ::close(fd);
  return ports;
}

inline std::string stack_env(const mail_stack& s) {
  std::ostringstream env;
  env << "MS_ROOT=" << s.root << " MS_SMTP_PORT=" << s.smtp << " MS_SMTPS_PORT=" << s.smtps
      << " MS_IMAP_PORT=" << s.imap << " MS_IMAPS_PORT=" << s.imaps << " MS_LMTP_PORT=" << s.lmtp
      << " MS_NUSERS=10 MS_OAUTH_INTROSPECT_URL=https://127.0.0.1:" << s.oauth << "/introspect";
  return env.str();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the stack script; false with its output in `why`.
inline bool run_script(mail_stack& s, const std::string& args) {
  auto log = s.root + "/script.log";
  auto cmd = stack_env(s) + " bash " + source_dir() + "/deploy/mailstack.sh " + args + " >" +
             log + " 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    s.why = "deploy/mailstack.sh " + args + " failed (exit " + std::to_string(rc) + "): " +
            read_file(log);
    return false;
  }
  return true;
}

// Starts oauth_server.py (its output goes to oauth.log) and waits at most 10 s for "ready".
inline bool start_oauth_server(mail_stack& s) {
  auto script = source_dir() + "/tests/integration/mail/oauth_server.py";
  auto port = std::to_string(s.oauth);
  auto cert = s.root + "/tls/cert.pem", key = s.root + "/tls/key.pem";
  auto log = s.root + "/oauth.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    if (std::freopen(log.c_str(), "w", stdout) == nullptr || ::dup2(1, 2) < 0)
      ::_exit(126);
    ::execlp("python3", "python3", script.c_str(), port.c_str(), cert.c_str(), key.c_str(),
             "3600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  s.oauth_pid = pid;
  for (int i = 0; i < 200; ++i) {
    if (read_file(log).find("ready") != std::string::npos)
      return true;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      s.oauth_pid = -1;
      break;
    }
    ::usleep(50'000);
  }
  s.why = "the test OAuth2 server (python3 " + script + ") did not start: " + read_file(log);
  return false;
}

class mail_stack_environment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto& s = stack();
    char dir[] = "/tmp/warmup-mail-XXXXXX";
    if (::mkdtemp(dir) == nullptr) {
      s.why = "cannot make a temporary directory";
      return;
    }
    s.root = dir;
    auto p = free_ports<7>();
    s.smtp = p[0], s.smtps = p[1], s.imap = p[2], s.imaps = p[3], s.lmtp = p[4], s.oauth = p[5];
    s.closed_port = p[6];
    s.ca_file = s.root + "/tls/ca.pem";
    s.unknown_ca_file = s.root + "/other-ca/ca.pem";
    s.token_url = "https://127.0.0.1:" + std::to_string(s.oauth) + "/token";
    if (::geteuid() != 0) {
      s.why = "the mail tests start postfix and dovecot and must run as root";
      return;
    }
    // A failure here must not be fatal: gtest would skip every test. Each test's fixture
    // fails instead, with this reason.
    if (!run_script(s, "start") || !run_script(s, "make-ca " + s.root + "/other-ca") ||
        !start_oauth_server(s)) {
      std::string log = read_file(s.root + "/pf/maillog") + read_file(s.root + "/dc/dovecot.log");
      s.why += log.size() > 4000 ? log.substr(log.size() - 4000) : log;
      return;
    }
    s.up = true;
  }

  void TearDown() override {
    auto& s = stack();
    if (s.oauth_pid > 0) {
      ::kill(s.oauth_pid, SIGTERM);
      ::waitpid(s.oauth_pid, nullptr, 0);
    }
    if (!s.root.empty()) {
      run_script(s, "stop");
      std::error_code ec;
      std::filesystem::remove_all(s.root, ec);
    }
  }
};

}  // namespace warmup::mail_test
