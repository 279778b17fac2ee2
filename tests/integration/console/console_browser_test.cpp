// console_browser_test.cpp: runs the real-browser check (tests/browser/console.test.mjs,
// headless Chromium through playwright-core) against an in-process node's console: the
// mailbox rows appear, a click opens the mailbox page with its ramp chart; screenshots are
// kept under the build directory (console-screenshots/).
#include "tests/integration/console/console_engine.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace warmup;

namespace {

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST(ConsoleBrowser, ShowsMailboxesAndAMailboxChartInChromium) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
    << "/usr/bin/chromium is missing: install Debian's chromium package (deploy/install-deps.sh)";
  ASSERT_EQ(run("node --version > /dev/null"), 0) << "node is missing (Node.js 20 is needed)";
  std::string dir = std::string(WARMUP_SOURCE_DIR) + "/tests/browser";
  if (!std::filesystem::exists(dir + "/node_modules/playwright-core")) {
    ASSERT_EQ(run("npm ci --prefix '" + dir + "' --no-audit --no-fund > /dev/null"), 0)
      << "npm ci in " << dir << " failed";
  }
  test::console_engine engine("browser", 200, 1440, 8, "browser-token");
  std::this_thread::sleep_for(std::chrono::seconds(2));   // into the sending window
  auto shots = (std::filesystem::current_path() / "console-screenshots").string();
  std::filesystem::create_directories(shots);
  auto cmd = "node '" + dir + "/console.test.mjs' '" + engine.url() + "?token=browser-token' '"
             + shots + "'";
  EXPECT_EQ(run(cmd), 0) << "the browser check failed (its output is above); screenshots in "
                         << shots;
}
