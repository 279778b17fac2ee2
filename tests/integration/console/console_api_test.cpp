// console_api_test.cpp: the console's API v1 contract against a running in-process node:
// status codes, JSON shapes, pagination, the token rule, errors naming the field, 404/405,
// no secret in any answer, and pause/resume reaching the mailbox actor at once.
#include "tests/integration/console/console_engine.hpp"
#include "tests/unit/net/http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

using namespace warmup;
using json = nlohmann::json;

namespace {

const std::string token = "s3cret-console-token";

class ConsoleApi : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    engine = new test::console_engine("api", 120, 1440, 8, token);
    // Let the accelerated clock run into the sending window (about 20 engine minutes).
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  static void TearDownTestSuite() {
    delete engine;
    engine = nullptr;
  }
  static test::http_reply call(const std::string& method, const std::string& target,
                               const std::string& body = {}, const std::string& tok = token) {
    return test::http_call(engine->port(), method, target, body, tok);
  }
  static json get_json(const std::string& target) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_NE(r.headers["content-type"].find("application/json"), std::string::npos);
    return json::parse(r.body);
  }
  static void expect_error(const test::http_reply& r, int status, const char* field) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body);
    ASSERT_TRUE(j.contains("error")) << r.body;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
    if (field) {
      EXPECT_EQ(j["field"], field) << r.body;
    }
  }
  static inline test::console_engine* engine = nullptr;
};

TEST_F(ConsoleApi, ProbesNeedNoTokenAndSayReady) {
  auto h = call("GET", "/healthz", {}, "");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "alive");
  auto r = call("GET", "/readyz", {}, "");
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["shards_missing"], 0);
}

