// config_test.cpp: the configuration loader: defaults, presets, file values, precedence of
// the layers, every kind of validation error (with lines), unknown keys and variables.
#include "config/config.hpp"

#include "warmup/ramp.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace warmup;
using namespace warmup::config;
using env_map = std::map<std::string, std::string>;

namespace {

// A TOML file in a fresh temporary directory, removed with the fixture.
class config_file : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path()
           / ("warmup-config-test-" + std::to_string(::getpid()) + "-"
              + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& text, const std::string& name = "warmup.toml") {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Loads `text` and returns the error it must raise.
  config_error error_of(const std::string& text, const env_map& env = {}) {
    auto path = write(text);
    try {
      load(path, env);
    } catch (const config_error& e) {
      return e;
    }
    ADD_FAILURE() << "no config_error for:\n" << text;
    return config_error("none", 0, "", "");
  }

  fs::path dir_;
};

config_error env_error_of(const env_map& env) {
  try {
    load(std::nullopt, env);
  } catch (const config_error& e) {
    return e;
  }
  ADD_FAILURE() << "no config_error from the environment";
  return config_error("none", 0, "", "");
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

const env_map home_env = {{"HOME", "/home/anna"}};

}  // namespace

// ---------------------------------------------------------------------------------------
// Defaults and presets

TEST(config_defaults, match_the_schema_and_the_standard_preset) {
  auto c = load(std::nullopt, home_env);
  EXPECT_EQ(c.transport, "sandbox");
  EXPECT_EQ(c.default_timezone, "UTC");
  EXPECT_EQ(c.ramp_preset, "standard");
  EXPECT_EQ(c.ramp, *ramp_preset("standard"));
  EXPECT_EQ(c.window, window_params{});
  EXPECT_EQ(c.engagement, engagement_params{});
  EXPECT_EQ(c.health, health_params{});
  EXPECT_EQ(c.peers, peer_rules{});
  EXPECT_EQ(c.node.shard_count, 256u);
  EXPECT_EQ(c.node.scheduler_threads, 2);
  EXPECT_FALSE(c.node.name.empty()) << "defaults to the host name";
  EXPECT_DOUBLE_EQ(c.clock.time_scale, 1.0);
  EXPECT_EQ(c.store.database_url, "");
  EXPECT_EQ(c.sandbox.seed, 1u);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.data_dir, "/home/anna/.local/share/warmup");
  EXPECT_TRUE(c.notices.empty());
}

TEST_F(config_file, preset_sets_the_ramp_and_explicit_keys_override_it) {
  auto fast = load(write("[ramp]\npreset = \"fast\"\n"), home_env);
  EXPECT_EQ(fast.ramp_preset, "fast");
  EXPECT_EQ(fast.ramp, *ramp_preset("fast"));
  EXPECT_NE(fast.ramp, *ramp_preset("standard"));

  auto custom = load(write("[ramp]\npreset = \"slow\"\nstart = 4\nvariance = 0.1\n"), home_env);
  auto expected = *ramp_preset("slow");
  expected.start = 4;
  expected.variance = 0.1;
  EXPECT_EQ(custom.ramp, expected);
}

TEST_F(config_file, environment_preset_replaces_the_curve_but_keeps_explicit_file_keys) {
  auto path = write("[ramp]\npreset = \"fast\"\nstart = 4\n");
  auto c = load(path, {{"WARMUP_RAMP_PRESET", "slow"}});
  auto expected = *ramp_preset("slow");
  expected.start = 4;
  EXPECT_EQ(c.ramp_preset, "slow");
  EXPECT_EQ(c.ramp, expected);
}

// ---------------------------------------------------------------------------------------
// File values

TEST_F(config_file, a_bad_console_token_is_named_but_never_printed) {
  auto path = write("[console]\ntoken = \"hunter2 secret\"\n");
  try {
    load(path, home_env);
    FAIL() << "a token with a space must be refused";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key, "console.token");
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(hidden)"), std::string::npos) << e.what();
  }
}

