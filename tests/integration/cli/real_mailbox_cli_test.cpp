// real_mailbox_cli_test.cpp: real-mail mailbox definitions through the built binary: the
// CSV columns of the issue, secrets sealed (never in the store in clear, never printed),
// the key required, bad cells named by line and column; and `warmup db`.
#include "cli_process.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

using namespace warmup::cli_test;
using json = nlohmann::json;

namespace {

constexpr const char* test_key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_F(cli_test, csv_with_server_columns_imports_real_mailboxes_with_sealed_secrets) {
  env_["WARMUP_SECRET_KEY"] = test_key;
  auto ca = write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  auto csv = write_file(
    "real.csv",
    "email,smtp_host,smtp_port,smtp_security,imap_host,imap_port,imap_security,username,"
    "password,provider,timezone,ca_file\n"
    "anna@corp.example,mail.corp.example,587,starttls,mail.corp.example,,starttls,anna,"
    "Sup3r-Secret-1,custom,Europe/Berlin," + ca + "\n"
    "bob@corp.example,mail.corp.example,,,mail.corp.example,,,,Sup3r-Secret-2,,,\n"
    "carl@corp.example,mail.corp.example,99999,tls,mail.corp.example,,,,pw,,,\n"
    "dora@corp.example,mail.corp.example,,ssl,mail.corp.example,,,,pw,,,\n"
    "emil@corp.example,,,,mail.corp.example,,,,pw,custom,,\n"
    "fred@corp.example,mail.corp.example,,,mail.corp.example,,,,,,,\n");
  auto r = warmup({"mailbox", "import", csv});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.out, "imported 2, skipped 4")) << r.out;
  EXPECT_TRUE(contains(r.err, "real.csv:4: skipped: smtp_port \"99999\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "real.csv:5: skipped: smtp_security \"ssl\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "real.csv:6: skipped: smtp_host: required")) << r.err;
  EXPECT_TRUE(contains(r.err, "real.csv:7: skipped: password: required")) << r.err;

  auto show = warmup({"mailbox", "show", "anna@corp.example", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = json::parse(show.out);
  EXPECT_EQ(j.at("transport"), "smtp");
  const auto& a = j.at("account");
  EXPECT_EQ(a.at("smtp").at("port"), 587);
  EXPECT_EQ(a.at("smtp").at("security"), "starttls");
  EXPECT_EQ(a.at("imap").at("port"), 143);      // the starttls default
  EXPECT_EQ(a.at("username"), "anna");
  EXPECT_EQ(a.at("ca_file"), ca);
  EXPECT_EQ(a.at("secret_stored"), true);
  auto bob = json::parse(warmup({"mailbox", "show", "bob@corp.example", "--json"}).out);
  EXPECT_EQ(bob.at("account").at("smtp").at("port"), 465);   // tls by default
  EXPECT_EQ(bob.at("account").at("username"), "bob@corp.example");

  // Nothing shows or stores a password in clear.
  for (const auto& out : {show.out, show.err, r.out, r.err,
                          warmup({"mailbox", "list", "--json"}).out})
    EXPECT_FALSE(contains(out, "Sup3r-Secret")) << out;
  auto db = file_bytes(dir_ / "data" / "warmup.db");
  auto wal = file_bytes(dir_ / "data" / "warmup.db-wal");
  EXPECT_FALSE(contains(db + wal, "Sup3r-Secret")) << "a password reached the store in clear";
}

TEST_F(cli_test, real_mailboxes_need_the_secret_key_and_oauth_needs_a_client) {
  auto csv = write_file("real.csv", "email,smtp_host,imap_host,password\n"
                                    "anna@corp.example,mail.corp.example,mail.corp.example,pw\n");
  auto r = warmup({"mailbox", "import", csv});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "WARMUP_SECRET_KEY")) << r.err;
  EXPECT_TRUE(contains(r.out, "imported 0, skipped 1")) << r.out;

  env_["WARMUP_SECRET_KEY"] = test_key;
  env_["GTOKEN"] = "1//refresh-token-value";
  auto no_client = warmup({"mailbox", "add", "carl@gmail.com", "--oauth", "--secret-env", "GTOKEN"});
  EXPECT_EQ(no_client.exit_code, 2);
  EXPECT_TRUE(contains(no_client.err, "oauth_client_id")) << no_client.err;
  auto ok = warmup({"mailbox", "add", "carl@gmail.com", "--oauth", "--secret-env", "GTOKEN",
                    "--oauth-client-id", "app.apps.googleusercontent.com"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto j = json::parse(warmup({"mailbox", "show", "carl@gmail.com", "--json"}).out);
  EXPECT_EQ(j.at("account").at("auth"), "oauth2");
  EXPECT_EQ(j.at("account").at("smtp").at("host"), "smtp.gmail.com");
  EXPECT_EQ(j.at("account").at("token_url"), "https://oauth2.googleapis.com/token");
  EXPECT_FALSE(contains(j.dump(), "refresh-token-value"));

  auto missing_env = warmup({"mailbox", "add", "dan@gmail.com", "--secret-env", "NOPE"});
  EXPECT_EQ(missing_env.exit_code, 2);
  EXPECT_TRUE(contains(missing_env.err, "--secret-env NOPE")) << missing_env.err;
}

TEST_F(cli_test, unknown_csv_column_is_named_with_a_suggestion) {
  auto csv = write_file("real.csv", "email,smtp_hostname,password\nanna@corp.example,x,y\n");
  auto r = warmup({"mailbox", "import", csv});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "unknown column \"smtp_hostname\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "did you mean \"smtp_host\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "nothing was imported")) << r.err;
}

TEST_F(cli_test, db_status_and_migrate_report_the_schema_version) {
  auto before = warmup({"db", "status"});
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_TRUE(contains(before.out, "none yet")) << before.out;
  auto m = warmup({"db", "migrate"});
  EXPECT_EQ(m.exit_code, 0) << m.err;
  auto after = warmup({"db", "status"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_TRUE(contains(after.out, "up to date")) << after.out;
  for (auto args : std::vector<std::vector<std::string>>{{"db", "--help"}, {"db", "status", "--help"}}) {
    auto h = warmup(args);
    EXPECT_EQ(h.exit_code, 0);
    EXPECT_TRUE(contains(h.out, "Example")) << h.out;
  }
}

TEST_F(cli_test, run_with_real_mail_refuses_demo_and_a_missing_key) {
  env_["WARMUP_TRANSPORT"] = "smtp";
  auto no_key = warmup({"run", "--for", "1s"});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_TRUE(contains(no_key.err, "WARMUP_SECRET_KEY")) << no_key.err;
  env_["WARMUP_SECRET_KEY"] = test_key;
  auto demo = warmup({"run", "--demo", "5", "--for", "1s"});
  EXPECT_EQ(demo.exit_code, 2);
  EXPECT_TRUE(contains(demo.err, "--demo creates sandbox")) << demo.err;
}

TEST_F(cli_test, update_replaces_the_secret_or_keeps_it_and_changes_only_what_is_given) {
  env_["WARMUP_SECRET_KEY"] = test_key;
  env_["PW1"] = "First-Secret-1";
  auto add = warmup({"mailbox", "add", "anna@corp.example", "--smtp-host", "mail.corp.example",
                     "--imap-host", "mail.corp.example", "--secret-env", "PW1", "--timezone",
                     "Europe/Berlin"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto before = json::parse(warmup({"mailbox", "show", "anna@corp.example", "--json"}).out);
  auto db_before = file_bytes(dir_ / "data" / "warmup.db") + file_bytes(dir_ / "data" / "warmup.db-wal");

  // Only the time zone: servers, login and secret stay.
  auto tz = warmup({"mailbox", "update", "anna@corp.example", "--timezone", "Asia/Tokyo"});
  ASSERT_EQ(tz.exit_code, 0) << tz.err;
  auto after_tz = json::parse(warmup({"mailbox", "show", "anna@corp.example", "--json"}).out);
  EXPECT_EQ(after_tz.at("timezone"), "Asia/Tokyo");
  EXPECT_EQ(after_tz.at("account"), before.at("account"));
  EXPECT_EQ(after_tz.at("id"), before.at("id"));

  // A new password and port.
  env_["PW2"] = "Second-Secret-2";
  auto pw = warmup({"mailbox", "update", "anna@corp.example", "--secret-env", "PW2",
                    "--smtp-port", "2525"});
  ASSERT_EQ(pw.exit_code, 0) << pw.err;
  EXPECT_TRUE(contains(pw.out, "new secret sealed")) << pw.out;
  auto after_pw = json::parse(warmup({"mailbox", "show", "anna@corp.example", "--json"}).out);
  EXPECT_EQ(after_pw.at("account").at("smtp").at("port"), 2525);
  EXPECT_EQ(after_pw.at("timezone"), "Asia/Tokyo");
  auto db = file_bytes(dir_ / "data" / "warmup.db") + file_bytes(dir_ / "data" / "warmup.db-wal");
  EXPECT_FALSE(contains(db, "Second-Secret-2"));
  EXPECT_FALSE(contains(db_before + db, "First-Secret-1"));

  // Bad input names the field; an unknown mailbox is named too.
  auto bad = warmup({"mailbox", "update", "anna@corp.example", "--smtp-security", "ssl"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "smtp_security \"ssl\"")) << bad.err;
  auto unknown = warmup({"mailbox", "update", "nobody@corp.example", "--timezone", "UTC"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "no mailbox nobody@corp.example")) << unknown.err;
}
