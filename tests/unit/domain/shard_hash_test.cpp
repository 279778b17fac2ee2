// shard_hash_test.cpp: the documented shard of a mailbox, XXH64(lower-case email, seed 0)
// mod N. It places every mailbox of a cluster: any change moves mailboxes between shards.
#include "warmup/random.hpp"
#include "warmup/types.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using warmup::shard_of;

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

TEST(shard_hash, is_xxh64_of_the_lower_case_address_mod_the_shard_count) {
  // Golden: XXH64("anna@corp.example", 0) = 835623920091150953.
  EXPECT_EQ(warmup::stable_hash(std::string("anna@corp.example")), 835623920091150953ULL);
  EXPECT_EQ(shard_of("anna@corp.example", 256), 835623920091150953ULL % 256);
  EXPECT_EQ(shard_of("Anna@Corp.EXAMPLE", 256), 835623920091150953ULL % 256);
  EXPECT_EQ(shard_of("anna@corp.example", 7), 835623920091150953ULL % 7);
  EXPECT_EQ(shard_of("anna@corp.example", 0), 0u) << "no shard count: everything on shard 0";
}

TEST(shard_hash, addresses_of_any_length_hash_their_whole_lower_case_text) {
  // Up to and past the stack buffer the lowering uses (254 characters is the longest
  // address SMTP allows; longer input must still hash every character).
  for (std::size_t n : {1u, 60u, 254u, 255u, 256u, 257u, 600u}) {
    std::string email;
    for (std::size_t i = 0; i < n; ++i)
      email.push_back(static_cast<char>(i % 2 == 0 ? 'A' + i % 26 : 'a' + i % 26));
    auto expected = warmup::stable_hash(lower(email)) % 1009;
    EXPECT_EQ(shard_of(email, 1009), expected) << n << " characters";
  }
}

}  // namespace
