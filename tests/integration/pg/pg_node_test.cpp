// pg_node_test.cpp: a node on PostgreSQL: kill -9 and restart (the same day's plan goes on,
// no slot sent twice), the database restarted under a running node (nothing lost or
// doubled, readiness down meanwhile), a shard's lease stolen (its later writes refused,
// the shard stops), and --no-wait with no database.
#include "../cli/cli_process.hpp"
#include "../../unit/storage/pg_test_server.hpp"

#include "actors/node.hpp"
#include "app/demo_pool.hpp"
#include "messages/messages.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"
#include "warmup/calendar.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace warmup::cli_test;
namespace storage = warmup::storage;
namespace pgt = warmup::storage::testing;
using warmup::day_number;
using warmup::mailbox_id;
using warmup::slot_key;
using warmup::time_ms;
using namespace std::chrono_literals;

namespace {

struct store_picture {
  std::map<slot_key, storage::intent_row> intents;
  std::map<std::pair<mailbox_id, day_number>, storage::plan_record> plans;
  std::vector<storage::mailbox_record> mailboxes;
  std::uint64_t stats_sent = 0;
  time_ms engine_now = -1;
  std::size_t sent = 0;
};

store_picture picture_of(storage::store& db) {
  store_picture p;
  storage::mailbox_filter all;
  all.include_removed = true;
  p.mailboxes = db.list_mailboxes(all);
  for (const auto& m : p.mailboxes) {
    for (auto& row : db.intents(m.settings.id, std::numeric_limits<day_number>::min(),
                                std::numeric_limits<day_number>::max())) {
      if (row.outcome && row.outcome->status == storage::intent_status::sent)
        ++p.sent;
      auto day = std::make_pair(row.intent.key.mailbox, row.intent.key.day);
      if (!p.plans.count(day))
        if (auto plan = db.plan(day.first, day.second))
          p.plans.emplace(day, std::move(*plan));
      p.intents.emplace(row.intent.key, std::move(row));
    }
    for (const auto& d : db.stats(m.settings.id, std::numeric_limits<day_number>::min(),
                                  std::numeric_limits<day_number>::max()))
      p.stats_sent += d.sent;
  }
  if (auto now = db.get_meta("engine.now_ms"))
    p.engine_now = std::stoll(*now);
  return p;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}


std::string log_line(const std::string& log, const std::string& event) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (contains(line, "event=" + event + " "))
      return line;
  return {};
}

