// node_api_cli_test.cpp: `warmup status`, `mailbox ...`, `shards` and `advise` against a
// running node's console API (started in the background on a free port), the same output
// as the store path, a pause reaching the mailbox actor at once, and what a dead --node does.
#include "cli_process.hpp"

#include "app/api_client.hpp"
#include "warmup/ramp.hpp"
#include "storage/open_store.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>

#include <set>
#include <sstream>
#include <thread>

using namespace warmup::cli_test;
using json = nlohmann::json;

namespace {

using namespace std::chrono_literals;



const std::string token = "cli-test-token-0123456789";
const std::string dead_node = "http://127.0.0.1:1";

class node_api_cli : public cli_test {
protected:
  void SetUp() override {
    cli_test::SetUp();
    env_["WARMUP_NODE_SHARD_COUNT"] = "8";
    env_["WARMUP_CONSOLE_TOKEN"] = token;
    // Engine time independent of the time of day the suite runs at (the CLI's store path
    // and the node agree on "today" through the engine time the node writes).
    env_["WARMUP_CLOCK_START"] = "2026-01-05T09:00";
  }
  // Starts the demo node; its URL (port 0: chosen by the system).
  std::string start_node() {
    node_ = std::make_unique<background_node>(
      std::vector<std::string>{"run", "--demo", "30", "--time-scale", "1440", "--console",
                               "127.0.0.1:0", "--for", "60s"},
      env_, dir_ / "node.out", dir_ / "node.err");
    auto url = node_->console_url();
    EXPECT_FALSE(url.empty()) << node_->err();
    return url;
  }
  warmup::app::api_client client(const std::string& url) {
    auto u = warmup::app::parse_node_url(url);
    EXPECT_TRUE(u) << url;
    return warmup::app::api_client(u.value_or(warmup::app::node_url{}), token);
  }
  double console_requests(const warmup::app::api_client& c) {
    auto text = c.get_text("/metrics");
    const std::string name = "\nwarmup_console_requests_total ";
    auto at = text.find(name);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size()));
  }
  // `args` through the node and through the store (a dead --node falls back) give the
  // same output; the figures move on at 1440x, so a mismatch is retried a few times.
  void expect_same_as_store(std::vector<std::string> args) {
    cli_result api, store;
    for (int attempt = 0; attempt < 4; ++attempt) {
      api = warmup(args);
      auto with_dead = args;
      with_dead.insert(with_dead.end(), {"--node", dead_node});
      store = warmup(with_dead);
      if (api.out == store.out)
        break;
    }
    EXPECT_EQ(api.exit_code, 0) << api.err;
    EXPECT_EQ(store.exit_code, 0) << store.err;
    EXPECT_EQ(api.out, store.out) << "warmup " << args[0] << " " << args[1];
  }
  std::unique_ptr<background_node> node_;
};

}  // namespace

TEST_F(node_api_cli, status_mailbox_and_shards_go_through_the_running_node) {
  auto url = start_node();
  ASSERT_FALSE(url.empty());
  auto api = client(url);
  // Port 0: the CLI finds the node through the URL it wrote into the store.
  {
    auto st = warmup::storage::open_store("", (dir_ / "data").string());
    auto meta = st->get_meta("console.url");
    ASSERT_TRUE(meta);
    EXPECT_EQ(*meta, url);
  }

  auto before = console_requests(api);
  auto status = warmup({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_FALSE(contains(status.err, "no running node")) << status.err;
  EXPECT_TRUE(contains(status.out, "Total Mailboxes:        30\n")) << status.out;
  EXPECT_TRUE(contains(status.out, "(written by the node)")) << status.out;
  auto list = warmup({"mailbox", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(contains(list.out, "30 of 30 mailboxes")) << list.out;
  // Both asked the node: its request counter moved (probe + status, probe + list).
  EXPECT_GE(console_requests(api), before + 4);

  // status --json: the store path's keys, the node's figures.
  auto sj = json::parse(warmup({"status", "--json"}).out);
  std::set<std::string> keys;
  for (auto& [k, v] : sj.items())
    keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"total_mailboxes", "active_mailboxes_today",
                                         "sends_today", "inbox_rate_today", "planned_today",
                                         "overdue", "now"}));
  EXPECT_EQ(sj["total_mailboxes"], 30);

  expect_same_as_store({"mailbox", "list"});
  expect_same_as_store({"mailbox", "list", "--json"});
  expect_same_as_store({"mailbox", "list", "--limit", "7", "--offset", "20"});
  expect_same_as_store({"mailbox", "show", "5"});
  expect_same_as_store({"mailbox", "show", "5", "--json"});
  auto email = json::parse(warmup({"mailbox", "show", "5", "--json"}).out)["email"].get<std::string>();
  expect_same_as_store({"mailbox", "show", email});

  auto missing = warmup({"mailbox", "show", "nobody@nowhere.test"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "no mailbox nobody@nowhere.test on the node at " + url.substr(0, url.size() - 1)))
    << missing.err;

  // The shard table: 8 shards, every one running, holding the 30 mailboxes.
  auto shards = warmup({"shards"});
  ASSERT_EQ(shards.exit_code, 0) << shards.err;
  EXPECT_TRUE(contains(shards.out, "SHARD  STATE")) << shards.out;
  EXPECT_TRUE(contains(shards.out, ": 8 of 8 shards running, 30 mailboxes")) << shards.out;
  auto sh = json::parse(warmup({"shards", "--json"}).out);
  ASSERT_EQ(sh["shards"].size(), 8u);
  int total = 0;
  for (auto& s : sh["shards"]) {
    EXPECT_EQ(s["state"], "running");
    EXPECT_GE(s["epoch"].get<int>(), 1);
    total += s["mailboxes"].get<int>();
  }
  EXPECT_EQ(total, 30);

  // advise reads the node's figures (the verdict depends on how the machine keeps up).
  auto adv = warmup({"advise", "--json"});
  ASSERT_EQ(adv.exit_code, 0) << adv.err;
  auto aj = json::parse(adv.out);
  EXPECT_FALSE(aj["recommendation"].get<std::string>().empty());
  EXPECT_EQ(aj["figures"]["node_mailboxes"], 30);
  EXPECT_EQ(aj["figures"]["total_mailboxes"], 30);
  EXPECT_EQ(aj["figures"]["shards_running"], 8);
  EXPECT_EQ(aj["figures"]["capacity_per_node"], 10000);
  EXPECT_TRUE(contains(aj["explanation"].get<std::string>(), "runs 30 mailboxes")) << adv.out;
  auto text = warmup({"advise"});
  EXPECT_TRUE(contains(text.out, "Recommendation: " + aj["recommendation"].get<std::string>()))
    << text.out;

  // A wrong token: the node answers, so it is an error, not a silent fallback.
  auto env = env_;
  env["WARMUP_CONSOLE_TOKEN"] = "a-wrong-token-0123456789";
  auto refused = run_warmup({"status"}, env);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "console.token")) << refused.err;
}

