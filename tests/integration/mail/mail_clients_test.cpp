// mail_clients_test.cpp: the SMTP, IMAP and OAuth2 clients against a real postfix + dovecot
// on loopback: delivery, Junk rescue with the new UID, threading headers, every failure kind.
#include "mail_stack.hpp"

#include "net/imap_session.hpp"
#include "net/oauth_token_source.hpp"
#include "net/receive_flow.hpp"
#include "net/smtp_client.hpp"
#include "warmup/content.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace warmup;
using namespace warmup::net;
using warmup::mail_test::stack;

namespace {

[[maybe_unused]] auto* const environment =
    ::testing::AddGlobalTestEnvironment(new mail_test::mail_stack_environment);

mail_login login_of(int n) {
  return {"user" + std::to_string(n) + "@test.local", "pass" + std::to_string(n),
          auth_method::password};
}

std::string address(int n) { return "user" + std::to_string(n) + "@test.local"; }

tls_policy trusted() { return {stack().ca_file, true}; }

server_endpoint smtp_starttls() { return {"localhost", stack().smtp, mail_security::starttls}; }
server_endpoint smtps() { return {"localhost", stack().smtps, mail_security::tls}; }
server_endpoint imaps() { return {"localhost", stack().imaps, mail_security::tls}; }
server_endpoint imap_starttls() { return {"localhost", stack().imap, mail_security::starttls}; }

std::string unique_id(std::string_view tag) {
  static int n = 0;
  return "<" + std::string(tag) + "." + std::to_string(::getpid()) + "." + std::to_string(++n) +
         "@test.local>";
}

mail_message message(int from, int to, std::string subject) {
  mail_message m;
  m.message_id = unique_id("m");
  m.from = address(from);
  m.to = address(to);
  m.subject = std::move(subject);
  m.body = "Hi,\nare we still on for Thursday?\n.\nA line with a dot above.\n";
  m.date = 1'795'000'000'000;
  return m;
}

// Polls until the message is in INBOX or Junk (delivery through postfix -> LMTP is
// asynchronous); at most 15 s.
std::optional<imap_location> wait_for(imap_session& s, const std::string& message_id) {
  for (int i = 0; i < 150; ++i) {
    auto found = s.find_message(message_id);
    EXPECT_TRUE(found) << found.error().message();
    if (!found)
      return std::nullopt;
    if (*found)
      return **found;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

bool has_flag(const std::vector<std::string>& flags, std::string_view f) {
  return std::find(flags.begin(), flags.end(), f) != flags.end();
}

bool said(const std::vector<transcript_line>& t, std::string_view text) {
  return std::any_of(t.begin(), t.end(),
                     [&](const transcript_line& l) { return l.text.find(text) != std::string::npos; });
}

class mail_clients : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(stack().up) << "mail stack not up: " << stack().why; }
};

}  // namespace

TEST_F(mail_clients, sent_message_arrives_in_inbox_of_to_and_cc) {
  smtp_client smtp(smtp_starttls(), trusted());
  auto m = message(1, 2, "Thursday planning");
  m.cc = {address(3)};
  auto sent = smtp.send(m, login_of(1));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_TRUE(said(smtp.last_transcript(), "STARTTLS"));
  EXPECT_TRUE(said(smtp.last_transcript(), "RCPT TO:<user3@test.local>"));

  for (int n : {2, 3}) {
    imap_session imap(imaps(), trusted(), login_of(n));
    auto where = wait_for(imap, m.message_id);
    ASSERT_TRUE(where) << "not delivered to user" << n;
    EXPECT_EQ(where->folder, "INBOX");
    auto headers = imap.fetch_headers(where->folder, where->uid, {"Message-ID", "Subject", "Cc"});
    ASSERT_TRUE(headers) << headers.error().message();
    EXPECT_NE(headers->find(m.message_id), std::string::npos) << *headers;
    EXPECT_NE(headers->find("Subject: Thursday planning"), std::string::npos) << *headers;
    EXPECT_NE(headers->find("Cc: user3@test.local"), std::string::npos) << *headers;
  }
}

