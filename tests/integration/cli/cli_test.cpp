// cli_test.cpp: the built `warmup` binary end to end: configuration errors and exit codes,
// mailbox commands, CSV import, status and help (nothing here starts a node).
#include "cli_process.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

using namespace warmup::cli_test;
using json = nlohmann::json;

namespace {

std::set<std::string> emails_of(const std::string& list_json) {
  std::set<std::string> out;
  for (const auto& m : json::parse(list_json))
    out.insert(m.at("email").get<std::string>());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Configuration errors: exit 2 and a message naming where

TEST_F(cli_test, bad_config_value_names_file_line_and_key) {
  auto cfg = write_file("warmup.toml", "# my config\n[ramp]\nstart = -3\n");
  auto r = warmup({"status", "--config", cfg});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, cfg + ":3: ramp.start = -3")) << r.err;
  EXPECT_TRUE(contains(r.err, "from 0 to 1000")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(cli_test, config_option_works_before_the_subcommand_too) {
  auto cfg = write_file("warmup.toml", "[node]\nshard_count = 0\n");
  auto r = warmup({"--config", cfg, "mailbox", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, cfg + ":2: node.shard_count = 0")) << r.err;
}

TEST_F(cli_test, config_file_from_the_environment) {
  env_["WARMUP_CONFIG"] = write_file("env.toml", "transport = \"pigeon\"\n");
  auto r = warmup({"config", "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "env.toml:1: transport = \"pigeon\"")) << r.err;
}

TEST_F(cli_test, unknown_key_is_an_error_with_a_suggestion) {
  auto cfg = write_file("warmup.toml", "[window]\nstart = \"09:00\"\nmin_gap = 10\n");
  auto r = warmup({"mailbox", "list", "--config", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, cfg + ":3: unknown key \"min_gap\" in [window]")) << r.err;
  EXPECT_TRUE(contains(r.err, "min_gap_minutes")) << r.err;
}

TEST_F(cli_test, missing_config_file_is_bad_input) {
  auto r = warmup({"status", "--config", (dir_ / "nope.toml").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "nope.toml")) << r.err;
}

TEST_F(cli_test, bad_environment_override_names_the_variable) {
  env_["WARMUP_NODE_SHARD_COUNT"] = "lots";
  auto r = warmup({"status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "WARMUP_NODE_SHARD_COUNT=lots")) << r.err;
  EXPECT_TRUE(contains(r.err, "node.shard_count must be an integer from 1 to 65536")) << r.err;
}

TEST_F(cli_test, environment_beats_the_file) {
  auto cfg = write_file("warmup.toml", "default_timezone = \"Asia/Tokyo\"\n");
  env_["WARMUP_DEFAULT_TIMEZONE"] = "America/New_York";
  ASSERT_EQ(warmup({"mailbox", "add", "a@example.com", "--config", cfg}).exit_code, 0);
  auto list = warmup({"mailbox", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out).at(0).at("timezone"), "America/New_York");
}

TEST_F(cli_test, legacy_worker_variables_give_a_notice_not_an_error) {
  env_["WARMUP_WORKER_COUNT"] = "4";
  env_["WARMUP_ENABLE_DISTRIBUTED_MODE"] = "true";
  auto r = warmup({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "notice: WARMUP_WORKER_COUNT=4 is ignored")) << r.err;
  EXPECT_TRUE(contains(r.err, "placed on the running nodes automatically")) << r.err;
}

TEST_F(cli_test, run_rejects_bad_flags_before_starting_a_node) {
  auto r = warmup({"run", "--for", "ten minutes"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--for ten minutes")) << r.err;
  r = warmup({"run", "--time-scale", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--time-scale=0: clock.time_scale must be")) << r.err;
  r = warmup({"run", "--demo", "-5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data" / "warmup.db"))
    << "no node may have started";
}

TEST_F(cli_test, bad_flags_exit_2) {
  EXPECT_EQ(warmup({"mailbox", "list", "--limit", "abc"}).exit_code, 2);
  EXPECT_EQ(warmup({"mailbox", "list", "--colour"}).exit_code, 2);
  EXPECT_EQ(warmup({"mailbox"}).exit_code, 2);
  EXPECT_EQ(warmup({}).exit_code, 2);
  auto r = warmup({"mailbox", "list", "--state", "sleepy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--state sleepy")) << r.err;
}

// ---------------------------------------------------------------------------------------
// Mailbox commands

TEST_F(cli_test, mailbox_round_trip) {
  auto add = warmup({"mailbox", "add", "Anna@Example.com", "--timezone", "Europe/Berlin",
                     "--preset", "slow", "--name", "Anna Berg", "--provider", "gmail"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_TRUE(contains(add.out, "anna@example.com")) << add.out;

  auto show = warmup({"mailbox", "show", "anna@example.com", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto m = json::parse(show.out);
  EXPECT_EQ(m.at("email"), "anna@example.com") << "emails are stored lower-cased";
  EXPECT_EQ(m.at("timezone"), "Europe/Berlin");
  EXPECT_EQ(m.at("display_name"), "Anna Berg");
  EXPECT_EQ(m.at("provider"), "gmail");
  EXPECT_EQ(m.at("organisation"), "example.com");
  EXPECT_EQ(m.at("ramp_preset"), "slow");
  EXPECT_EQ(m.at("ramp").at("start"), 2);
  EXPECT_EQ(m.at("ramp").at("ceiling"), 25);
  EXPECT_EQ(m.at("state"), "active");
  EXPECT_EQ(m.at("last_7_days").size(), 7u);
  const auto id = std::to_string(m.at("id").get<int>());

  auto text = warmup({"mailbox", "show", id});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "Last 7 days")) << text.out;
  EXPECT_TRUE(contains(text.out, "slow")) << text.out;

  EXPECT_EQ(warmup({"mailbox", "pause", "anna@example.com"}).exit_code, 0);
  auto paused = warmup({"mailbox", "list", "--state", "paused", "--json"});
  EXPECT_EQ(emails_of(paused.out), std::set<std::string>{"anna@example.com"});

  EXPECT_EQ(warmup({"mailbox", "resume", id}).exit_code, 0);
  auto active = warmup({"mailbox", "show", id, "--json"});
  EXPECT_EQ(json::parse(active.out).at("state"), "active");

  EXPECT_EQ(warmup({"mailbox", "remove", "anna@example.com"}).exit_code, 0);
  EXPECT_TRUE(emails_of(warmup({"mailbox", "list", "--json"}).out).empty())
    << "removed mailboxes are hidden by default";
  EXPECT_EQ(emails_of(warmup({"mailbox", "list", "--state", "removed", "--json"}).out),
            std::set<std::string>{"anna@example.com"});

  auto again = warmup({"mailbox", "add", "anna@example.com"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(contains(again.err, "resume")) << again.err;
  EXPECT_EQ(warmup({"mailbox", "resume", "anna@example.com"}).exit_code, 0);
  EXPECT_EQ(emails_of(warmup({"mailbox", "list", "--json"}).out),
            std::set<std::string>{"anna@example.com"});
}

TEST_F(cli_test, mailbox_add_rejects_bad_input) {
  auto r = warmup({"mailbox", "add", "not-an-address"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "not-an-address")) << r.err;
  r = warmup({"mailbox", "add", "a@example.com", "--timezone", "Moon/Base"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "Moon/Base")) << r.err;
  r = warmup({"mailbox", "add", "a@example.com", "--preset", "turbo"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "turbo")) << r.err;
  ASSERT_EQ(warmup({"mailbox", "add", "a@example.com"}).exit_code, 0);
  r = warmup({"mailbox", "add", "A@example.com"});
  EXPECT_EQ(r.exit_code, 2) << "duplicate, case-insensitively";
  EXPECT_TRUE(contains(r.err, "exists already")) << r.err;
  r = warmup({"mailbox", "show", "nobody@example.com"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "nobody@example.com")) << r.err;
}

TEST_F(cli_test, data_option_chooses_the_store) {
  auto other = (dir_ / "other").string();
  ASSERT_EQ(warmup({"mailbox", "add", "a@example.com", "--data", other}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "other" / "warmup.db"));
  EXPECT_TRUE(emails_of(warmup({"mailbox", "list", "--json"}).out).empty());
  EXPECT_EQ(emails_of(warmup({"--data", other, "mailbox", "list", "--json"}).out),
            std::set<std::string>{"a@example.com"});
}

TEST_F(cli_test, list_filters_and_pages) {
  for (const char* e : {"a@one.example", "b@one.example", "c@two.example", "d@gmail.com"})
    ASSERT_EQ(warmup({"mailbox", "add", e}).exit_code, 0);
  EXPECT_EQ(emails_of(warmup({"mailbox", "list", "--domain", "one.example", "--json"}).out),
            (std::set<std::string>{"a@one.example", "b@one.example"}));
  EXPECT_EQ(emails_of(warmup({"mailbox", "list", "--provider", "gmail", "--json"}).out),
            std::set<std::string>{"d@gmail.com"});
  EXPECT_EQ(emails_of(warmup({"mailbox", "list", "--limit", "2", "--offset", "1", "--json"}).out),
            (std::set<std::string>{"b@one.example", "c@two.example"}));
  auto table = warmup({"mailbox", "list", "--limit", "1"});
  EXPECT_TRUE(contains(table.out, "1 of 4 mailboxes")) << table.out;
}

// ---------------------------------------------------------------------------------------
// CSV import

TEST_F(cli_test, import_reports_bad_rows_by_line_and_imports_the_good_ones) {
  auto csv = write_file("people.csv",
                        "email,name,timezone,preset\n"                       // 1
                        "good1@example.com,\"Berg, Anna\",Europe/Berlin,\n"  // 2
                        "not-an-email,x,UTC,\n"                              // 3
                        "good2@example.com,\"Say \"\"hi\"\"\",UTC,fast\n"    // 4
                        "bad-tz@example.com,y,Mars/Base,\n"                  // 5
                        "GOOD1@example.com,dup,UTC,\n"                       // 6
                        "good3@example.com,\"two\nlines\",UTC,slow\n"        // 7-8
                        "\n"                                                 // 9
                        "bad-preset@example.com,z,UTC,turbo\n");             // 10
  auto r = warmup({"mailbox", "import", csv});
  EXPECT_EQ(r.exit_code, 2) << "some rows were bad";
  EXPECT_TRUE(contains(r.out, "imported 3, skipped 4")) << r.out;
  EXPECT_TRUE(contains(r.err, "people.csv:3: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "not-an-email")) << r.err;
  EXPECT_TRUE(contains(r.err, "people.csv:5: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "Mars/Base")) << r.err;
  EXPECT_TRUE(contains(r.err, "people.csv:6: skipped: duplicate")) << r.err;
  EXPECT_TRUE(contains(r.err, "people.csv:10: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "turbo")) << r.err;
  EXPECT_FALSE(contains(r.err, "people.csv:2:")) << r.err;
  EXPECT_FALSE(contains(r.err, "people.csv:7:")) << r.err;

  auto list = warmup({"mailbox", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(emails_of(list.out), (std::set<std::string>{"good1@example.com", "good2@example.com",
                                                         "good3@example.com"}));
  for (const auto& m : json::parse(list.out)) {
    if (m.at("email") == "good1@example.com") {
      EXPECT_EQ(m.at("display_name"), "Berg, Anna");
      EXPECT_EQ(m.at("timezone"), "Europe/Berlin");
    }
    if (m.at("email") == "good2@example.com") {
      EXPECT_EQ(m.at("display_name"), "Say \"hi\"");
      EXPECT_EQ(m.at("ramp_preset"), "fast");
    }
    if (m.at("email") == "good3@example.com") {
      EXPECT_EQ(m.at("display_name"), "two\nlines");
    }
  }

  auto again = warmup({"mailbox", "import", csv});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(contains(again.out, "imported 0, skipped 7")) << again.out;
  EXPECT_TRUE(contains(again.err, "people.csv:2: skipped: duplicate")) << again.err;
}

TEST_F(cli_test, import_of_only_good_rows_exits_0) {
  auto csv = write_file("ok.csv", "\xEF\xBB\xBFTimezone,Email\r\nUTC,x@example.com\r\n"
                                  "Asia/Tokyo,y@example.com\r\n");
  auto r = warmup({"mailbox", "import", csv});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "imported 2, skipped 0")) << r.out;
  EXPECT_EQ(emails_of(warmup({"mailbox", "list", "--json"}).out),
            (std::set<std::string>{"x@example.com", "y@example.com"}));
}

TEST_F(cli_test, import_with_an_unknown_column_imports_nothing) {
  auto csv = write_file("people.csv", "email,phone\na@example.com,123\n");
  auto r = warmup({"mailbox", "import", csv});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "unknown column \"phone\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "people.csv:1")) << r.err;
  EXPECT_TRUE(emails_of(warmup({"mailbox", "list", "--json"}).out).empty());

  auto typo = warmup({"mailbox", "import", write_file("t.csv", "emial\na@example.com\n")});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_TRUE(contains(typo.err, "did you mean \"email\"")) << typo.err;

  auto no_email = warmup({"mailbox", "import", write_file("n.csv", "name\nAnna\n")});
  EXPECT_EQ(no_email.exit_code, 2);
  EXPECT_TRUE(contains(no_email.err, "no \"email\" column")) << no_email.err;
}

TEST_F(cli_test, import_shows_a_progress_bar_on_a_terminal_only) {
  std::string text = "email\n";
  for (int i = 0; i < 200; ++i)
    text += "user" + std::to_string(i) + "@example.com\n";
  auto csv = write_file("many.csv", text);
  auto tty = run_warmup_on_tty({"mailbox", "import", csv}, env_);
  EXPECT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_TRUE(contains(tty.out, "] 100% 200/200")) << tty.out;
  EXPECT_TRUE(contains(tty.out, "[=")) << tty.out;
  EXPECT_TRUE(contains(tty.out, "imported 200, skipped 0")) << tty.out;

  std::string more = "email\n";
  for (int i = 0; i < 10; ++i)
    more += "other" + std::to_string(i) + "@example.com\n";
  auto piped = warmup({"mailbox", "import", write_file("more.csv", more)});
  EXPECT_EQ(piped.exit_code, 0);
  EXPECT_FALSE(contains(piped.err, "%")) << "no bar when stderr is not a terminal: " << piped.err;
}

// ---------------------------------------------------------------------------------------
// Status

TEST_F(cli_test, status_json_on_an_empty_store_has_every_key) {
  for (bool with_store : {false, true}) {
    if (with_store) {   // a store that exists but holds no mailbox
      ASSERT_EQ(warmup({"mailbox", "add", "a@example.com"}).exit_code, 0);
      ASSERT_EQ(warmup({"mailbox", "remove", "a@example.com"}).exit_code, 0);
    }
    auto r = warmup({"status", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = json::parse(r.out);
    for (const char* key : {"total_mailboxes", "active_mailboxes_today", "sends_today",
                            "inbox_rate_today", "planned_today", "overdue"}) {
      ASSERT_TRUE(j.contains(key)) << key;
      EXPECT_EQ(j.at(key).get<double>(), 0.0) << key;
    }
    EXPECT_GT(j.at("now").get<std::int64_t>(), 1'600'000'000'000) << "system clock, in ms";
  }
}

TEST_F(cli_test, status_counts_mailboxes_and_prints_labels) {
  for (const char* e : {"a@example.com", "b@example.com", "c@example.com"})
    ASSERT_EQ(warmup({"mailbox", "add", e}).exit_code, 0);
  ASSERT_EQ(warmup({"mailbox", "remove", "c@example.com"}).exit_code, 0);
  auto j = json::parse(warmup({"status", "--json"}).out);
  EXPECT_EQ(j.at("total_mailboxes"), 2);
  auto text = warmup({"status"});
  ASSERT_EQ(text.exit_code, 0);
  for (const char* label : {"Total Mailboxes:", "Active Mailboxes Today:", "Sends Today:",
                            "Inbox Rate Today:", "Planned Today:", "Overdue:"})
    EXPECT_TRUE(contains(text.out, label)) << label << "\n" << text.out;
}

// ---------------------------------------------------------------------------------------
// Help

TEST_F(cli_test, every_subcommand_has_help_with_an_example) {
  const std::vector<std::vector<std::string>> commands = {
    {},
    {"run"},
    {"status"},
    {"mailbox"},
    {"mailbox", "add"},
    {"mailbox", "update"},
    {"db"},
    {"db", "migrate"},
    {"mailbox", "list"},
    {"mailbox", "show"},
    {"mailbox", "pause"},
    {"mailbox", "resume"},
    {"mailbox", "remove"},
    {"mailbox", "import"},
    {"config"},
    {"config", "check"}};
  for (auto args : commands) {
    std::string name = "warmup";
    for (const auto& a : args)
      name += " " + a;
    args.push_back("--help");
    auto r = warmup(args);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "Example")) << name << ":\n" << r.out;
    EXPECT_TRUE(contains(r.out, "warmup " + (args.size() > 1 ? args[0] : std::string())))
      << name << ":\n" << r.out;
    EXPECT_TRUE(contains(r.out, "--config")) << name << ":\n" << r.out;
  }
}

TEST_F(cli_test, a_pool_where_nobody_may_mail_anybody_says_why) {
  // Three mailboxes of one organisation, internal mail off (the default): no sends, and
  // the node says so at start-up instead of idling silently.
  for (auto email : {"a@one.test", "b@one.test", "c@one.test"})
    ASSERT_EQ(warmup({"mailbox", "add", email}).exit_code, 0);
  auto r = warmup({"run", "--time-scale", "1440", "--for", "2s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto log = r.out + r.err;
  EXPECT_TRUE(contains(log, "event=pool_without_peers mailboxes=3 organisation=\"one.test\""))
    << log;
  EXPECT_TRUE(contains(log, "peers.internal_share")) << log;

  // A second organisation gives everybody recipients: no warning.
  ASSERT_EQ(warmup({"mailbox", "add", "d@two.test"}).exit_code, 0);
  r = warmup({"run", "--time-scale", "1440", "--for", "2s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.out + r.err, "pool_without_peers")) << r.out + r.err;
}