TEST_F(config_file, mail_section_reads_and_validates) {
  auto path = write("[mail]\nworkers = 3\nper_host = 2\ncleanup_days = 0\n"
                    "warmup_folder = \"Warm Up\"\n");
  auto env = home_env;
  env["WARMUP_MAIL_CLEANUP_ACTION"] = "archive";
  auto c = load(path, env);
  EXPECT_EQ(c.mail.workers, 3);
  EXPECT_EQ(c.mail.per_host, 2);
  EXPECT_EQ(c.mail.cleanup_days, 0);
  EXPECT_EQ(c.mail.warmup_folder, "Warm Up");
  EXPECT_EQ(c.mail.cleanup_action, "archive");
  auto bad = write("[mail]\nwarmup_folder = \"INBOX/Warmup\"\n");
  try {
    load(bad, home_env);
    FAIL() << "a folder with a hierarchy delimiter must be refused";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key, "mail.warmup_folder");
    EXPECT_EQ(e.line, 2);
  }
}

TEST_F(config_file, mailbox_tables_are_kept_with_their_lines) {
  auto path = write("[ramp]\nstart = 3\n\n[[mailbox]]\nemail = \"a@corp.example\"\n"
                    "smtp_port = 587\ntls_verify = false\n\n[[mailbox]]\nemail = \"b@x.example\"\n");
  auto c = load(path, home_env);
  ASSERT_EQ(c.mailboxes.size(), 2u);
  EXPECT_EQ(c.mailboxes[0].fields.at("email"), "a@corp.example");
  EXPECT_EQ(c.mailboxes[0].fields.at("smtp_port"), "587");
  EXPECT_EQ(c.mailboxes[0].fields.at("tls_verify"), "false");
  EXPECT_EQ(c.mailboxes[0].lines.at("smtp_port"), 6);
  EXPECT_EQ(c.mailboxes[1].line, 9);
  EXPECT_EQ(c.ramp.start, 3);
}

TEST_F(config_file, bad_mailbox_tables_name_the_line_and_field) {
  struct bad {
    std::string text;
    int line;
    std::string key;
    std::string says;
  };
  const std::vector<bad> cases = {
    {"[[mailbox]]\nemail = \"a@b.example\"\nsmtp_hots = \"h\"\n", 3, "mailbox.smtp_hots",
     "did you mean \"smtp_host\""},
    {"[[mailbox]]\nname = \"Anna\"\n", 1, "mailbox.email", "without an email"},
    {"[[mailbox]]\nemail = [\"a\"]\n", 2, "mailbox.email", "must be a string"},
    {"mailbox = \"a@b.example\"\n", 1, "mailbox", "[[mailbox]] table"},
  };
  for (const auto& c : cases) {
    auto path = write(c.text);
    try {
      load(path, home_env);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const config_error& e) {
      EXPECT_EQ(e.line, c.line) << e.what();
      EXPECT_EQ(e.key, c.key) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    }
  }
}