TEST_F(ConsoleApi, ApiAndMetricsNeedTheToken) {
  for (const char* path : {"/api/v1/status", "/api/v1/mailboxes", "/metrics"}) {
    expect_error(call("GET", path, {}, ""), 401, nullptr);
    auto wrong = call("GET", path, {}, "s3cret-console-tokem");
    expect_error(wrong, 401, nullptr);
    EXPECT_EQ(wrong.headers["www-authenticate"], "Bearer realm=\"warmup\"");
  }
  // The page shell holds no data and loads without it.
  auto page = call("GET", "/", {}, "");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>warmup console</title>"), std::string::npos);
  EXPECT_NE(page.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_EQ(call("GET", "/app.js", {}, "").status, 200);
  EXPECT_EQ(call("GET", "/style.css", {}, "").status, 200);
}

TEST_F(ConsoleApi, StatusHasTheFiguresOfWarmupStatusJson) {
  auto j = get_json("/api/v1/status");
  for (const char* k : {"total_mailboxes", "active_mailboxes_today", "sends_today",
                        "inbox_rate_today", "planned_today", "overdue", "now"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["total_mailboxes"], 120);
  EXPECT_GE(j["now"].get<std::int64_t>(), test::console_test_start);
  EXPECT_GT(j["planned_today"].get<int>(), 0);
}

TEST_F(ConsoleApi, NodeDescribesShardsActorsAndQueues) {
  auto j = get_json("/api/v1/node");
  EXPECT_EQ(j["node"], "console-test");
  EXPECT_EQ(j["version"], WARMUP_VERSION);
  EXPECT_EQ(j["shard_count"], 8);
  EXPECT_EQ(j["shards_running"].size(), 8u);
  EXPECT_TRUE(j["shards_missing"].empty());
  EXPECT_EQ(j["actors"]["shard"], 8);
  EXPECT_EQ(j["actors"]["mailbox"], 120);
  EXPECT_GE(j["scheduler_threads"].get<int>(), 1);
  EXPECT_EQ(j["queues"]["shards"].size(), 8u);
  EXPECT_TRUE(j["queues"].contains("store_backlog"));
  EXPECT_GE(j["uptime_seconds"].get<double>(), 0.5);
  EXPECT_EQ(j["clock"]["mode"], "accelerated");
}

TEST_F(ConsoleApi, ShardsListEveryShardAndOneShardItsMailboxActors) {
  auto j = get_json("/api/v1/shards");
  ASSERT_EQ(j["shards"].size(), 8u);
  std::uint64_t sum = 0;
  for (auto& s : j["shards"]) {
    EXPECT_EQ(s["state"], "running");
    sum += s["mailboxes"].get<std::uint64_t>();
  }
  EXPECT_EQ(sum, 120u);
  auto one = get_json("/api/v1/shards/3");
  EXPECT_EQ(one["shard"], 3);
  EXPECT_EQ(one["mailboxes"].size(), j["shards"][3]["mailboxes"].get<std::size_t>());
  for (auto& m : one["mailboxes"]) {
    EXPECT_TRUE(m["email"].is_string());
    EXPECT_TRUE(m["state"].is_string());
    EXPECT_EQ(shard_of(m["email"].get<std::string>(), 8), 3u);
  }
  expect_error(call("GET", "/api/v1/shards/8"), 404, nullptr);
  expect_error(call("GET", "/api/v1/shards/x"), 404, nullptr);
}

TEST_F(ConsoleApi, MailboxesArePagedWithATotal) {
  auto a = get_json("/api/v1/mailboxes?limit=7&offset=0");
  auto b = get_json("/api/v1/mailboxes?limit=7&offset=7");
  EXPECT_EQ(a["total"], 120);
  EXPECT_EQ(a["items"].size(), 7u);
  EXPECT_EQ(b["items"].size(), 7u);
  std::set<int> ids;
  for (auto& m : a["items"])
    ids.insert(m["id"].get<int>());
  for (auto& m : b["items"])
    EXPECT_FALSE(ids.count(m["id"].get<int>())) << "pages overlap";
  auto last = get_json("/api/v1/mailboxes?limit=50&offset=100");
  EXPECT_EQ(last["items"].size(), 20u);
  auto beyond = get_json("/api/v1/mailboxes?offset=1000");
  EXPECT_TRUE(beyond["items"].empty());
  EXPECT_EQ(beyond["total"], 120);
  auto m = a["items"][0];
  for (const char* k : {"id", "email", "provider", "domain", "state", "band", "ramp_day", "shard"})
    EXPECT_TRUE(m.contains(k)) << k;
}

TEST_F(ConsoleApi, MailboxesFilterByStateProviderAndDomain) {
  auto all = get_json("/api/v1/mailboxes?limit=500");
  auto provider = all["items"][0]["provider"].get<std::string>();
  auto domain = all["items"][0]["domain"].get<std::string>();
  auto byp = get_json("/api/v1/mailboxes?limit=500&provider=" + provider);
  EXPECT_GT(byp["total"].get<int>(), 0);
  EXPECT_LT(byp["total"].get<int>(), 120);
  for (auto& m : byp["items"])
    EXPECT_EQ(m["provider"], provider);
  auto byd = get_json("/api/v1/mailboxes?domain=" + domain);
  for (auto& m : byd["items"])
    EXPECT_EQ(m["domain"], domain);
  auto removed = get_json("/api/v1/mailboxes?state=removed");
  for (auto& m : removed["items"])
    EXPECT_EQ(m["state"], "removed");
  expect_error(call("GET", "/api/v1/mailboxes?state=sleepy"), 400, "state");
  expect_error(call("GET", "/api/v1/mailboxes?limit=0"), 400, "limit");
  expect_error(call("GET", "/api/v1/mailboxes?limit=abc"), 400, "limit");
  expect_error(call("GET", "/api/v1/mailboxes?offset=-1"), 400, "offset");
}

TEST_F(ConsoleApi, AMailboxShowsRampPlanHistoryAndHealth) {
  auto j = get_json("/api/v1/mailboxes/1?days=14");
  EXPECT_EQ(j["id"], 1);
  EXPECT_EQ(j["history"].size(), 14u);
  for (auto& d : j["history"])
    for (const char* k : {"day", "planned", "sent", "received", "inbox", "spam", "replies", "bounces"})
      EXPECT_TRUE(d.contains(k)) << k;
  EXPECT_TRUE(j["ramp_state"].contains("ramp_day"));
  EXPECT_TRUE(j["health"].contains("band"));
  EXPECT_TRUE(j["health"].contains("inbox_rate"));
  EXPECT_EQ(j["live"]["running"], true);
  ASSERT_TRUE(j["today"]["slots"].is_array());
  EXPECT_GT(j["today"]["slots"].size(), 0u) << j["today"].dump();
  for (auto& s : j["today"]["slots"]) {
    EXPECT_TRUE(s["at"].is_number());
    EXPECT_TRUE(s["status"].is_string());
  }
  expect_error(call("GET", "/api/v1/mailboxes/1?days=0"), 400, "days");
  expect_error(call("GET", "/api/v1/mailboxes/99999"), 404, nullptr);
  expect_error(call("GET", "/api/v1/mailboxes/abc"), 404, nullptr);
}

TEST_F(ConsoleApi, NoAnswerCarriesASecret) {
  // A mailbox with a sealed secret and an account: the API shows servers, never the secret.
  auto rec = *engine->store().get_mailbox(2);
  rec.settings.email = "sealed@acme.gmail.sim";
  rec.sealed_secret = "SEALED-SECRET-BYTES";
  rec.account.smtp.host = "smtp.example.test";
  rec.account.imap.host = "imap.example.test";
  auto id = engine->store().add_mailbox(rec);
  for (auto target : {"/api/v1/mailboxes/" + std::to_string(id), std::string("/api/v1/mailboxes?limit=500"),
                      std::string("/metrics"), "/api/v1/shards/" + std::to_string(shard_of(rec.settings.email, 8))}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_EQ(r.body.find("SEALED-SECRET-BYTES"), std::string::npos) << target;
    EXPECT_EQ(r.body.find("sealed_secret"), std::string::npos) << target;
  }
  engine->store().remove_mailbox(id);
}

TEST_F(ConsoleApi, UnknownRoutesAre404AndWrongMethods405) {
  expect_error(call("GET", "/api/v1/nothing"), 404, nullptr);
  expect_error(call("GET", "/api/v2/status"), 404, nullptr);
  expect_error(call("GET", "/nothing"), 404, nullptr);
  auto r = call("DELETE", "/api/v1/status");
  expect_error(r, 405, nullptr);
  EXPECT_EQ(r.headers["allow"], "GET");
  expect_error(call("PUT", "/api/v1/mailboxes"), 405, nullptr);
  expect_error(call("GET", "/api/v1/mailboxes/1/pause"), 405, nullptr);
  expect_error(call("POST", "/api/v1/mailboxes/1/explode"), 404, nullptr);
  expect_error(call("POST", "/healthz"), 405, nullptr);
}

TEST_F(ConsoleApi, CreatingAMailboxValidatesAndNamesTheField) {
  expect_error(call("POST", "/api/v1/mailboxes", "not json"), 400, nullptr);
  expect_error(call("POST", "/api/v1/mailboxes", "[]"), 400, nullptr);
  expect_error(call("POST", "/api/v1/mailboxes", R"({})"), 400, "email");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"nobody"})"), 400, "email");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"a@x.gmail.sim","colour":"red"})"),
               400, "colour");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"a@x.gmail.sim","timezone":"Mars/Base"})"),
               400, "timezone");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"a@x.gmail.sim","preset":"warp"})"),
               400, "preset");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"a@x.gmail.sim","display_name":5})"),
               400, "display_name");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"a@example.com"})"), 400, "email");
  auto ok = call("POST", "/api/v1/mailboxes",
                 R"({"email":"New.Person@console.gmail.sim","display_name":"New Person","preset":"slow","timezone":"Europe/Berlin"})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  auto j = json::parse(ok.body);
  EXPECT_EQ(j["email"], "new.person@console.gmail.sim");
  EXPECT_EQ(j["ramp_preset"], "slow");
  EXPECT_EQ(ok.headers["location"], "/api/v1/mailboxes/" + std::to_string(j["id"].get<int>()));
  EXPECT_EQ(get_json(ok.headers["location"])["timezone"], "Europe/Berlin");
  expect_error(call("POST", "/api/v1/mailboxes", R"({"email":"new.person@console.gmail.sim"})"),
               409, "email");
}

