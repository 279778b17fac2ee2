// account_test.cpp: mail account names, default ports, provider presets and the secret
// encoding that gets sealed.
#include "warmup/account.hpp"

#include <gtest/gtest.h>

using namespace warmup;

TEST(account, security_and_auth_names_round_trip_and_reject_others) {
  for (auto s : {mail_security::tls, mail_security::starttls, mail_security::none})
    EXPECT_EQ(parse_mail_security(to_string(s)), s);
  EXPECT_FALSE(parse_mail_security("ssl"));
  EXPECT_FALSE(parse_mail_security("TLS"));
  for (auto a : {auth_method::password, auth_method::oauth2})
    EXPECT_EQ(parse_auth_method(to_string(a)), a);
  EXPECT_FALSE(parse_auth_method("xoauth"));
}

TEST(account, default_ports_follow_the_security) {
  EXPECT_EQ(default_smtp_port(mail_security::tls), 465);
  EXPECT_EQ(default_smtp_port(mail_security::starttls), 587);
  EXPECT_EQ(default_smtp_port(mail_security::none), 25);
  EXPECT_EQ(default_imap_port(mail_security::tls), 993);
  EXPECT_EQ(default_imap_port(mail_security::starttls), 143);
}

TEST(account, presets_fill_only_what_is_missing) {
  mail_account a;
  EXPECT_TRUE(apply_provider_preset("gmail", a));
  EXPECT_EQ(a.smtp.host, "smtp.gmail.com");
  EXPECT_EQ(a.imap.host, "imap.gmail.com");
  EXPECT_EQ(a.token_url, "https://oauth2.googleapis.com/token");
  mail_account own;
  own.smtp.host = "smtp.example.net";
  own.smtp.security = mail_security::none;
  EXPECT_TRUE(apply_provider_preset("outlook", own));
  EXPECT_EQ(own.smtp.host, "smtp.example.net");
  EXPECT_EQ(own.smtp.security, mail_security::none);
  EXPECT_EQ(own.imap.host, "outlook.office365.com");
  mail_account none;
  EXPECT_FALSE(apply_provider_preset("custom", none));
  EXPECT_FALSE(none.configured());
}

TEST(account, secrets_round_trip_any_bytes_and_reject_foreign_input) {
  account_secret s{std::string("pa\0ss", 5), "refresh/token", ""};
  auto bytes = encode_secret(s);
  auto back = decode_secret(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(decode_secret("hunter2"));
  EXPECT_FALSE(decode_secret(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(decode_secret(bytes + "x"));
}