TEST_F(mail_clients, junk_message_is_rescued_filed_and_flagged_on_its_new_uid) {
  smtp_client smtp(smtps(), trusted());
  auto m = message(4, 5, "Quarterly numbers");
  // the stack's sieve rule files X-Spam-Flag: YES into Junk, as a provider's filter would
  auto sent = smtp.send(envelope_of(m), "X-Spam-Flag: YES\r\n" + to_rfc5322(m), login_of(4));
  ASSERT_TRUE(sent) << sent.error().message();

  imap_session imap(imap_starttls(), trusted(), login_of(5));
  auto folders = imap.folders();
  ASSERT_TRUE(folders) << folders.error().message();
  EXPECT_EQ(folders->junk, "Junk");
  EXPECT_EQ(folders->sent, "Sent");
  EXPECT_EQ(folders->archive, "Archive");
  auto where = wait_for(imap, m.message_id);
  ASSERT_TRUE(where);
  ASSERT_EQ(where->folder, "Junk");

  // rescue: Junk -> INBOX, with the UID it has there
  auto in_inbox = imap.move("Junk", where->uid, "INBOX");
  ASSERT_TRUE(in_inbox) << in_inbox.error().message();
  ASSERT_NE(*in_inbox, 0u);
  auto left = imap.search_message_id("Junk", m.message_id);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty()) << "still in Junk";
  auto inbox_uids = imap.search_message_id("INBOX", m.message_id);
  ASSERT_TRUE(inbox_uids);
  EXPECT_EQ(*inbox_uids, std::vector<std::uint32_t>{*in_inbox});

  // file it into the warmup folder (created when missing) and flag it there
  auto warmup_folder = imap.full_name("Warmup");
  ASSERT_TRUE(warmup_folder);
  ASSERT_TRUE(imap.ensure_folder(*warmup_folder));
  ASSERT_TRUE(imap.ensure_folder(*warmup_folder));   // a second call is a no-op
  auto filed = imap.move("INBOX", *in_inbox, *warmup_folder);
  ASSERT_TRUE(filed) << filed.error().message();
  ASSERT_TRUE(imap.store_flags(*warmup_folder, *filed, {"\\Seen", "\\Flagged"}));
  auto flags = imap.fetch_flags(*warmup_folder, *filed);
  ASSERT_TRUE(flags) << flags.error().message();
  EXPECT_TRUE(has_flag(*flags, "\\Seen"));
  EXPECT_TRUE(has_flag(*flags, "\\Flagged"));
  // the old UID is gone from INBOX: flags set there would have done nothing
  EXPECT_FALSE(imap.fetch_flags("INBOX", *in_inbox));
  // all of it on the session's one connection: later calls do not log in again
  EXPECT_TRUE(said(imap.last_transcript(), "UID FETCH"));
  EXPECT_FALSE(said(imap.last_transcript(), "AUTHENTICATE"));
  EXPECT_FALSE(said(imap.last_transcript(), "A001 "));
}

TEST_F(mail_clients, move_without_move_copies_marks_deleted_and_expunges) {
  smtp_client smtp(smtp_starttls(), trusted());
  auto m = message(6, 7, "Copy path");
  ASSERT_TRUE(smtp.send(envelope_of(m), "X-Spam-Flag: YES\r\n" + to_rfc5322(m), login_of(6)));
  imap_options no_move;
  no_move.use_move = false;
  imap_session imap(imaps(), trusted(), login_of(7), no_move);
  auto where = wait_for(imap, m.message_id);
  ASSERT_TRUE(where);
  ASSERT_EQ(where->folder, "Junk");
  auto uid = imap.move("Junk", where->uid, "INBOX");
  ASSERT_TRUE(uid) << uid.error().message();
  EXPECT_TRUE(said(imap.last_transcript(), "UID EXPUNGE"));
  EXPECT_NE(*uid, 0u);
  EXPECT_TRUE(imap.search_message_id("Junk", m.message_id)->empty());
  EXPECT_EQ(*imap.search_message_id("INBOX", m.message_id), std::vector<std::uint32_t>{*uid});
  ASSERT_TRUE(imap.store_flags("INBOX", *uid, {"\\Flagged"}));
  EXPECT_TRUE(has_flag(*imap.fetch_flags("INBOX", *uid), "\\Flagged"));
}