TEST_F(config_file, reads_every_section) {
  auto path = write(R"(
data_dir = "/srv/warmup"
transport = "smtp"
default_timezone = "Europe/Berlin"
[node]
name = "node-a"
shard_count = 64
scheduler_threads = 4
[console]
listen = "0.0.0.0:9000"
token = "0123456789abcdef-token"
[clock]
time_scale = 1440
start = "2026-03-02T07:30"
tick_ms = 50
[store]
database_url = "postgresql://warmup@db/warmup"
batch_max = 500
queue_max = 5000
[sandbox]
seed = 99
providers = ["a.sim", "b.sim"]
[log]
level = "debug"
format = "json"
file = "/var/log/warmup.log"
[ramp]
start = 5
step = 1.5
ceiling = 30
variance = 0.1
weekdays_only = true
weekend_factor = 0.0
[window]
start = "09:15"
end = 17:45:00
min_gap_minutes = 20
[engagement]
read_rate = 0.8
important_rate = 0.2
star_rate = 0.1
reply_rate = 0.3
rescue_rate = 0.9
max_thread_turns = 6
[health]
watch_spam = 0.05
throttle_spam = 0.1
pause_spam = 0.3
block_spam = 0.5
bounce_pause = 0.02
min_sample = 30
window_days = 10
recency_decay = 0.9
throttle_cut = 0.3
cooldown_days = 2
[peers]
internal_share = 0.15
other_domain_weight = 4
other_provider_weight = 2.5
healthy_weight = 1.2
pair_decay = 0.5
pair_max = 3
pair_window_days = 5
inbound_cap_factor = 2
min_capacity_weight = 0.1
cc_rate = 0.2
)");
  auto c = load(path, home_env);
  EXPECT_EQ(c.data_dir, "/srv/warmup");
  EXPECT_EQ(c.transport, "smtp");
  EXPECT_EQ(c.default_timezone, "Europe/Berlin");
  EXPECT_EQ(c.node.name, "node-a");
  EXPECT_EQ(c.node.shard_count, 64u);
  EXPECT_EQ(c.node.scheduler_threads, 4);
  EXPECT_EQ(c.console.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.console.token, "0123456789abcdef-token");
  EXPECT_DOUBLE_EQ(c.clock.time_scale, 1440.0);
  EXPECT_EQ(c.clock.start, "2026-03-02T07:30");
  EXPECT_EQ(c.clock.tick_ms, 50);
  EXPECT_EQ(c.store.database_url, "postgresql://warmup@db/warmup");
  EXPECT_EQ(c.store.batch_max, 500);
  EXPECT_EQ(c.store.queue_max, 5000);
  EXPECT_EQ(c.sandbox.seed, 99u);
  EXPECT_EQ(c.sandbox.providers, (std::vector<std::string>{"a.sim", "b.sim"}));
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.file, "/var/log/warmup.log");
  EXPECT_EQ(c.ramp, (ramp_params{5, 1.5, 30, 0.1, true, 0.0}));
  EXPECT_EQ(c.window, (window_params{9 * 60 + 15, 17 * 60 + 45, 20}));
  EXPECT_EQ(c.engagement, (engagement_params{0.8, 0.2, 0.1, 0.3, 0.9, 6}));
  EXPECT_EQ(c.health, (health_params{0.05, 0.1, 0.3, 0.5, 0.02, 30, 10, 0.9, 0.3, 2}));
  EXPECT_EQ(c.peers, (peer_rules{0.15, 4, 2.5, 1.2, 0.5, 3, 5, 2, 0.1, 0.2}));
}

TEST_F(config_file, data_dir_expands_home) {
  auto c = load(write("data_dir = \"~/warm\"\n"), home_env);
  EXPECT_EQ(c.data_dir, "/home/anna/warm");
}

TEST_F(config_file, window_end_may_be_midnight) {
  auto c = load(write("[window]\nstart = \"00:00\"\nend = \"24:00\"\n"), {});
  EXPECT_EQ(c.window.start_minute, 0);
  EXPECT_EQ(c.window.end_minute, 24 * 60);
}

// ---------------------------------------------------------------------------------------
// Precedence: defaults < preset < file < environment < DATABASE_URL < command line

TEST_F(config_file, environment_overrides_the_file) {
  auto path = write("[ramp]\nstart = 5\n[node]\nshard_count = 64\n[clock]\ntime_scale = 10\n");
  auto c = load(path, {{"WARMUP_RAMP_START", "7"},
                       {"WARMUP_NODE_SHARD_COUNT", "128"},
                       {"WARMUP_CLOCK_TIME_SCALE", "1440"},
                       {"WARMUP_TRANSPORT", "smtp"},
                       {"WARMUP_DEFAULT_TIMEZONE", "Asia/Tokyo"},
                       {"WARMUP_RAMP_WEEKDAYS_ONLY", "yes"},
                       {"WARMUP_WINDOW_START", "07:00"},
                       {"WARMUP_SANDBOX_PROVIDERS", "x.sim, y.sim"}});
  EXPECT_EQ(c.ramp.start, 7);
  EXPECT_EQ(c.node.shard_count, 128u);
  EXPECT_DOUBLE_EQ(c.clock.time_scale, 1440.0);
  EXPECT_EQ(c.transport, "smtp");
  EXPECT_EQ(c.default_timezone, "Asia/Tokyo");
  EXPECT_TRUE(c.ramp.weekdays_only);
  EXPECT_EQ(c.window.start_minute, 7 * 60);
  EXPECT_EQ(c.sandbox.providers, (std::vector<std::string>{"x.sim", "y.sim"}));
  EXPECT_TRUE(c.notices.empty());
}

