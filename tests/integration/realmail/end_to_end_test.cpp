// end_to_end_test.cpp: `warmup run` warming up 24 real mailboxes on the project's own
// postfix + dovecot (deploy/mailstack.sh, loopback, own ports) at --time-scale 720 for two
// simulated days; then the maildirs are audited against the store: every sent message
// delivered exactly once, none delivered that was not sent, spam rescued and filed,
// replies threaded, a wrong password disconnecting only its mailbox, a dead SMTP port
// skipping only its mailbox's slots (retried, never duplicated).
#include "../cli/cli_process.hpp"
#include "../mail/mail_stack.hpp"

#include "storage/store.hpp"
#include "warmup/calendar.hpp"

#include <nlohmann/json.hpp>


#include <algorithm>
#include <cstdio>
#include <array>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace warmup;
using namespace warmup::cli_test;
using warmup::mail_test::free_ports;
using warmup::mail_test::source_dir;
namespace fs = std::filesystem;

namespace {

constexpr const char* secret_key =
  "3f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
constexpr int normal_users = 18;     // user1..18: ordinary mailboxes
constexpr int junk_users = 4;        // user19..22 as user19+Junk@...: all their mail lands in Junk
constexpr int wrong_password_user = 23;
constexpr int dead_smtp_user = 24;
constexpr int all_users = 24;

struct header_set {
  std::string message_id, in_reply_to, references, subject;
};

// The few headers the audit reads (unfolded), from a Maildir file.
header_set read_headers(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string line, current;
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      break;
    if ((line[0] == ' ' || line[0] == '\t') && !lines.empty())
      lines.back() += " " + line.substr(line.find_first_not_of(" \t"));
    else
      lines.push_back(line);
  }
  header_set h;
  for (const auto& l : lines) {
    auto colon = l.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = l.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    auto value = l.substr(std::min(l.size(), colon + 2));
    if (name == "message-id") h.message_id = value;
    else if (name == "in-reply-to") h.in_reply_to = value;
    else if (name == "references") h.references = value;
    else if (name == "subject") h.subject = value;
  }
  return h;
}

struct stored_message {
  int user = 0;
  std::string folder;   // "" = INBOX, else the Maildir++ folder name without the dot
  header_set headers;
};

// Every message in every user's Maildir (cur and new of INBOX and each folder).
std::vector<stored_message> all_messages(const fs::path& mail_root) {
  std::vector<stored_message> out;
  for (int u = 1; u <= all_users; ++u) {
    auto maildir = mail_root / "test.local" / ("user" + std::to_string(u)) / "Maildir";
    if (!fs::exists(maildir))
      continue;
    std::vector<std::pair<std::string, fs::path>> folders{{"", maildir}};
    for (const auto& e : fs::directory_iterator(maildir))
      if (e.is_directory() && e.path().filename().string().rfind('.', 0) == 0)
        folders.emplace_back(e.path().filename().string().substr(1), e.path());
    for (const auto& [name, dir] : folders)
      for (const char* sub : {"cur", "new"})
        if (fs::exists(dir / sub))
          for (const auto& f : fs::directory_iterator(dir / sub))
            out.push_back({u, name, read_headers(f.path())});
  }
  return out;
}

