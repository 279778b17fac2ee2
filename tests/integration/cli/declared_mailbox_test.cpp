// declared_mailbox_test.cpp: mailboxes declared in the configuration file ([[mailbox]]):
// checked by `config check`, added by `warmup run`, secrets from named variables, bad
// fields named with file and line.
#include "cli_process.hpp"

#include <nlohmann/json.hpp>

using namespace warmup::cli_test;
using json = nlohmann::json;

TEST_F(cli_test, declared_mailboxes_are_checked_and_added_at_start) {
  auto cfg = write_file("warmup.toml",
                        "[clock]\nstart = \"2026-01-05T09:00\"\ntime_scale = 1440\n\n"
                        "[[mailbox]]\nemail = \"Anna@Corp.example\"\ntimezone = \"Europe/Berlin\"\n"
                        "preset = \"slow\"\n\n"
                        "[[mailbox]]\nemail = \"bob@other.example\"\nname = \"Bob\"\n");
  auto check = warmup({"config", "check", "--config", cfg});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_TRUE(contains(check.out, "2 mailboxes declared")) << check.out;
  auto run = warmup({"run", "--config", cfg, "--for", "1s"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto list = json::parse(warmup({"mailbox", "list", "--json", "--config", cfg}).out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("email"), "anna@corp.example");
  EXPECT_EQ(list[0].at("timezone"), "Europe/Berlin");
  EXPECT_EQ(list[0].at("ramp_preset"), "slow");
  // A second start adds nothing (they are in the store now).
  auto again = warmup({"run", "--config", cfg, "--for", "1s"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(warmup({"mailbox", "list", "--json", "--config", cfg}).out).size(), 2u);
}

TEST_F(cli_test, declared_real_mailbox_takes_its_secret_from_a_named_variable) {
  auto cfg = write_file("warmup.toml",
                        "[[mailbox]]\nemail = \"anna@corp.example\"\nsmtp_host = \"mail.corp.example\"\n"
                        "imap_host = \"mail.corp.example\"\npassword_env = \"ANNA_PW\"\n");
  env_["WARMUP_SECRET_KEY"] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  auto missing = warmup({"config", "check", "--config", cfg});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, cfg + ":5: mailbox.password_env = \"ANNA_PW\"")) << missing.err;
  env_["ANNA_PW"] = "Very-Secret-42";
  auto ok = warmup({"config", "check", "--config", cfg});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(contains(ok.out + ok.err, "Very-Secret-42"));
}

TEST_F(cli_test, a_bad_declared_mailbox_stops_start_up_naming_file_and_line) {
  auto cfg = write_file("warmup.toml", "[[mailbox]]\nemail = \"anna@corp.example\"\n"
                                       "timezone = \"Mars/Olympus\"\n");
  auto run = warmup({"run", "--config", cfg, "--for", "1s"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(contains(run.err, cfg + ":2: [[mailbox]] anna@corp.example")) << run.err;
  EXPECT_TRUE(contains(run.err, "Mars/Olympus")) << run.err;
  auto dup = write_file("dup.toml", "[[mailbox]]\nemail = \"a@x.example\"\n[[mailbox]]\n"
                                    "email = \"A@x.example\"\n");
  auto r = warmup({"config", "check", "--config", dup});
  EXPECT_EQ(r.exit_code, 0) << "config check validates fields; duplicates are found at start";
  auto start = warmup({"run", "--config", dup, "--for", "1s"});
  EXPECT_EQ(start.exit_code, 2);
  EXPECT_TRUE(contains(start.err, "declared twice (first at " + dup + ":2)")) << start.err;
}