TEST_F(mail_clients, reply_is_threaded_and_its_copy_lands_in_sent) {
  mailbox_settings a, b;
  a.email = address(8);
  a.display_name = "Ann Example";
  a.provider = "custom";
  b.email = address(9);
  b.display_name = "Bob Example";
  b.provider = "custom";
  auto opener = compose_opener(11, a, b, 1'795'000'000'000);
  smtp_client smtp(smtp_starttls(), trusted());
  ASSERT_TRUE(smtp.send(opener, login_of(8)));

  imap_session bob(imaps(), trusted(), login_of(9));
  auto got = wait_for(bob, opener.message_id);
  ASSERT_TRUE(got);
  auto reply = compose_reply(12, b, opener, 1'795'000'600'000);
  auto sent = smtp.send(reply, login_of(9));
  ASSERT_TRUE(sent) << sent.error().message();
  auto folders = bob.folders();
  ASSERT_TRUE(folders);
  auto copy = bob.append(folders->sent, to_rfc5322(reply));
  ASSERT_TRUE(copy) << copy.error().message();
  EXPECT_NE(*copy, 0u);
  EXPECT_EQ(*bob.search_message_id(folders->sent, reply.message_id), std::vector<std::uint32_t>{*copy});
  EXPECT_TRUE(has_flag(*bob.fetch_flags(folders->sent, *copy), "\\Seen"));

  imap_session ann(imaps(), trusted(), login_of(8));
  auto back = wait_for(ann, reply.message_id);
  ASSERT_TRUE(back);
  auto h = ann.fetch_headers(back->folder, back->uid, {"In-Reply-To", "References", "Subject"});
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_NE(h->find("In-Reply-To: " + opener.message_id), std::string::npos) << *h;
  EXPECT_NE(h->find("References: " + opener.message_id), std::string::npos) << *h;
  EXPECT_NE(h->find("Subject: Re: "), std::string::npos) << *h;
  EXPECT_EQ(h->find("Re: Re:"), std::string::npos) << *h;
}

TEST_F(mail_clients, wrong_password_is_an_auth_failure_with_the_servers_reason) {
  mail_login bad{address(1), "wrong-password-xyz", auth_method::password};
  smtp_client smtp(smtp_starttls(), trusted());
  auto sent = smtp.send(message(1, 2, "x"), bad);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, mail_error_kind::auth) << sent.error().message();
  EXPECT_EQ(sent.error().reply_code, 535);
  EXPECT_NE(sent.error().reply.find("authentication failed"), std::string::npos) << sent.error().message();
  EXPECT_EQ(sent.error().message().find("wrong-password-xyz"), std::string::npos);
  for (const auto& l : smtp.last_transcript())
    EXPECT_EQ(l.text.find("d3Jvbmct"), std::string::npos) << "credentials in transcript: " << l.text;

  imap_session imap(imaps(), trusted(), bad);
  auto caps = imap.capabilities();
  ASSERT_FALSE(caps);
  EXPECT_EQ(caps.error().kind, mail_error_kind::auth) << caps.error().message();
  EXPECT_NE(caps.error().reply.find("AUTHENTICATIONFAILED"), std::string::npos) << caps.error().message();
  EXPECT_EQ(caps.error().message().find("wrong-password-xyz"), std::string::npos);
}

TEST_F(mail_clients, server_down_is_temporary) {
  server_endpoint down{"127.0.0.1", stack().closed_port, mail_security::starttls};
  smtp_options quick;
  quick.timeouts.connect = std::chrono::milliseconds(2000);
  smtp_client smtp(down, trusted(), quick);
  auto sent = smtp.send(message(1, 2, "x"), login_of(1));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, mail_error_kind::temporary) << sent.error().message();
  EXPECT_EQ(sent.error().host, "127.0.0.1:" + std::to_string(stack().closed_port));

  imap_session imap(server_endpoint{"127.0.0.1", stack().closed_port, mail_security::tls},
                    trusted(), login_of(1));
  auto caps = imap.capabilities();
  ASSERT_FALSE(caps);
  EXPECT_EQ(caps.error().kind, mail_error_kind::temporary) << caps.error().message();
}