TEST_F(config_file, database_url_beats_the_store_key_and_its_variable) {
  auto path = write("[store]\ndatabase_url = \"postgresql://file/db\"\n");
  auto c = load(path, {{"WARMUP_STORE_DATABASE_URL", "postgresql://env/db"}});
  EXPECT_EQ(c.store.database_url, "postgresql://env/db");
  c = load(path, {{"WARMUP_STORE_DATABASE_URL", "postgresql://env/db"},
                  {"DATABASE_URL", "postgres://url/db"}});
  EXPECT_EQ(c.store.database_url, "postgres://url/db");
}

TEST_F(config_file, command_line_beats_the_environment) {
  auto path = write("[clock]\ntime_scale = 10\n");
  auto c = load(path, {{"WARMUP_CLOCK_TIME_SCALE", "100"}},
                {{"clock.time_scale", "1440", "--time-scale"}});
  EXPECT_DOUBLE_EQ(c.clock.time_scale, 1440.0);
}

TEST(config_env, data_dir_variable_and_defaults) {
  EXPECT_EQ(default_data_dir({{"WARMUP_DATA_DIR", "/d"}, {"XDG_DATA_HOME", "/x"}}), "/d");
  EXPECT_EQ(default_data_dir({{"XDG_DATA_HOME", "/x"}, {"HOME", "/h"}}), "/x/warmup");
  EXPECT_EQ(default_data_dir({{"XDG_DATA_HOME", "relative"}, {"HOME", "/h"}}),
            "/h/.local/share/warmup")
    << "XDG says relative values are ignored";
  EXPECT_EQ(default_data_dir({{"HOME", "/h"}}), "/h/.local/share/warmup");
  EXPECT_EQ(load(std::nullopt, {{"WARMUP_DATA_DIR", "/e"}, {"HOME", "/h"}}).data_dir, "/e");
}

TEST(config_env, process_environment_keeps_only_relevant_variables) {
  ::setenv("WARMUP_TEST_PROBE", "1", 1);
  ::setenv("UNRELATED_TEST_PROBE", "1", 1);
  auto env = process_environment();
  EXPECT_EQ(env.count("WARMUP_TEST_PROBE"), 1u);
  EXPECT_EQ(env.count("UNRELATED_TEST_PROBE"), 0u);
  ::unsetenv("WARMUP_TEST_PROBE");
  ::unsetenv("UNRELATED_TEST_PROBE");
}

TEST(config_env, env_names_follow_section_and_key) {
  EXPECT_EQ(env_name("ramp.start"), "WARMUP_RAMP_START");
  EXPECT_EQ(env_name("node.shard_count"), "WARMUP_NODE_SHARD_COUNT");
  EXPECT_EQ(env_name("data_dir"), "WARMUP_DATA_DIR");
}

// ---------------------------------------------------------------------------------------
// Validation errors: source, line, key, value and what is allowed

