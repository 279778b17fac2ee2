// secret_box_test.cpp: sealed secrets open with their key only, and unaltered.
#include "net/secret_box.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

using namespace warmup::net;

namespace {
const std::string hex_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
}

TEST(secret_box, round_trip_and_fresh_nonce) {
  auto box = secret_box::from_key_text(hex_key);
  auto a = box.seal("app password 123");
  auto b = box.seal("app password 123");
  EXPECT_NE(a, b);                                    // a new nonce each time
  EXPECT_TRUE(secret_box::is_sealed(a));
  EXPECT_EQ(a.find("app password"), std::string::npos);
  EXPECT_EQ(box.open(a), "app password 123");
  EXPECT_EQ(box.open(b), "app password 123");
  EXPECT_EQ(box.open(box.seal("")), "");
}

TEST(secret_box, wrong_key_fails) {
  auto box = secret_box::from_key_text(hex_key);
  auto other = secret_box::from_key_text(secret_box::generate_key_text());
  EXPECT_FALSE(other.open(box.seal("refresh-token")));
}

TEST(secret_box, tampering_fails) {
  auto box = secret_box::from_key_text(hex_key);
  auto sealed = box.seal("refresh-token");
  for (std::size_t i = 4; i < sealed.size() - 2; i += 7) {   // every few base64 characters
    auto t = sealed;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(box.open(t)) << "changed at " << i;
  }
  EXPECT_FALSE(box.open(sealed.substr(0, sealed.size() - 4)));
  EXPECT_FALSE(box.open("refresh-token"));                  // not sealed at all
  EXPECT_FALSE(box.open("sb1:"));
}

TEST(secret_box, key_formats_and_clear_errors) {
  // the same 32 bytes as hex and as base64 open each other's texts
  auto hex = secret_box::from_key_text(hex_key);
  auto b64 = secret_box::from_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  EXPECT_EQ(b64.open(hex.seal("x")), "x");
  EXPECT_NO_THROW(secret_box::from_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
  try {
    secret_box::from_key_text("c2hvcnQ=");
    FAIL() << "a 5-byte key was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("32 bytes"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("c2hvcnQ"), std::string::npos);   // never echoed
  }
}

TEST(secret_box, key_from_environment) {
  ::unsetenv("WARMUP_TEST_SECRET_KEY");
  try {
    secret_box::from_env("WARMUP_TEST_SECRET_KEY");
    FAIL() << "missing key accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("WARMUP_TEST_SECRET_KEY is not set"), std::string::npos);
  }
  ::setenv("WARMUP_TEST_SECRET_KEY", "not-a-key", 1);
  EXPECT_THROW(secret_box::from_env("WARMUP_TEST_SECRET_KEY"), std::runtime_error);
  ::setenv("WARMUP_TEST_SECRET_KEY", hex_key.c_str(), 1);
  auto box = secret_box::from_env("WARMUP_TEST_SECRET_KEY");
  EXPECT_EQ(secret_box::from_key_text(hex_key).open(box.seal("s")), "s");
  ::unsetenv("WARMUP_TEST_SECRET_KEY");
}