TEST_F(mail_clients, tls_verifies_against_the_test_ca_and_refuses_an_unknown_ca) {
  smtp_client ok(smtps(), trusted());
  auto sent = ok.send(message(1, 2, "tls ok"), login_of(1));
  EXPECT_TRUE(sent) << sent.error().message();

  tls_policy unknown{stack().unknown_ca_file, true};
  for (auto endpoint : {smtps(), smtp_starttls()}) {
    smtp_client smtp(endpoint, unknown);
    auto refused = smtp.send(message(1, 2, "tls refused"), login_of(1));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, mail_error_kind::tls) << refused.error().message();
    EXPECT_NE(refused.error().message().find("localhost:"), std::string::npos) << refused.error().message();
    EXPECT_NE(refused.error().detail.find("certificate"), std::string::npos) << refused.error().message();
  }
  imap_session imap(imaps(), unknown, login_of(1));
  auto caps = imap.capabilities();
  ASSERT_FALSE(caps);
  EXPECT_EQ(caps.error().kind, mail_error_kind::tls) << caps.error().message();
  EXPECT_NE(caps.error().message().find("localhost:"), std::string::npos);

  // verification off only when asked for explicitly
  imap_session unverified(imaps(), tls_policy{stack().unknown_ca_file, false}, login_of(1));
  EXPECT_TRUE(unverified.capabilities());
  // a certificate for localhost does not verify for another name of the same host
  imap_session wrong_name(server_endpoint{"127.0.0.2", stack().imaps, mail_security::tls},
                          trusted(), login_of(1));
  auto name = wrong_name.capabilities();
  if (!name)   // 127.0.0.2 may not be routable everywhere; when it is, the name must fail
    EXPECT_TRUE(name.error().kind == mail_error_kind::tls ||
                name.error().kind == mail_error_kind::temporary) << name.error().message();
  else
    ADD_FAILURE() << "a certificate for localhost/127.0.0.1 was accepted for 127.0.0.2";
}

TEST_F(mail_clients, xoauth2_with_a_refreshed_token_logs_in_to_imap_and_smtp) {
  oauth_token_source tokens(oauth_client{stack().token_url, "warmup-test", ""}, "rt-user3",
                            trusted());
  auto now = time_ms{1'795'000'000'000};
  auto login = tokens.login(address(3), now);
  ASSERT_TRUE(login) << login.error().message();
  EXPECT_EQ(login->method, auth_method::oauth2);
  EXPECT_EQ(tokens.exchanges(), 1u);
  // cached until expiry (3600 s) minus the margin (300 s)
  EXPECT_EQ(*tokens.access_token(now + 3000 * 1000), login->secret);
  EXPECT_EQ(tokens.exchanges(), 1u);
  auto renewed = tokens.access_token(now + 3400 * 1000);
  ASSERT_TRUE(renewed);
  EXPECT_NE(*renewed, login->secret);
  EXPECT_EQ(tokens.exchanges(), 2u);

  imap_session imap(imaps(), trusted(), *login);
  auto caps = imap.capabilities();
  ASSERT_TRUE(caps) << caps.error().message();
  EXPECT_TRUE(caps->count("MOVE"));
  EXPECT_TRUE(said(imap.last_transcript(), "AUTHENTICATE XOAUTH2"));
  EXPECT_FALSE(said(imap.last_transcript(), login->secret));

  smtp_client smtp(smtp_starttls(), trusted());
  auto m = message(3, 4, "sent with xoauth2");
  auto sent = smtp.send(m, *login);
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_TRUE(said(smtp.last_transcript(), "AUTH XOAUTH2"));
  imap_session receiver(imaps(), trusted(), login_of(4));
  EXPECT_TRUE(wait_for(receiver, m.message_id));

  // a token the provider does not know: the server refuses the login
  imap_session forged(imaps(), trusted(), mail_login{address(3), "at-forged", auth_method::oauth2});
  auto refused = forged.capabilities();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, mail_error_kind::auth) << refused.error().message();
  auto smtp_refused = smtp.send(m, mail_login{address(3), "at-forged", auth_method::oauth2});
  ASSERT_FALSE(smtp_refused);
  EXPECT_EQ(smtp_refused.error().kind, mail_error_kind::auth) << smtp_refused.error().message();

  // a revoked refresh token: the token endpoint's invalid_grant is an auth failure
  oauth_token_source revoked(oauth_client{stack().token_url, "warmup-test", ""}, "revoked",
                             trusted());
  auto none = revoked.access_token(now);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, mail_error_kind::auth);
  EXPECT_NE(none.error().reply.find("invalid_grant"), std::string::npos) << none.error().message();
  // and the token endpoint's certificate is verified too
  oauth_token_source untrusted(oauth_client{stack().token_url, "warmup-test", ""}, "rt-user3",
                               tls_policy{stack().unknown_ca_file, true});
  auto tls = untrusted.access_token(now);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().kind, mail_error_kind::tls) << tls.error().message();
}

