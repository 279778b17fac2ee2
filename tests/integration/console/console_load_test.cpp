// console_load_test.cpp: the console keeps answering while a node of 10,000 demo
// mailboxes runs at a high time scale; prints the API latencies it measured (bounded
// loosely: the figure is the output, not a tight assertion).
#include "tests/integration/console/console_engine.hpp"
#include "tests/unit/net/http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

using namespace warmup;

TEST(ConsoleUnderLoad, AnswersWithinBoundsWhileTenThousandMailboxesRun) {
  auto t0 = std::chrono::steady_clock::now();
  // 5,760x: four engine days per wall minute, so the sending window opens at once.
  test::console_engine engine("load", 10'000, 5760, 64, "load-token");
  auto started = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<std::string> targets = {"/api/v1/status", "/api/v1/node", "/api/v1/shards",
                                            "/api/v1/mailboxes?limit=50&offset=5000",
                                            "/api/v1/mailboxes/4242", "/metrics"};
  std::map<std::string, std::vector<double>> ms;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  int rounds = 0;
  // Requests spread over 8 s of wall time (about 30 engine days at 5,760x would be too
  // long; 8 s is half an engine day): the engine works through its sending window meanwhile.
  while (std::chrono::steady_clock::now() < until && rounds < 200) {
    ++rounds;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    for (auto& t : targets) {
      auto a = std::chrono::steady_clock::now();
      auto r = test::http_call(engine.port(), "GET", t, {}, "load-token");
      ms[t].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
      ASSERT_EQ(r.status, 200) << t << ": " << r.body;
    }
  }
  auto status = nlohmann::json::parse(
    test::http_call(engine.port(), "GET", "/api/v1/status", {}, "load-token").body);
  std::printf("console under load: 10000 mailboxes, 64 shards, x5760; start %.1f s; %d rounds; "
              "sends_today %llu\n",
              started, rounds, static_cast<unsigned long long>(status["sends_today"].get<std::uint64_t>()));
  double worst = 0;
  for (auto& [t, v] : ms) {
    std::sort(v.begin(), v.end());
    auto p50 = v[v.size() / 2];
    auto max = v.back();
    worst = std::max(worst, max);
    std::printf("  %-42s p50 %7.1f ms  max %7.1f ms  (%zu requests)\n", t.c_str(), p50, max, v.size());
  }
  EXPECT_EQ(status["total_mailboxes"].get<std::uint64_t>(), 10'000u);
  EXPECT_GT(status["sends_today"].get<std::uint64_t>(), 1000u) << "the engine was not under load";
  // Loose bound: the shards' status requests time out after 2 s; nothing should wait longer.
  EXPECT_LT(worst, 5000.0);
}
