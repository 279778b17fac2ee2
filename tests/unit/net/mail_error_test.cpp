// mail_error_test.cpp: how SMTP replies become error kinds, what an error says, and that
// the protocol transcript never keeps credentials.
#include "net/curl_connection.hpp"
#include "net/mail_error.hpp"
#include "net/smtp_client.hpp"

#include <gtest/gtest.h>

using namespace warmup::net;

TEST(smtp_reply, kinds_by_code_and_command) {
  EXPECT_EQ(classify_smtp_reply(550, "RCPT TO:<x@example.com>"), mail_error_kind::permanent_recipient);
  EXPECT_EQ(classify_smtp_reply(554, "DATA"), mail_error_kind::permanent_recipient);
  EXPECT_EQ(classify_smtp_reply(450, "RCPT TO:<x@example.com>"), mail_error_kind::temporary);
  EXPECT_EQ(classify_smtp_reply(421, "(greeting)"), mail_error_kind::temporary);
  EXPECT_EQ(classify_smtp_reply(535, "(sasl data)"), mail_error_kind::auth);
  EXPECT_EQ(classify_smtp_reply(535, "AUTH PLAIN"), mail_error_kind::auth);
  EXPECT_EQ(classify_smtp_reply(454, "AUTH LOGIN"), mail_error_kind::temporary);
  EXPECT_EQ(classify_smtp_reply(530, "MAIL FROM:<a@b>"), mail_error_kind::auth);
  EXPECT_EQ(classify_smtp_reply(553, "MAIL FROM:<a@b>"), mail_error_kind::protocol);
}

TEST(transcript, client_lines_lose_credentials) {
  EXPECT_EQ(redact_client_line("A002 LOGIN user1@test.local hunter2"), "A002 LOGIN");
  EXPECT_EQ(redact_client_line("A002 AUTHENTICATE PLAIN AHVzZXIxAHBhc3Mx"), "A002 AUTHENTICATE PLAIN");
  EXPECT_EQ(redact_client_line("AUTH PLAIN AHVzZXIxAHBhc3Mx"), "AUTH PLAIN");
  EXPECT_EQ(redact_client_line("auth xoauth2 dXNlcj1hAWF1dGg9QmVhcmVyIHh4AQE="), "AUTH XOAUTH2");
  EXPECT_EQ(redact_client_line("cGFzczE="), "(sasl data)");          // AUTH LOGIN's password
  EXPECT_EQ(redact_client_line("RCPT TO:<a@b.c>"), "RCPT TO:<a@b.c>");
  EXPECT_EQ(redact_client_line("A009 UID MOVE 4 \"Junk\""), "A009 UID MOVE 4 \"Junk\"");
}

TEST(mail_error, message_names_kind_host_and_reply) {
  mail_error e;
  e.kind = mail_error_kind::permanent_recipient;
  e.host = "mx.example.com:25";
  e.reply = "550 5.1.1 <x@example.com>: User unknown";
  e.detail = "RCPT failed: 550";
  EXPECT_EQ(e.message(),
            "permanent_recipient failure at mx.example.com:25: 550 5.1.1 <x@example.com>: "
            "User unknown (RCPT failed: 550)");
  mail_error bare;
  bare.kind = mail_error_kind::temporary;
  bare.host = "h:1";
  bare.detail = "Connection refused";
  EXPECT_EQ(bare.message(), "temporary failure at h:1: Connection refused");
}

TEST(mail_result, holds_value_or_error) {
  mail_result<int> ok = 5;
  EXPECT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  mail_result<int> bad = mail_error{mail_error_kind::auth, "h", 535, "no", ""};
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, mail_error_kind::auth);
}