// GET `path` from the console at `base` (http://HOST:PORT): "<status> <body>", "" when
// nothing answered within a second.
std::string http_get(const std::string& base, const std::string& path) {
  auto hostport = base.substr(base.find("://") + 3);
  auto colon = hostport.rfind(':');
  int port = std::stoi(hostport.substr(colon + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return {};
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  auto sp = out.find(' ');
  if (sp == std::string::npos)
    return {};
  auto body = out.find("\r\n\r\n");
  return out.substr(sp + 1, 3) + " " + (body == std::string::npos ? "" : out.substr(body + 4));
}

std::size_t sent_in(const std::string& url) {
  try {
    return picture_of(*storage::open_store(url, "", /*read_only=*/true)).sent;
  } catch (const storage::store_error&) {
    return 0;  // the node is still creating the schema
  }
}

// Every sent intent has its own Message-ID, registered once; nothing else registered;
// nothing pending; the sent counters add up to the sent intents.
void expect_no_send_lost_or_doubled(storage::store& db, const store_picture& p) {
  EXPECT_TRUE(db.pending_intents().empty());
  std::set<std::string> ids;
  for (const auto& [key, row] : p.intents) {
    EXPECT_TRUE(row.outcome) << to_string(key) << " has no outcome";
    if (!row.outcome || row.outcome->status != storage::intent_status::sent)
      continue;
    EXPECT_TRUE(ids.insert(row.intent.message_id).second) << row.intent.message_id;
    auto reg = db.find_message(row.intent.message_id);
    ASSERT_TRUE(reg) << "sent intent " << to_string(key) << " has no registry row";
    EXPECT_EQ(reg->from, key.mailbox);
  }
  EXPECT_EQ(db.count_messages(), p.sent);
  EXPECT_EQ(p.stats_sent, p.sent) << "stats count sends the intents do not (a batch applied "
                                     "twice?)";
}

// A PostgreSQL server of the test's own (the shared one serves other tests at the same
// time), in a short temp path (its unix socket path must stay under 108 bytes); stopped and
// removed when the test leaves, however it leaves. The script's output lands in `log`.
class private_pg_server {
public:
  explicit private_pg_server(std::filesystem::path log) : log_(std::move(log)) {
    dir_ = (std::filesystem::temp_directory_path() / "wpg-XXXXXX").string();
    if (::mkdtemp(dir_.data()) == nullptr)
      dir_.clear();
  }
  ~private_pg_server() {
    if (dir_.empty())
      return;
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  private_pg_server(const private_pg_server&) = delete;
  private_pg_server& operator=(const private_pg_server&) = delete;

  bool made() const { return !dir_.empty(); }
  // Exit codes of deploy/pg-test-server.sh; `port` empty: any free port.
  int start(const std::string& port = "") {
    return sh("start '" + dir_ + "'" + (port.empty() ? "" : " " + port));
  }
  int stop() { return sh("stop '" + dir_ + "'"); }
  std::string port() const {
    auto p = read_text(std::filesystem::path(dir_) / "port");
    while (!p.empty() && (p.back() == '\n' || p.back() == ' '))
      p.pop_back();
    return p;
  }
  std::string log() const { return read_text(log_); }

private:
  int sh(const std::string& args) const {
    const char* source = std::getenv("WARMUP_SOURCE_DIR");
    const auto script =
      (source != nullptr && *source != '\0'
         ? std::filesystem::path(source)
         : std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "..")
      / "deploy" / "pg-test-server.sh";
    const auto cache = std::filesystem::temp_directory_path()
                       / ("warmup-pg-initdb-cache-" + std::to_string(::getuid())) / "data";
    return std::system(("PG_TEST_INITDB_CACHE='" + cache.string() + "' '" + script.string()
                        + "' " + args + " >" + log_.string() + " 2>&1")
                         .c_str());
  }
  std::filesystem::path log_;
  std::string dir_;
};

class pg_node : public cli_test {
protected:
  void SetUp() override {
    cli_test::SetUp();
    url_ = pgt::create_pg_database(/*migrated=*/false);
    env_["DATABASE_URL"] = url_;
    env_["WARMUP_CLOCK_START"] = "2026-01-05T09:00";
    env_["WARMUP_NODE_SHARD_COUNT"] = "16";
    env_["WARMUP_NODE_NAME"] = "pg-node-test";
  }
  void TearDown() override {
    try {
      pgt::drop_pg_database(url_);
    } catch (const std::exception&) {
    }
    cli_test::TearDown();
  }
  std::string url_;
};

}  // namespace

// (a) kill -9 of a node on PostgreSQL and a restart: the same checks as on SQLite.
TEST_F(pg_node, killed_node_restarts_continuing_the_same_day_and_sends_no_slot_twice) {
  const auto data = dir_ / "data";
  const std::vector<std::string> run = {"run",    "--demo", "40",          "--time-scale", "1440",
                                        "--data", data.string(), "--seed", "7", "--console", "off"};
  store_picture before;
  {
    background_node node(run, env_, dir_ / "run1.out", dir_ / "run1.err");
    std::size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (sent < 20 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      ASSERT_TRUE(node.running()) << node.err();
      sent = sent_in(url_);
    }
    ASSERT_GE(sent, 20u) << node.err();
    auto status = node.signal_and_wait(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_TRUE(contains(log_line(node.err(), "node_started"), "reconciled=0 ")) << node.err();
  }
  // An intent left without outcome, as a crash between intent and hand-off leaves it,
  // under the killed node's lease (its owner name survives the process).
  const std::string injected_id = "<pg-kill-restart-in-flight@warmup.test>";
  slot_key injected;
  {
    auto db = storage::open_store(url_, "");
    before = picture_of(*db);
    ASSERT_GT(before.engine_now, 0);
    bool found = false;
    for (const auto& m : before.mailboxes) {
      auto day = warmup::local_day(before.engine_now, m.settings.timezone);
      auto plan = db->plan(m.settings.id, day);
      for (std::uint32_t i = 0; plan && i < plan->slot_times.size() && !found; ++i) {
        auto at = plan->slot_times[i];
        slot_key key{m.settings.id, day, i};
        if (at < before.engine_now + 30 * warmup::ms_per_minute
            || at > before.engine_now + 90 * warmup::ms_per_minute || before.intents.count(key))
          continue;
        auto shard = warmup::shard_of(m.settings.email, 16);
        auto held = db->get_lease(shard);
        ASSERT_TRUE(held);
        EXPECT_EQ(held->owner, "pg-node-test");
        storage::write_batch b;
        b.shard = shard;
        b.epoch = held->epoch;
        auto peer = before.mailboxes[&m == &before.mailboxes.front() ? 1 : 0].settings.id;
        b.intents.push_back({key, peer, injected_id, at, before.engine_now});
        auto r = db->apply(b);
        ASSERT_FALSE(r.stale_epoch);
        injected = key;
        found = true;
      }
      if (found)
        break;
    }
    ASSERT_TRUE(found);
    before = picture_of(*db);
  }
  auto restart_args = run;
  restart_args.insert(restart_args.end(), {"--for", "6s"});
  auto restarted = warmup(restart_args);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;

  auto db = storage::open_store(url_, "", true);
  auto after = picture_of(*db);
  for (const auto& left : db->pending_intents())
    ADD_FAILURE() << "intent " << to_string(left.key) << " (" << left.message_id
                  << ", planned at " << left.planned_at << ", recorded at " << left.recorded_at
                  << ") has no outcome after a clean stop; its message "
                  << (db->find_message(left.message_id) ? "is" : "is not")
                  << " in the registry (sent); engine time at the kill "
                  << before.engine_now << ", after the restart " << after.engine_now
                  << "; the restarted node's log:\n"
                  << restarted.err;
  for (const auto& [key, row] : before.intents) {
    auto it = after.intents.find(key);
    ASSERT_NE(it, after.intents.end()) << to_string(key) << " vanished";
    EXPECT_EQ(it->second.intent.message_id, row.intent.message_id);
    ASSERT_TRUE(it->second.outcome);
    if (row.outcome)
      EXPECT_EQ(it->second.outcome->status, row.outcome->status) << to_string(key);
    else
      EXPECT_EQ(it->second.outcome->status, storage::intent_status::skipped) << to_string(key);
  }
  EXPECT_FALSE(db->find_message(injected_id)) << "the in-flight intent was sent";
  EXPECT_GT(after.engine_now, before.engine_now);
  EXPECT_GT(after.sent, before.sent);
  std::size_t continued = 0;
  for (const auto& [key, row] : after.intents)
    if (!before.intents.count(key)) {
      EXPECT_GE(row.intent.recorded_at, before.engine_now) << to_string(key);
      if (before.plans.count({key.mailbox, key.day}))
        ++continued;
    }
  EXPECT_GT(continued, 0u) << "no mailbox continued a day it had started before the kill";
  for (const auto& [day, plan] : before.plans) {
    auto now = after.plans.find(day);
    ASSERT_NE(now, after.plans.end());
    EXPECT_EQ(now->second.slot_times, plan.slot_times) << "plan of mailbox " << day.first;
  }
  std::set<std::string> ids;
  for (const auto& [key, row] : after.intents) {
    if (row.outcome && row.outcome->status == storage::intent_status::sent) {
      EXPECT_TRUE(ids.insert(row.intent.message_id).second) << row.intent.message_id;
    }
  }
  EXPECT_EQ(db->count_messages(), after.sent);
  auto started = log_line(restarted.err, "node_started");
  EXPECT_TRUE(contains(started, "max_epoch=2 ")) << started;
  // The node registered itself, and gave its leases back on the clean stop.
  auto nodes = db->list_nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, "pg-node-test");
  auto lease = db->get_lease(0);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->epoch, 2u);
}

// (b) The database restarted (stop, then start on the same port) under a running node.
TEST_F(pg_node, database_restart_under_a_running_node_loses_and_doubles_nothing) {
  private_pg_server pg(dir_ / "pg.out");
  ASSERT_TRUE(pg.made());
  ASSERT_EQ(pg.start(), 0) << pg.log();
  auto server = pg.log();
  while (!server.empty() && server.back() == '\n')
    server.pop_back();
  server = server.substr(server.rfind('\n') == std::string::npos ? 0 : server.rfind('\n') + 1);
  ASSERT_EQ(server.rfind("postgresql://", 0), 0u) << server;
  const auto port = pg.port();
  const std::string url = server;  // database postgres of the private server
  env_["DATABASE_URL"] = url;

  const auto data = dir_ / "data";
  background_node node({"run", "--demo", "40", "--time-scale", "1440", "--data", data.string(),
                        "--seed", "7", "--console", "127.0.0.1:0"},
                       env_, dir_ / "run.out", dir_ / "run.err");
  std::size_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (sent < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(node.running()) << node.err();
    sent = sent_in(url);
  }
  ASSERT_GE(sent, 20u) << node.err();
  std::string console;
  {
    auto out = read_text(dir_ / "run.out");
    auto at = out.find("console at ");
    ASSERT_NE(at, std::string::npos) << out;
    console = out.substr(at + 11, out.find('\n', at) - at - 11);
  }
  EXPECT_EQ(http_get(console, "/readyz").substr(0, 3), "200") << console;

  // The outage: about two seconds (the leases last 30 s). /readyz says 503 meanwhile,
  // with the gateway's reason.
  ASSERT_EQ(pg.stop(), 0) << pg.log();
  std::string during;
  auto outage_end = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < outage_end) {
    auto r = http_get(console, "/readyz");
    if (contains(r, "writes wait"))
      during = r;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(during.substr(0, 3), "503") << "no 503 with the gateway's reason during the outage";
  ASSERT_TRUE(node.running()) << node.err();
  ASSERT_EQ(pg.start(port), 0) << pg.log();
  // It goes on: more sends after the outage.
  std::size_t after_outage = 0;
  deadline = std::chrono::steady_clock::now() + 30s;
  while (after_outage < sent + 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(node.running()) << node.err();
    after_outage = sent_in(url);
  }
  EXPECT_GE(after_outage, sent + 20) << "the node did not go on after the outage:\n"
                                     << node.err();
  EXPECT_EQ(http_get(console, "/readyz").substr(0, 3), "200") << "not ready after the outage";
  auto status = node.signal_and_wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << node.err();
  auto log = node.err();
  EXPECT_FALSE(log_line(log, "store_unreachable").empty()) << log;
  EXPECT_FALSE(log_line(log, "store_reconnected").empty()) << log;
  EXPECT_TRUE(contains(log_line(log, "node_stopped"), "flushed=true")) << log;
  EXPECT_TRUE(log_line(log, "shard_lease_lost").empty()) << log;

  auto db = storage::open_store(url, "", true);
  auto p = picture_of(*db);
  expect_no_send_lost_or_doubled(*db, p);
}

// (c) Another owner steals a shard's lease: the node's later writes for that shard are
// refused, the shard stops and says so; the other shards go on.
TEST_F(pg_node, stolen_lease_stops_the_shard_and_nothing_it_writes_afterwards_is_kept) {
  warmup::config::engine_config cfg;
  cfg.store.database_url = url_;
  cfg.node.shard_count = 4;
  cfg.node.name = "node-a";
  cfg.node.scheduler_threads = 2;
  cfg.store.lazy_commit_ms = 50;
  cfg.clock.time_scale = 1440;
  const time_ms start = 20458LL * warmup::ms_per_day + 9 * 60 * warmup::ms_per_minute;  // 2026-01-05 09:00
  std::shared_ptr<storage::store> store = storage::open_store(url_, "");
  warmup::app::create_demo_pool(*store, cfg, 40, 7, start);
  auto mailboxes = store->list_mailboxes({});
  auto count_shard = [&](storage::store& db, warmup::shard_id s) {
    std::size_t n = 0;
    for (const auto& m : mailboxes)
      if (warmup::shard_of(m.settings.email, 4) == s)
        n += db.intents(m.settings.id, std::numeric_limits<day_number>::min(),
                        std::numeric_limits<day_number>::max())
               .size();
    return n;
  };
  auto count_all = [&](storage::store& db) {
    std::size_t n = 0;
    for (warmup::shard_id s = 0; s < 4; ++s)
      n += count_shard(db, s);
    return n;
  };

  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", 2);
  sys_cfg.add_message_types<caf::id_block::warmup>();
  caf::actor_system sys{sys_cfg};
  warmup::engine_node node(sys, cfg, warmup::engine_clock::accelerated(start, 1440), store);
  auto co = node.cluster();
  ASSERT_TRUE(co.enabled);
  co.lease_ttl = 3000;
  co.renew_every = 200ms;
  node.use_cluster(co);
  node.start();
  auto thief = storage::open_store(url_, "");
  // Wait for every shard to have written something.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  const warmup::shard_id victim = 1;
  while (count_shard(*thief, victim) < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  ASSERT_GE(count_shard(*thief, victim), 3u);
  auto held = thief->get_lease(victim);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->owner, "node-a");
  // The node looks dead to the cluster (its lease ran out), and node-b takes the shard.
  thief->release_lease(victim, "node-a", held->epoch);
  auto stolen = thief->acquire_lease(victim, "node-b", 0, 60000);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(*stolen, held->epoch + 1);
  // The acquire waited for any write holding the lease row: from here on, nothing of the
  // node's for that shard may land.
  const auto at_steal = count_shard(*thief, victim);
  const auto others_at_steal = count_all(*thief) - at_steal;

  bool stopped = false;
  deadline = std::chrono::steady_clock::now() + 10s;
  while (!stopped && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    auto views = node.gather_shard_views(2s);
    ASSERT_TRUE(views[victim]);
    stopped = views[victim]->stopped;
  }
  EXPECT_TRUE(stopped) << "the shard did not stop after losing its lease";
  for (warmup::shard_id s = 0; s < 4; ++s)
    if (s != victim) {
      auto v = node.gather_shard_views(2s)[s];
      ASSERT_TRUE(v);
      EXPECT_FALSE(v->stopped) << "shard " << s;
    }
  // The others go on.
  deadline = std::chrono::steady_clock::now() + 10s;
  while (count_all(*thief) - count_shard(*thief, victim) <= others_at_steal
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_GT(count_all(*thief) - count_shard(*thief, victim), others_at_steal);
  node.stop();
  EXPECT_EQ(count_shard(*thief, victim), at_steal) << "writes of the lost shard were kept";
  auto now_held = thief->get_lease(victim);
  ASSERT_TRUE(now_held);
  EXPECT_EQ(now_held->owner, "node-b");
  EXPECT_EQ(now_held->epoch, *stolen);
  // The node gave back the leases it still held on its clean stop.
  auto other = thief->get_lease(0);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->owner, "node-a");
  EXPECT_EQ(other->expires_at, 0);
}

// The database not up yet at start-up: the node says so, retries with backoff (each
// attempt logged, never the password) and starts once the server is there.
TEST_F(pg_node, node_waits_for_a_database_that_comes_up_later) {
  private_pg_server pg(dir_ / "pg.out");
  ASSERT_TRUE(pg.made());
  // A port the server can have: started once, then stopped before the node starts.
  ASSERT_EQ(pg.start(), 0) << pg.log();
  auto port = pg.port();
  while (!port.empty() && port.back() == '\n')
    port.pop_back();
  ASSERT_EQ(pg.stop(), 0);
  env_["DATABASE_URL"] = "postgresql://postgres:not-the-password@127.0.0.1:" + port + "/postgres";
  background_node node({"run", "--demo", "10", "--time-scale", "1440", "--data",
                        (dir_ / "data").string(), "--console", "off"},
                       env_, dir_ / "run.out", dir_ / "run.err");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (log_line(node.err(), "store_unreachable_at_start").empty()
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_FALSE(log_line(node.err(), "store_unreachable_at_start").empty()) << node.err();
  ASSERT_TRUE(node.running()) << node.err();
  ASSERT_EQ(pg.start(port), 0) << pg.log();
  deadline = std::chrono::steady_clock::now() + 30s;
  while (log_line(node.err(), "node_started").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(log_line(node.err(), "node_started").empty()) << node.err();
  EXPECT_TRUE(contains(log_line(node.err(), "store_connected"), "attempts=")) << node.err();
  EXPECT_FALSE(contains(node.err(), "not-the-password")) << node.err();
  auto status = node.signal_and_wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << node.err();
}

// The database unreachable at start-up: --no-wait exits 2 at once with a clear message
// that never shows the password.
TEST_F(pg_node, no_wait_exits_2_when_the_database_is_unreachable) {
  env_["DATABASE_URL"] = "postgresql://warmup:s3cret-pw@127.0.0.1:1/warmup";
  auto r = warmup({"run", "--no-wait", "--data", (dir_ / "data").string(), "--console", "off"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "unreachable")) << r.err;
  EXPECT_FALSE(contains(r.err, "s3cret-pw")) << r.err;
  EXPECT_FALSE(contains(r.out, "s3cret-pw")) << r.out;
}