TEST_F(mail_clients, recipients_that_cannot_exist_are_permanent) {
  smtp_client smtp(smtp_starttls(), trusted());
  auto outside = message(1, 2, "x");
  outside.to = "someone@example.com";
  auto r = smtp.send(outside, login_of(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, mail_error_kind::permanent_recipient) << r.error().message();
  EXPECT_EQ(r.error().reply_code, 550);
  EXPECT_NE(r.error().reply.find("someone@example.com"), std::string::npos) << r.error().message();

  auto unknown = message(1, 2, "x");
  unknown.cc = {"user999@test.local"};
  auto u = smtp.send(unknown, login_of(1));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().kind, mail_error_kind::permanent_recipient) << u.error().message();
  EXPECT_NE(u.error().reply.find("user999@test.local"), std::string::npos) << u.error().message();
}

TEST_F(mail_clients, cleanup_removes_or_archives_old_warmup_mail) {
  imap_session imap(imaps(), trusted(), login_of(10));
  auto folder = imap.full_name("Warmup");
  ASSERT_TRUE(folder);
  ASSERT_TRUE(imap.ensure_folder(*folder));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto m = message(9, 10, "old " + std::to_string(i));
    ids.push_back(m.message_id);
    auto uid = imap.append(*folder, to_rfc5322(m));
    ASSERT_TRUE(uid) << uid.error().message();
  }
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  // nothing arrived more than 2 days ago
  auto none = imap.cleanup(*folder, 2, now);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_EQ(none->removed, 0u);
  // three days on, with a 2-day retention: archive them
  auto archived = imap.cleanup(*folder, 2, now + 3 * ms_per_day, "Archive");
  ASSERT_TRUE(archived) << archived.error().message();
  EXPECT_EQ(archived->removed, 4u);
  for (const auto& id : ids) {
    EXPECT_TRUE(imap.search_message_id(*folder, id)->empty());
    EXPECT_EQ(imap.search_message_id("Archive", id)->size(), 1u);
  }
  // without an archive they are deleted
  auto again = imap.append(*folder, to_rfc5322(message(9, 10, "to delete")));
  ASSERT_TRUE(again);
  auto deleted = imap.cleanup(*folder, 2, now + 3 * ms_per_day);
  ASSERT_TRUE(deleted) << deleted.error().message();
  EXPECT_EQ(deleted->removed, 1u);
  auto rest = imap.cleanup(*folder, 2, now + 3 * ms_per_day);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->removed, 0u);
}

TEST_F(mail_clients, receive_flow_finds_rescues_flags_and_files_a_warmup_message) {
  smtp_client smtp(smtp_starttls(), trusted());
  auto spam = message(2, 6, "Receipt in spam");
  ASSERT_TRUE(smtp.send(envelope_of(spam), "X-Spam-Flag: YES\r\n" + to_rfc5322(spam), login_of(2)));
  auto plain = message(2, 6, "Receipt in inbox");
  ASSERT_TRUE(smtp.send(plain, login_of(2)));
  imap_session imap(imaps(), trusted(), login_of(6));
  ASSERT_TRUE(wait_for(imap, spam.message_id));
  ASSERT_TRUE(wait_for(imap, plain.message_id));

  engagement_plan engaged;
  engaged.read = true;
  engaged.star = true;
  engaged.rescue = true;
  auto r = process_warmup_message(imap, spam.message_id, engaged);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->where, found_in::spam);
  EXPECT_TRUE(r->rescued);
  EXPECT_TRUE(r->filed);
  EXPECT_EQ(r->folder, "Warmup");
  auto flags = imap.fetch_flags(r->folder, r->uid);
  ASSERT_TRUE(flags) << flags.error().message();
  EXPECT_TRUE(has_flag(*flags, "\\Seen"));
  EXPECT_TRUE(has_flag(*flags, "\\Flagged"));
  EXPECT_TRUE(imap.search_message_id("Junk", spam.message_id)->empty());

  // in the inbox: nothing to rescue; read only, left where it is
  engagement_plan read_only;
  read_only.read = true;
  read_only.rescue = true;
  receive_flow_options keep;
  keep.file_messages = false;
  auto p = process_warmup_message(imap, plain.message_id, read_only, keep);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->where, found_in::inbox);
  EXPECT_FALSE(p->rescued);
  EXPECT_FALSE(p->filed);
  auto pf = imap.fetch_flags("INBOX", p->uid);
  ASSERT_TRUE(pf);
  EXPECT_TRUE(has_flag(*pf, "\\Seen"));
  EXPECT_FALSE(has_flag(*pf, "\\Flagged"));

  auto missing = process_warmup_message(imap, "<never-sent@test.local>", engaged);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->where, found_in::missing);
}
