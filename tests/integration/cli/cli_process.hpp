// cli_process.hpp: runs the built `warmup` binary ($WARMUP_BIN) in a temporary data
// directory with a controlled environment, capturing exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <poll.h>
#include <pty.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace warmup::cli_test {

struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string warmup_bin() {
  const char* bin = std::getenv("WARMUP_BIN");
  return bin ? bin : "";
}

// A child that outlives this is killed: no test may hang the suite.
constexpr int child_timeout_ms = 60000;

inline std::vector<std::string> environment_block(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [k, v] : env)
    out.push_back(k + "=" + v);
  return out;
}

inline void exec_child(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  std::string bin = warmup_bin();
  std::vector<char*> argv;
  argv.push_back(bin.data());
  std::vector<std::string> args_copy = args;
  for (auto& a : args_copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env_strings = environment_block(env);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execve(bin.c_str(), argv.data(), envp.data());
  ::_exit(127);
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// Runs warmup with `args` and exactly `env` as its environment (the test's own WARMUP_*
// variables must not leak into the child).
inline cli_result run_warmup(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env,
                             int timeout_ms = child_timeout_ms) {
  cli_result r;
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0)
    return r;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    exec_child(args, env);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      ADD_FAILURE() << "warmup did not finish within " << timeout_ms << " ms";
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      auto got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        sinks[i]->append(buf, static_cast<std::size_t>(got));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0)
      ::close(f.fd);
  r.exit_code = wait_exit(pid);
  return r;
}

// Runs warmup with stdout and stderr on a pseudo-terminal (for the progress bar); returns
// everything the terminal received.
inline cli_result run_warmup_on_tty(const std::vector<std::string>& args,
                                    const std::map<std::string, std::string>& env) {
  cli_result r;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0)
    exec_child(args, env);
  if (pid < 0)
    return r;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(child_timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      ADD_FAILURE() << "warmup did not finish within " << child_timeout_ms << " ms";
      break;
    }
    pollfd pfd{master, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR)
      continue;
    auto got = ::read(master, buf, sizeof buf);
    if (got <= 0)   // EIO once the child has closed the terminal
      break;
    r.out.append(buf, static_cast<std::size_t>(got));
  }
  ::close(master);
  r.exit_code = wait_exit(pid);
  return r;
}

// A fresh data directory and environment per test.
class cli_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(warmup_bin().empty()) << "WARMUP_BIN is not set (ctest sets it)";
    dir_ = std::filesystem::temp_directory_path()
           / ("warmup-cli-test-" + std::to_string(::getpid()) + "-"
              + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "home");
    env_ = {{"PATH", "/usr/bin:/bin"},
            {"HOME", (dir_ / "home").string()},
            {"WARMUP_DATA_DIR", (dir_ / "data").string()},
            // Every node a test starts serves its console on a port of its own.
            {"WARMUP_CONSOLE_LISTEN", "127.0.0.1:0"}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  cli_result warmup(const std::vector<std::string>& args) { return run_warmup(args, env_); }

  std::string write_file(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
};

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}


// The text of a file ("" when it cannot be read).
inline std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

// `warmup` in the background, its output in files; killed and reaped if the test leaves
// early, so a failed assertion never leaves a node behind.
class background_node {
public:
  background_node(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env, const std::filesystem::path& out,
                  const std::filesystem::path& err)
    : out_(out), err_(err) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0)
        ::_exit(126);
      ::dup2(o, STDOUT_FILENO);
      ::dup2(e, STDERR_FILENO);
      ::close(o);
      ::close(e);
      exec_child(args, env);
    }
  }
  background_node(const background_node&) = delete;
  background_node& operator=(const background_node&) = delete;
  ~background_node() { kill_now(); }

  bool started() const { return pid_ > 0; }
  // True while the process has not exited (reaps it when it has).
  bool running() {
    if (pid_ <= 0)
      return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = status;
      return false;
    }
    return true;
  }
  // SIGKILL and reap; the wait status.
  int kill_now() { return signal_and_wait(SIGKILL); }
  // Sends `sig` and reaps (SIGTERM: a clean stop, bounded by 60 s, then SIGKILL).
  int signal_and_wait(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        ::usleep(20'000);
      }
      pid_ = -1;
      status_ = status;
    }
    return status_;
  }
  // The console URL the node printed, once it has (empty after 20 s or if it exited).
  std::string console_url() {
    const std::string marker = "warmup: console at ";
    for (int i = 0; i < 200; ++i) {
      auto text = file_text(out_);
      if (auto at = text.find(marker); at != std::string::npos) {
        auto end = text.find('\n', at);
        if (end != std::string::npos)
          return text.substr(at + marker.size(), end - at - marker.size());
      }
      if (!running())
        return {};
      ::usleep(100'000);
    }
    return {};
  }
  std::string out() const { return file_text(out_); }
  std::string err() const { return file_text(err_); }

private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::filesystem::path out_, err_;
};

}  // namespace warmup::cli_test