TEST_F(ConsoleApi, PatchValidatesAndSavesTheSettings) {
  expect_error(call("PATCH", "/api/v1/mailboxes/3", R"({"preset":"warp"})"), 400, "preset");
  expect_error(call("PATCH", "/api/v1/mailboxes/3", R"({"timezone":"Nowhere/City"})"), 400, "timezone");
  expect_error(call("PATCH", "/api/v1/mailboxes/3", R"({"email":"x@y.z"})"), 400, "email");
  auto ok = call("PATCH", "/api/v1/mailboxes/3",
                 R"({"preset":"fast","timezone":"Asia/Tokyo","display_name":"Third"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = get_json("/api/v1/mailboxes/3");
  EXPECT_EQ(j["ramp_preset"], "fast");
  EXPECT_EQ(j["timezone"], "Asia/Tokyo");
  EXPECT_EQ(j["display_name"], "Third");
  expect_error(call("PATCH", "/api/v1/mailboxes/999999", R"({"preset":"fast"})"), 404, nullptr);
}

TEST_F(ConsoleApi, PauseAndResumeReachTheRunningActorAtOnce) {
  auto before = get_json("/api/v1/mailboxes/5");
  ASSERT_EQ(before["live"]["running"], true);
  auto p = call("POST", "/api/v1/mailboxes/5/pause");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body)["reached_actor"], true);
  // The store poll runs every 5 s of wall time; the actor must say paused well before.
  std::string live;
  for (int i = 0; i < 40 && live != "paused"; ++i) {
    live = get_json("/api/v1/mailboxes/5")["live"]["state"].get<std::string>();
    if (live != "paused")
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(live, "paused");
  EXPECT_EQ(get_json("/api/v1/mailboxes/5")["state"], "paused");
  auto r = call("POST", "/api/v1/mailboxes/5/resume");
  ASSERT_EQ(r.status, 200);
  for (int i = 0; i < 40 && live == "paused"; ++i) {
    live = get_json("/api/v1/mailboxes/5")["live"]["state"].get<std::string>();
    if (live == "paused")
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_NE(live, "paused");
}

TEST_F(ConsoleApi, DeleteRemovesSoftlyAndStopsTheActor) {
  auto d = call("DELETE", "/api/v1/mailboxes/9");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(json::parse(d.body)["state"], "removed");
  auto j = get_json("/api/v1/mailboxes/9");
  EXPECT_EQ(j["state"], "removed");   // history kept: still readable
  expect_error(call("POST", "/api/v1/mailboxes/9/pause"), 409, "state");
  EXPECT_EQ(call("POST", "/api/v1/mailboxes/9/resume").status, 200);
}

TEST(ConsoleStart, RefusesAPublicAddressWithoutAToken) {
  EXPECT_TRUE(app::is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(app::is_loopback_address("127.3.0.9"));
  EXPECT_TRUE(app::is_loopback_address("::1"));
  EXPECT_FALSE(app::is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(app::is_loopback_address("192.0.2.1"));
  EXPECT_EQ(app::parse_listen_address("[::1]:8025"), (std::pair<std::string, std::uint16_t>{"::1", 8025}));
  EXPECT_EQ(app::parse_listen_address("localhost:0").first, "127.0.0.1");
  EXPECT_THROW(app::parse_listen_address("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(app::parse_listen_address("127.0.0.1:99999"), std::invalid_argument);
  EXPECT_THROW(app::parse_listen_address("example.com:80"), std::invalid_argument);
  // start_console checks the rule before it touches the node.
  caf::actor_system_config c;
  caf::actor_system sys{c};
  auto dir = std::filesystem::temp_directory_path() / ("warmup-console-refuse-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto store = std::shared_ptr<storage::store>(storage::open_sqlite((dir / "w.db").string()));
  engine_node node(sys, config::engine_config{}, engine_clock::manual(0), store);
  app::console_options o;
  o.listen = "0.0.0.0:0";
  try {
    app::start_console(node, *store, o);
    FAIL() << "bound a public address without a token";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("console.token"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