TEST_F(node_api_cli, pause_through_the_cli_reaches_the_mailbox_actor_at_once) {
  auto url = start_node();
  ASSERT_FALSE(url.empty());
  auto api = client(url);
  auto before = api.get("/api/v1/mailboxes/3");
  ASSERT_TRUE(before["live"]["running"].get<bool>()) << before.dump();
  ASSERT_NE(before["live"]["state"], "paused");
  const auto email = before["email"].get<std::string>();

  auto pause = warmup({"mailbox", "pause", email});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_EQ(pause.out, "paused mailbox " + email
                         + " (id 3): it sends and engages no more until resumed\n");
  // No wait: the actor itself says paused (the store poll alone would take seconds).
  auto after = api.get("/api/v1/mailboxes/3");
  EXPECT_EQ(after["state"], "paused");
  EXPECT_EQ(after["live"]["state"], "paused") << after.dump();

  auto again = warmup({"mailbox", "pause", "3"});
  EXPECT_EQ(again.out, "mailbox " + email + " (id 3) is paused already\n");
  auto resume = warmup({"mailbox", "resume", "3"});
  EXPECT_EQ(resume.out, "resumed mailbox " + email + " (id 3) (was paused)\n");
  EXPECT_NE(api.get("/api/v1/mailboxes/3")["live"]["state"], "paused");

  auto remove = warmup({"mailbox", "remove", "3"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(api.get("/api/v1/mailboxes/3")["state"], "removed");
  auto paused_removed = warmup({"mailbox", "pause", "3"});
  EXPECT_EQ(paused_removed.exit_code, 2);
  EXPECT_TRUE(contains(paused_removed.err, "is removed")) << paused_removed.err;
}

TEST_F(node_api_cli, a_dead_node_url_falls_back_for_status_and_fails_clearly_for_shards) {
  auto add = warmup({"mailbox", "add", "anna@acme.gmail.sim"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto t0 = std::chrono::steady_clock::now();
  auto status = warmup({"status", "--node", dead_node});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(contains(status.err, "(no running node: figures from the store)")) << status.err;
  EXPECT_TRUE(contains(status.out, "Total Mailboxes:        1\n")) << status.out;
  // The mailbox commands fall back silently.
  auto pause = warmup({"mailbox", "pause", "anna@acme.gmail.sim", "--node", dead_node});
  EXPECT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_TRUE(pause.err.empty()) << pause.err;

  for (const char* cmd : {"shards", "advise"}) {
    auto r = warmup({cmd, "--node", dead_node});
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_TRUE(contains(r.err, std::string("warmup ") + cmd + " needs a running node")) << r.err;
    EXPECT_TRUE(contains(r.err, dead_node)) << r.err;
  }
  // Through the environment as well; a malformed URL is the user's to fix (exit 2).
  auto env = env_;
  env["WARMUP_NODE_URL"] = dead_node;
  auto by_env = run_warmup({"shards"}, env);
  EXPECT_EQ(by_env.exit_code, 1);
  EXPECT_TRUE(contains(by_env.err, dead_node)) << by_env.err;
  auto bad = warmup({"shards", "--node", "ftp://x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "--node ftp://x: not a node URL")) << bad.err;
}

TEST_F(node_api_cli, a_node_that_stops_cleanly_withdraws_its_console_url) {
  auto url = start_node();
  ASSERT_FALSE(url.empty());
  auto meta = [&] {
    return warmup::storage::open_store("", (dir_ / "data").string(), true)->get_meta("console.url");
  };
  EXPECT_EQ(meta().value_or(""), url);
  EXPECT_EQ(node_->signal_and_wait(SIGTERM), 0) << node_->err();
  EXPECT_EQ(meta().value_or("?"), "");
  // The CLI no longer tries the old port: the store answers, with no node to wait for.
  auto status = warmup({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(contains(status.out, "Total Mailboxes:        30\n")) << status.out;
  EXPECT_FALSE(contains(status.err + status.out, url.substr(0, url.size() - 1)))
    << status.err << status.out;
}

TEST_F(node_api_cli, a_mailbox_added_while_the_node_runs_joins_it_and_sends) {
  auto url = start_node();
  ASSERT_FALSE(url.empty());
  auto add = warmup({"mailbox", "add", "late@joiner.test", "--organisation", "joiner.test"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  // The node's pool watcher reads it within seconds; its shard spawns its actor.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!contains(node_->err(), "event=mailbox_joined")
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(contains(node_->err(), "email=late@joiner.test")) << node_->err();
  // It plans the rest of its day and sends, without a restart.
  auto db = warmup::storage::open_store("", (dir_ / "data").string(), true);
  auto m = db->find_mailbox("late@joiner.test");
  ASSERT_TRUE(m);
  std::size_t sent = 0;
  deadline = std::chrono::steady_clock::now() + 40s;
  while (sent == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(250ms);
    for (const auto& row : db->intents(m->settings.id, 0, 1'000'000))
      sent += row.outcome && row.outcome->status == warmup::storage::intent_status::sent;
  }
  EXPECT_GT(sent, 0u) << node_->err();
  // The console sees its live actor.
  auto api = client(url);
  auto detail = json::parse(api.get_text("/api/v1/mailboxes/" + std::to_string(m->settings.id)));
  EXPECT_EQ(detail["email"], "late@joiner.test") << detail.dump();
  EXPECT_EQ(detail["live"]["running"], true) << detail.dump();
}

TEST_F(node_api_cli, settings_edited_while_the_node_runs_reach_the_mailbox_actor) {
  auto url = start_node();
  ASSERT_FALSE(url.empty());
  auto db = warmup::storage::open_store("", (dir_ / "data").string(), true);
  auto all = db->list_mailboxes({});
  ASSERT_GE(all.size(), 3u);
  const auto first = all[0].settings, second = all[1].settings;
  auto applied = [&](const std::string& email, const std::string& what,
                     std::chrono::milliseconds wait = 30s) {
    // The node lists the store's mailboxes every ~5 s and passes edits to the actors.
    auto deadline = std::chrono::steady_clock::now() + wait;
    auto line = [&] {
      auto err = node_->err();
      for (auto at = err.find("event=mailbox_settings_applied"); at != std::string::npos;
           at = err.find("event=mailbox_settings_applied", at + 1)) {
        auto l = err.substr(at, err.find('\n', at) - at);
        if (contains(l, "email=" + email + " ") && contains(l, what))
          return l;
      }
      return std::string{};
    };
    while (line().empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(200ms);
    return line();
  };
  // The CLI writes the store (no node API for edits); the running actor gets it.
  const std::string preset = first.ramp == *warmup::ramp_preset("slow") ? "fast" : "slow";
  const std::string zone = first.timezone == "Asia/Tokyo" ? "Europe/Berlin" : "Asia/Tokyo";
  auto update = warmup({"mailbox", "update", first.email, "--preset", preset, "--timezone", zone});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  auto l = applied(first.email, "changed=ramp,timezone");
  EXPECT_FALSE(l.empty()) << node_->err();
  EXPECT_TRUE(contains(l, "timezone=" + zone + " ")) << l;
  EXPECT_TRUE(contains(l, "ramp_start=" + std::to_string(warmup::ramp_preset(preset)->start)))
    << l;
  // So does the console's PATCH.
  auto api = client(url);
  auto patched = api.call("PATCH", "/api/v1/mailboxes/" + std::to_string(second.id),
                          R"({"display_name":"Renamed Sender"})");
  EXPECT_EQ(patched["display_name"], "Renamed Sender") << patched.dump();
  EXPECT_FALSE(applied(second.email, "changed=display_name").empty()) << node_->err();
  // A pause written to the store (no node answering the CLI) reaches the actor through the
  // same look; its settings did not change, so nothing is applied to them.
  const auto third = all[2].settings;
  auto pause = warmup({"mailbox", "pause", third.email, "--node", dead_node});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  const auto paused_line = "event=mailbox_paused_by_user mailbox=" + std::to_string(third.id) + " ";
  while (!contains(node_->err(), paused_line) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(contains(node_->err(), paused_line)) << node_->err();
  // The pause line and the settings came in one listing; the actor has had a second.
  EXPECT_TRUE(applied(third.email, "changed=", 1s).empty()) << node_->err();
}