TEST_F(config_file, out_of_range_integer_names_file_line_key_value_and_range) {
  auto e = error_of("# comment\n\n[ramp]\nstart = -3\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "ramp.start");
  EXPECT_TRUE(contains(e.source, "warmup.toml"));
  EXPECT_TRUE(std::regex_search(
    std::string(e.what()),
    std::regex("warmup\\.toml:4: ramp\\.start = -3: must be an integer from 0 to 1000$")))
    << e.what();
}

TEST_F(config_file, wrong_type_says_what_was_given) {
  auto e = error_of("[node]\nshard_count = \"many\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "node.shard_count");
  EXPECT_TRUE(contains(e.what(), "\"many\"")) << e.what();
  EXPECT_TRUE(contains(e.what(), "1 to 65536")) << e.what();
  EXPECT_TRUE(contains(e.what(), "got a string")) << e.what();
}

TEST_F(config_file, each_range_rule_is_enforced) {
  struct bad {
    std::string text;
    std::string key;
    std::string allowed;
  };
  const std::vector<bad> cases = {
    {"[node]\nshard_count = 0\n", "node.shard_count", "from 1 to 65536"},
    {"[node]\nshard_count = 65537\n", "node.shard_count", "from 1 to 65536"},
    {"[console]\nlisten = \"localhost\"\n", "console.listen", "HOST:PORT"},
    {"[console]\ntoken = \"short\"\n", "console.token", "at least 16 characters"},
    {"[clock]\ntime_scale = 0\n", "clock.time_scale", "greater than 0"},
    {"[clock]\ntime_scale = 2e6\n", "clock.time_scale", "at most 1e+06"},
    {"[clock]\nstart = \"tomorrow\"\n", "clock.start", "YYYY-MM-DD"},
    {"[engagement]\nread_rate = 1.5\n", "engagement.read_rate", "from 0 to 1"},
    {"[health]\nrecency_decay = 0\n", "health.recency_decay", "greater than 0"},
    {"[peers]\ncc_rate = -0.1\n", "peers.cc_rate", "from 0 to 1"},
    {"transport = \"carrier-pigeon\"\n", "transport", "one of sandbox, smtp"},
    {"default_timezone = \"Mars/Olympus\"\n", "default_timezone", "IANA"},
    {"[log]\nlevel = \"loud\"\n", "log.level", "trace, debug, info, warn, error, off"},
    {"[log]\nformat = \"xml\"\n", "log.format", "text, json"},
    {"[ramp]\npreset = \"turbo\"\n", "ramp.preset", "slow, standard, fast"},
    {"[window]\nstart = \"8am\"\n", "window.start", "HH:MM"},
    {"[window]\nend = \"24:30\"\n", "window.end", "HH:MM"},
    {"[store]\ndatabase_url = \"mysql://x\"\n", "store.database_url", "postgresql://"},
    {"[sandbox]\nproviders = []\n", "sandbox.providers", "the list is empty"},
    {"[sandbox]\nproviders = [\"a.sim\", \"a.sim\"]\n", "sandbox.providers", "appears twice"},
    {"[ramp]\nweekdays_only = \"yes\"\n", "ramp.weekdays_only", "true or false"},
    {"[ramp]\nstart = 2.5\n", "ramp.start", "got a floating-point number"},
  };
  for (const auto& c : cases) {
    auto e = error_of(c.text);
    EXPECT_EQ(e.key, c.key) << c.text;
    EXPECT_EQ(e.line, 2 - (c.text.front() != '[')) << c.text;
    EXPECT_TRUE(contains(e.what(), c.allowed)) << c.text << " -> " << e.what();
  }
}

TEST_F(config_file, ramp_start_above_ceiling_blames_the_explicit_key) {
  auto e = error_of("[ramp]\n\nstart = 50\n");
  EXPECT_EQ(e.key, "ramp.start");
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(contains(e.what(), "must not exceed ramp.ceiling")) << e.what();
  EXPECT_TRUE(contains(e.what(), "ramp preset \"standard\"")) << e.what();

  auto e2 = error_of("[ramp]\nstart = 20\nceiling = 10\n");
  EXPECT_EQ(e2.key, "ramp.start") << "same layer: the first key of the pair";
  EXPECT_TRUE(contains(e2.what(), "set at")) << e2.what();

  auto e3 = error_of("[ramp]\nstart = 20\n", {{"WARMUP_RAMP_CEILING", "10"}});
  EXPECT_EQ(e3.key, "ramp.ceiling") << "the environment is the later layer";
  EXPECT_EQ(e3.source, "environment");
  EXPECT_TRUE(contains(e3.what(), "WARMUP_RAMP_CEILING=10")) << e3.what();
  EXPECT_TRUE(contains(e3.what(), "must not be below ramp.start")) << e3.what();
}

TEST_F(config_file, window_start_must_precede_end) {
  auto e = error_of("[window]\nstart = \"19:00\"\n");
  EXPECT_EQ(e.key, "window.start");
  EXPECT_EQ(e.line, 2);
  EXPECT_TRUE(contains(e.what(), "must be earlier than window.end")) << e.what();
  EXPECT_TRUE(contains(e.what(), "\"18:30\"")) << e.what();
}

TEST_F(config_file, health_bands_must_be_ordered) {
  auto e = error_of("[health]\npause_spam = 0.5\n");
  EXPECT_EQ(e.key, "health.pause_spam");
  EXPECT_TRUE(contains(e.what(), "health.block_spam")) << e.what();
}

TEST_F(config_file, queue_must_hold_a_batch) {
  auto e = error_of("[store]\nqueue_max = 10\n");
  EXPECT_EQ(e.key, "store.queue_max");
  EXPECT_TRUE(contains(e.what(), "store.batch_max")) << e.what();
}

TEST_F(config_file, syntax_error_names_the_line) {
  auto e = error_of("[node]\nshard_count = 4\nname = \"unterminated\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(contains(e.what(), "not valid TOML")) << e.what();
}

TEST_F(config_file, missing_file_is_an_error) {
  try {
    load((dir_ / "nope.toml").string(), {});
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_TRUE(contains(e.what(), "nope.toml")) << e.what();
    EXPECT_TRUE(contains(e.what(), "cannot read")) << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// Unknown keys and sections

TEST_F(config_file, unknown_key_suggests_the_close_one) {
  auto e = error_of("[ramp]\nstart = 3\nceilng = 30\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "ramp.ceilng");
  EXPECT_TRUE(contains(e.what(), "unknown key \"ceilng\" in [ramp]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "did you mean \"ceiling\"")) << e.what();
}

TEST_F(config_file, unknown_key_without_a_close_one_lists_the_keys) {
  auto e = error_of("[log]\ncolour = true\n");
  EXPECT_FALSE(contains(e.what(), "did you mean")) << e.what();
  EXPECT_TRUE(contains(e.what(), "level, format, file")) << e.what();
}

TEST_F(config_file, unknown_section_suggests_the_close_one) {
  auto e = error_of("[node]\n\n[rmap]\nstart = 3\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(contains(e.what(), "unknown section [rmap]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "did you mean [ramp]")) << e.what();
}

TEST_F(config_file, section_key_at_top_level_points_to_its_section) {
  auto e = error_of("shard_count = 8\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_TRUE(contains(e.what(), "did you mean \"shard_count\" in [node]")) << e.what();
}

TEST_F(config_file, section_written_as_a_value) {
  auto e = error_of("ramp = 3\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_TRUE(contains(e.what(), "write it as [ramp]")) << e.what();
}

// ---------------------------------------------------------------------------------------
// The environment: bad values, unknown and legacy variables

TEST(config_env, bad_value_names_the_variable) {
  auto e = env_error_of({{"WARMUP_RAMP_START", "abc"}});
  EXPECT_EQ(e.source, "environment");
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.key, "ramp.start");
  EXPECT_STREQ(e.what(),
               "environment WARMUP_RAMP_START=abc: ramp.start must be an integer from 0 to 1000");
}

TEST(config_env, bad_values_of_each_kind) {
  for (const auto& [var, value] : std::vector<std::pair<std::string, std::string>>{
         {"WARMUP_CLOCK_TIME_SCALE", "0"},
         {"WARMUP_CLOCK_TIME_SCALE", "fast"},
         {"WARMUP_CLOCK_TIME_SCALE", "inf"},
         {"WARMUP_NODE_SHARD_COUNT", "12x"},
         {"WARMUP_RAMP_WEEKDAYS_ONLY", "maybe"},
         {"WARMUP_WINDOW_END", "25:00"},
         {"WARMUP_TRANSPORT", "fax"},
         {"WARMUP_DEFAULT_TIMEZONE", "Nowhere/City"},
         {"WARMUP_SANDBOX_PROVIDERS", ""},
         {"DATABASE_URL", "oracle://x"}}) {
    auto e = env_error_of({{var, value}});
    EXPECT_TRUE(contains(e.what(), var + "=" + value)) << e.what();
  }
}

TEST(config_env, unknown_variable_is_a_notice_with_a_suggestion) {
  auto c = load(std::nullopt, {{"WARMUP_RAMP_STRAT", "4"}, {"WARMUP_FOO", "1"}});
  ASSERT_EQ(c.notices.size(), 2u);
  auto all = c.notices[0] + "\n" + c.notices[1];
  EXPECT_TRUE(contains(all, "WARMUP_RAMP_STRAT")) << all;
  EXPECT_TRUE(contains(all, "did you mean WARMUP_RAMP_START")) << all;
  EXPECT_TRUE(contains(all, "WARMUP_FOO")) << all;
  EXPECT_EQ(c.ramp.start, 3) << "ignored";
}

TEST(config_env, legacy_worker_variables_explain_automatic_placement) {
  auto c = load(std::nullopt, {{"WARMUP_WORKER_COUNT", "4"},
                               {"WARMUP_WORKER_ID", "2"},
                               {"WARMUP_ENABLE_DISTRIBUTED_MODE", "true"}});
  ASSERT_EQ(c.notices.size(), 3u);
  for (const auto& n : c.notices) {
    EXPECT_TRUE(contains(n, "not needed")) << n;
    EXPECT_TRUE(contains(n, "placed on the running nodes automatically")) << n;
  }
}

TEST(config_env, cli_variable_is_not_a_notice) {
  auto c = load(std::nullopt, {{"WARMUP_CONFIG", "/etc/warmup.toml"}});
  EXPECT_TRUE(c.notices.empty());
}

TEST(config_flags, bad_command_line_value_names_the_flag) {
  try {
    load(std::nullopt, {}, {{"clock.time_scale", "0", "--time-scale"}});
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.source, "command line");
    EXPECT_TRUE(contains(e.what(), "--time-scale=0: clock.time_scale must be")) << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// Mailbox validation

TEST(config_mailbox, accepts_a_plain_mailbox) {
  mailbox_settings m;
  m.email = "anna@example.com";
  m.timezone = "Europe/Berlin";
  EXPECT_EQ(validate_mailbox(m), std::nullopt);
}

TEST(config_mailbox, rejects_bad_addresses) {
  for (std::string email : {"", "anna", "@example.com", "anna@", "anna@example",
                            "a@b@example.com", "anna@.com", "anna@example.", "an na@example.com",
                            "anna@exa..mple.com"}) {
    mailbox_settings m;
    m.email = email;
    auto err = validate_mailbox(m);
    ASSERT_TRUE(err.has_value()) << email;
    EXPECT_TRUE(contains(*err, "email")) << *err;
  }
}

TEST(config_mailbox, rejects_unknown_timezone_and_bad_ramp) {
  mailbox_settings m;
  m.email = "anna@example.com";
  m.timezone = "Europe/Atlantis";
  auto err = validate_mailbox(m);
  ASSERT_TRUE(err);
  EXPECT_TRUE(contains(*err, "timezone")) << *err;

  m.timezone = "UTC";
  m.ramp.start = 50;
  m.ramp.ceiling = 40;
  err = validate_mailbox(m);
  ASSERT_TRUE(err);
  EXPECT_TRUE(contains(*err, "ceiling")) << *err;

  m.ramp = ramp_params{};
  m.window.start_minute = 600;
  m.window.end_minute = 500;
  err = validate_mailbox(m);
  ASSERT_TRUE(err);
  EXPECT_TRUE(contains(*err, "window")) << *err;

  m.window = window_params{};
  m.engagement.reply_rate = 2;
  err = validate_mailbox(m);
  ASSERT_TRUE(err);
  EXPECT_TRUE(contains(*err, "reply rate")) << *err;

  m.engagement = engagement_params{};
  m.state = static_cast<mailbox_state>(42);
  err = validate_mailbox(m);
  ASSERT_TRUE(err);
  EXPECT_TRUE(contains(*err, "state")) << *err;
}

// ---------------------------------------------------------------------------------------
// The documentation: the example file and README.md cover every key

namespace {
std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
const fs::path source_dir = WARMUP_SOURCE_DIR;
}  // namespace

TEST(config_docs, example_file_loads_to_the_defaults) {
  auto example = load((source_dir / "config/warmup.example.toml").string(), home_env);
  auto defaults = load(std::nullopt, home_env);
  EXPECT_EQ(example.ramp, defaults.ramp);
  EXPECT_EQ(example.ramp_preset, defaults.ramp_preset);
  EXPECT_EQ(example.window, defaults.window);
  EXPECT_EQ(example.engagement, defaults.engagement);
  EXPECT_EQ(example.health, defaults.health);
  EXPECT_EQ(example.peers, defaults.peers);
  EXPECT_EQ(example.node.shard_count, defaults.node.shard_count);
  EXPECT_EQ(example.node.scheduler_threads, defaults.node.scheduler_threads);
  EXPECT_EQ(example.console.listen, defaults.console.listen);
  EXPECT_EQ(example.node.name, defaults.node.name);
  EXPECT_EQ(example.clock.time_scale, defaults.clock.time_scale);
  EXPECT_EQ(example.clock.start, defaults.clock.start);
  EXPECT_EQ(example.clock.tick_ms, defaults.clock.tick_ms);
  EXPECT_EQ(example.store.database_url, defaults.store.database_url);
  EXPECT_EQ(example.store.batch_max, defaults.store.batch_max);
  EXPECT_EQ(example.store.queue_max, defaults.store.queue_max);
  EXPECT_EQ(example.sandbox.seed, defaults.sandbox.seed);
  EXPECT_EQ(example.sandbox.providers, defaults.sandbox.providers);
  EXPECT_EQ(example.log.level, defaults.log.level);
  EXPECT_EQ(example.log.format, defaults.log.format);
  EXPECT_EQ(example.log.file, defaults.log.file);
  EXPECT_EQ(example.data_dir, defaults.data_dir);
  EXPECT_EQ(example.transport, defaults.transport);
  EXPECT_EQ(example.default_timezone, defaults.default_timezone);
}

TEST(config_docs, example_file_shows_every_key_in_its_section_with_a_comment) {
  std::istringstream in(read_text(source_dir / "config/warmup.example.toml"));
  std::set<std::string> shown;
  std::string line, section;
  const std::regex header(R"(^\[(\w+)\]\s*$)");
  const std::regex entry(R"(^(?:# )?(\w+) = .*\S.*# \S)");  // key = value  # comment
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, header))
      section = m[1];
    else if (std::regex_search(line, m, entry))
      shown.insert(section.empty() ? std::string(m[1]) : section + "." + std::string(m[1]));
  }
  for (const auto& key : known_keys())
    EXPECT_EQ(shown.count(key), 1u) << key << " is missing from warmup.example.toml";
  EXPECT_EQ(shown.size(), known_keys().size()) << "the example shows keys the loader rejects";
}

TEST(config_docs, readme_documents_every_key_and_variable) {
  auto readme = read_text(source_dir / "config/README.md");
  for (const auto& key : known_keys()) {
    EXPECT_TRUE(contains(readme, "| `" + key + "` |")) << key;
    EXPECT_TRUE(contains(readme, "`" + env_name(key) + "`")) << env_name(key);
  }
  EXPECT_TRUE(contains(readme, "DATABASE_URL"));
  EXPECT_TRUE(contains(readme, "WARMUP_WORKER_COUNT"));
}