class real_mail_run : public cli_test {
protected:
  void SetUp() override {
    cli_test::SetUp();
    ASSERT_EQ(::geteuid(), 0u) << "the real-mail test starts postfix and dovecot: run as root";
    // A short root: dovecot's unix sockets live under it (sun_path holds 108 bytes).
    char tmpl[] = "/tmp/wrm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto p = free_ports<6>();
    smtp_ = p[0];
    closed_port_ = p[5];
    std::ostringstream env;
    env << "MS_ROOT=" << root_.string() << " MS_SMTP_PORT=" << p[0] << " MS_SMTPS_PORT=" << p[1]
        << " MS_IMAP_PORT=" << p[2] << " MS_IMAPS_PORT=" << p[3] << " MS_LMTP_PORT=" << p[4]
        << " MS_NUSERS=" << all_users;
    stack_env_ = env.str();
    imap_ = p[2];
    auto log = (dir_ / "mailstack.log").string();
    int rc = std::system((stack_env_ + " bash " + source_dir() + "/deploy/mailstack.sh start >"
                          + log + " 2>&1")
                           .c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    ASSERT_EQ(rc, 0) << "deploy/mailstack.sh start failed: " << ss.str();
    started_ = true;
  }
  void TearDown() override {
    if (started_)
      std::system((stack_env_ + " bash " + source_dir() + "/deploy/mailstack.sh stop >/dev/null 2>&1").c_str());
    std::error_code ec;
    fs::remove_all(root_, ec);
    cli_test::TearDown();
  }

  fs::path root_;
  std::string stack_env_;
  std::uint16_t smtp_ = 0, imap_ = 0, closed_port_ = 0;
  bool started_ = false;
};

TEST_F(real_mail_run, two_simulated_days_deliver_every_send_once_and_engage_for_real) {
  const auto ca = (root_ / "tls" / "ca.pem").string();
  std::ostringstream csv;
  csv << "email,smtp_host,smtp_port,smtp_security,imap_host,imap_port,imap_security,username,"
         "password,provider,timezone,ca_file,organisation\n";
  for (int u = 1; u <= all_users; ++u) {
    const auto user = "user" + std::to_string(u);
    const bool junk = u > normal_users && u <= normal_users + junk_users;
    const auto email = junk ? user + "+Junk@test.local" : user + "@test.local";
    const auto password = u == wrong_password_user ? std::string("wrong") : "pass" + std::to_string(u);
    const auto smtp_port = u == dead_smtp_user ? closed_port_ : smtp_;
    csv << email << ",127.0.0.1," << smtp_port << ",starttls,127.0.0.1," << imap_
        << ",starttls," << user << "@test.local," << password << ",custom,UTC," << ca
        // One domain on the test stack, but each mailbox its own organisation: the peer
        // rules send nothing within an organisation by default.
        << ",org" << u << "\n";
  }
  env_["WARMUP_SECRET_KEY"] = secret_key;
  env_["WARMUP_TRANSPORT"] = "smtp";
  env_["WARMUP_CLOCK_START"] = "2026-01-05T07:50";   // a Monday, just before the window
  env_["WARMUP_LOG_LEVEL"] = "warn";
  auto imported = warmup({"mailbox", "import", write_file("pool.csv", csv.str())});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  // Two runs, 100 s + 90 s at 720x: Monday 07:50 to Tuesday ~21:50 engine time, two sending
  // days; the second run continues the engine time where the first stopped.
  auto run = run_warmup({"run", "--time-scale", "720", "--for", "100s"}, env_, 300'000);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const day_number monday = 20458, tuesday = 20459;
  ASSERT_EQ(format_day(monday), "2026-01-05");

  // Between the runs a person answers one of user1..18's warmup messages by hand.
  std::string human_parent, human_to;
  mailbox_id human_to_id = no_mailbox;
  {
    auto first = storage::open_sqlite((dir_ / "data" / "warmup.db").string(), true);
    std::size_t best = 0;
    for (const auto& r : first->list_mailboxes({})) {
      if (r.settings.email.find('+') != std::string::npos
          || r.settings.email == "user23@test.local" || r.settings.email == "user24@test.local")
        continue;
      std::size_t sent = 0;
      std::string id;
      for (const auto& row : first->intents(r.settings.id, monday, tuesday))
        if (row.outcome && row.outcome->status == storage::intent_status::sent
            && row.intent.key.slot < reply_slot_base) {
          ++sent;
          id = row.intent.message_id;
        }
      if (sent > best) {
        best = sent;
        human_parent = id;
        human_to = r.settings.email;
        human_to_id = r.settings.id;
      }
    }
  }
  ASSERT_FALSE(human_parent.empty()) << "the first run sent nothing";
  {
    auto first = storage::open_sqlite((dir_ / "data" / "warmup.db").string(), true);
    auto wrong = first->find_mailbox("user23@test.local");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->settings.state, mailbox_state::disconnected)
      << "a refused login disconnects the mailbox";
  }
  const std::string human_id = "<human-reply-1@test.local>";
  auto eml = write_file("human.eml", "From: A Person <user1@test.local>\r\nTo: " + human_to
                                       + "\r\nSubject: Re: your note\r\nMessage-ID: " + human_id
                                       + "\r\nIn-Reply-To: " + human_parent
                                       + "\r\nReferences: " + human_parent
                                       + "\r\n\r\nThanks, I will call you tomorrow.\r\n");
  auto curl = "curl -s --url smtp://127.0.0.1:" + std::to_string(smtp_) + " --ssl-reqd --cacert "
              + ca + " --user user1@test.local:pass1 --mail-from user1@test.local --mail-rcpt "
              + human_to + " --upload-file " + eml;
  ASSERT_EQ(std::system(curl.c_str()), 0) << curl;

  env_["WARMUP_LOG_LEVEL"] = "info";
  // 5 s into the second run (Tuesday ~04:50 engine time, before the sending window) the
  // user fixes user23's password and resumes it while the node runs: the transport reads
  // the account again and the mailbox plans and sends its Tuesday.
  cli_result fix, resume;
  std::thread person([&] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    auto env = env_;
    env["PW23"] = "pass23";
    fix = run_warmup({"mailbox", "update", "user23@test.local", "--secret-env", "PW23"}, env);
    resume = run_warmup({"mailbox", "resume", "user23@test.local"}, env);
  });
  auto run2 = run_warmup({"run", "--time-scale", "720", "--for", "90s"}, env_, 300'000);
  person.join();
  ASSERT_EQ(run2.exit_code, 0) << run2.err;
  EXPECT_EQ(fix.exit_code, 0) << fix.err;
  EXPECT_EQ(resume.exit_code, 0) << resume.err;
  EXPECT_TRUE(contains(run2.err, "event=mail_account_reloaded")) << "resume must reload the account";
  EXPECT_FALSE(contains(run.err + run.out + run2.err + run2.out, "pass1"))
    << "a password reached the output";
  EXPECT_TRUE(contains(run2.err, "event=human_reply mailbox=" + std::to_string(human_to_id)))
    << "the reply a person wrote must be recognised";

  auto store = storage::open_sqlite((dir_ / "data" / "warmup.db").string(), true);

  // What the store says was sent, by Message-ID, and the per-mailbox figures.
  std::map<std::string, mailbox_id> sent_to;        // Message-ID -> recipient (To)
  std::map<mailbox_id, std::string> email_of;
  std::map<mailbox_id, day_stats> totals;
  std::uint64_t skipped_dead = 0, sent_by_dead = 0, sent_by_normal = 0;
  for (const auto& r : store->list_mailboxes({})) {
    email_of[r.settings.id] = r.settings.email;
    for (const auto& row : store->intents(r.settings.id, monday, tuesday)) {
      ASSERT_TRUE(row.outcome) << "an intent without an outcome after a clean stop";
      if (row.outcome->status == storage::intent_status::sent) {
        EXPECT_TRUE(sent_to.emplace(row.intent.message_id, row.intent.to).second)
          << "one Message-ID for two sends: " << row.intent.message_id;
      }
      const bool dead = r.settings.email == "user24@test.local";
      if (r.settings.email == "user23@test.local")
        continue;   // its Monday failures are not skipped slots of a dead port
      if (dead && row.outcome->status == storage::intent_status::failed)
        ++skipped_dead;
      if (dead && row.outcome->status == storage::intent_status::sent)
        ++sent_by_dead;
      if (!dead && row.outcome->status == storage::intent_status::sent)
        ++sent_by_normal;
    }
    for (const auto& d : store->stats(r.settings.id, monday, tuesday))
      totals[r.settings.id] += d;
  }
  EXPECT_GT(sent_by_normal, 60u) << "two days of 20+ mailboxes on the standard ramp";
  EXPECT_GT(skipped_dead, 0u) << "the mailbox whose SMTP port is closed must skip its slots";
  EXPECT_EQ(sent_by_dead, 0u);

  // What the maildirs hold.
  auto messages = all_messages(root_ / "mail");
  std::map<std::pair<int, std::string>, int> copies;   // (user, Message-ID) outside Sent
  std::map<std::string, stored_message> delivered;      // Message-ID -> a delivered copy
  std::size_t sent_copies = 0;
  for (const auto& m : messages) {
    ASSERT_FALSE(m.headers.message_id.empty()) << "a message without a Message-ID";
    if (m.folder == "Sent") {
      ++sent_copies;
      continue;
    }
    ++copies[{m.user, m.headers.message_id}];
    delivered.emplace(m.headers.message_id, m);
  }
  for (const auto& [key, n] : copies)
    EXPECT_EQ(n, 1) << "user" << key.first << " holds " << key.second << " " << n << " times";
  // Every send reached its recipient; nothing arrived that the store did not send.
  for (const auto& [id, to] : sent_to) {
    auto it = delivered.find(id);
    ASSERT_NE(it, delivered.end()) << id << " was sent to " << email_of[to] << " but is in no maildir";
    auto user = email_of[to].substr(4, email_of[to].find_first_of("+@") - 4);
    EXPECT_EQ(copies.count({std::stoi(user), id}), 1u) << id << " not in " << email_of[to] << "'s maildir";
  }
  for (const auto& [id, m] : delivered) {
    if (id != human_id) {
      EXPECT_TRUE(sent_to.count(id)) << "user" << m.user << " holds " << id
                                     << ", which the store never sent";
    }
  }
  // The person's reply stays where a person expects it: in the inbox, never filed.
  ASSERT_TRUE(delivered.count(human_id));
  for (const auto& m : messages) {
    if (m.headers.message_id == human_id) {
      EXPECT_EQ(m.folder, "") << "the human reply was moved to " << m.folder;
    }
  }
  EXPECT_GT(sent_copies, 0u) << "custom servers get a copy of each send in Sent";

  // Placement: mail to the +Junk mailboxes landed in spam and was rescued and filed; the
  // rest was found in the inbox and filed; the warmup folder holds what was processed.
  std::uint64_t inbox = 0, spam = 0, rescued = 0, received = 0, replies = 0;
  for (const auto& [id, d] : totals) {
    inbox += d.inbox;
    spam += d.spam;
    rescued += d.rescued;
    received += d.received;
    replies += d.replies;
  }
  EXPECT_GT(inbox, 20u);
  EXPECT_GT(spam, 0u) << "the +Junk mailboxes' mail is placed in spam";
  EXPECT_GT(rescued, 0u);
  std::size_t filed = 0, left_in_junk_of_junk_users = 0;
  for (const auto& m : messages) {
    if (m.folder == "Warmup")
      ++filed;
    if (m.folder == "Junk" && m.user > normal_users && m.user <= normal_users + junk_users)
      ++left_in_junk_of_junk_users;
  }
  EXPECT_GT(filed, 20u) << "processed warmup mail is filed into the Warmup folder";
  EXPECT_LT(left_in_junk_of_junk_users, spam) << "rescued mail must have left Junk";

  // Replies are threaded: Re: subject, In-Reply-To the parent, References ending with it.
  std::size_t threaded = 0;
  for (const auto& [id, m] : delivered) {
    if (m.headers.in_reply_to.empty())
      continue;
    ++threaded;
    EXPECT_TRUE(delivered.count(m.headers.in_reply_to)) << id << " answers a message nobody got";
    EXPECT_EQ(m.headers.subject.rfind("Re: ", 0), 0u) << m.headers.subject;
    const auto& refs = m.headers.references;
    EXPECT_GE(refs.size(), m.headers.in_reply_to.size());
    EXPECT_EQ(refs.substr(refs.size() - std::min(refs.size(), m.headers.in_reply_to.size())),
              m.headers.in_reply_to) << "References must end with the parent: " << refs;
  }
  EXPECT_GT(threaded, 0u) << "two days at a 35% reply rate give replies";

  std::printf("real mail, 2 simulated days: %zu sends delivered once each (%zu copies in Sent), "
              "placements inbox %llu / spam %llu, rescued %llu, filed %zu, threaded replies %zu, "
              "dead-port slots skipped %llu\n",
              sent_to.size(), sent_copies, (unsigned long long) inbox, (unsigned long long) spam,
              (unsigned long long) rescued, filed, threaded, (unsigned long long) skipped_dead);

  // The wrong password disconnected its own mailbox only (checked after the first run);
  // fixed and resumed while the node ran, it sends again.
  auto wrong = store->find_mailbox("user23@test.local");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->settings.state, mailbox_state::active);
  std::size_t sent_after_fix = 0;
  for (const auto& row : store->intents(wrong->settings.id, tuesday, tuesday))
    sent_after_fix += row.outcome && row.outcome->status == storage::intent_status::sent;
  std::string user23_log;
  {
    std::istringstream in(run2.err);
    for (std::string line; std::getline(in, line);)
      if (contains(line, "mailbox=" + std::to_string(wrong->settings.id)))
        user23_log += line + "\n";
  }
  EXPECT_GT(sent_after_fix, 0u) << "user23 must send again once its password is fixed:\n"
                                << user23_log << fix.out << resume.out << resume.err;
  for (const auto* name : {"user1@test.local", "user24@test.local", "user19+junk@test.local"}) {
    auto r = store->find_mailbox(name);
    ASSERT_TRUE(r) << name;
    EXPECT_NE(r->settings.state, mailbox_state::disconnected) << name;
  }

  // warmup status agrees with the store it reads.
  auto status = warmup({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j.at("total_mailboxes"), all_users);
}

}  // namespace
