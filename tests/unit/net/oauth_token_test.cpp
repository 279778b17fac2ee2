// oauth_token_test.cpp: reading token endpoint answers as Google and Microsoft send them.
#include "net/oauth_token_source.hpp"

#include <gtest/gtest.h>

using namespace warmup::net;

TEST(oauth_token, google_answer) {
  auto t = parse_token_response(
      200, R"({"access_token":"ya29.a0Af","expires_in":3599,"scope":"https://mail.google.com/","token_type":"Bearer"})",
      "oauth2.googleapis.com");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->access_token, "ya29.a0Af");
  EXPECT_EQ(t->expires_in, 3599);
  EXPECT_TRUE(t->refresh_token.empty());
}

TEST(oauth_token, microsoft_rotates_refresh_token_and_missing_expiry_defaults) {
  auto t = parse_token_response(200, R"({"access_token":"eyJ0","expires_in":"4000","refresh_token":"M.R3_new"})", "h");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_in, 4000);
  EXPECT_EQ(t->refresh_token, "M.R3_new");
  auto no_expiry = parse_token_response(200, R"({"access_token":"x"})", "h");
  ASSERT_TRUE(no_expiry);
  EXPECT_EQ(no_expiry->expires_in, 3600);
}

TEST(oauth_token, revoked_refresh_token_is_an_auth_failure) {
  auto t = parse_token_response(
      400, R"({"error":"invalid_grant","error_description":"Token has been expired or revoked."})",
      "oauth2.googleapis.com");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, mail_error_kind::auth);
  EXPECT_EQ(t.error().reply, "invalid_grant: Token has been expired or revoked.");
  EXPECT_EQ(t.error().host, "oauth2.googleapis.com");
  EXPECT_EQ(t.error().reply_code, 400);
}

TEST(oauth_token, server_trouble_is_temporary_and_garbage_is_protocol) {
  EXPECT_EQ(parse_token_response(503, "<html>busy</html>", "h").error().kind, mail_error_kind::temporary);
  EXPECT_EQ(parse_token_response(429, R"({"error":"rate_limited"})", "h").error().kind,
            mail_error_kind::temporary);
  EXPECT_EQ(parse_token_response(200, "not json", "h").error().kind, mail_error_kind::protocol);
  EXPECT_EQ(parse_token_response(200, R"({"access_token":""})", "h").error().kind,
            mail_error_kind::protocol);
}

TEST(oauth_token_source, missing_token_url_fails_without_network) {
  oauth_token_source source(oauth_client{"", "id", ""}, "rt");
  auto t = source.access_token(1000);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, mail_error_kind::auth);
  EXPECT_NE(t.error().detail.find("token URL"), std::string::npos);
}
