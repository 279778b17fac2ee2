// secret_box.hpp: mailbox secrets (passwords, OAuth2 refresh tokens) sealed at rest with
// libsodium's crypto_secretbox (XSalsa20-Poly1305) under a 32-byte key from the
// environment (WARMUP_SECRET_KEY). A sealed text opens only with the same key and unaltered.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace warmup::net {

class secret_box {
 public:
  static constexpr std::size_t key_size = 32;
  static constexpr std::string_view default_env = "WARMUP_SECRET_KEY";

  // The key from `text`: 64 hex digits or base64 (standard or URL-safe, padding optional)
  // of exactly 32 bytes. Throws std::invalid_argument saying what is wrong (never the key).
  static secret_box from_key_text(std::string_view text);
  // The key from environment variable `var`. Throws std::runtime_error when it is unset
  // (the message says how to make one) or invalid.
  static secret_box from_env(std::string_view var = default_env);
  // A fresh random key as base64, for `warmup` to print once at set-up.
  static std::string generate_key_text();

  explicit secret_box(const std::array<unsigned char, key_size>& key);
  ~secret_box();
  secret_box(const secret_box&) = default;
  secret_box& operator=(const secret_box&) = default;

  // "sb1:" + base64(nonce || MAC || ciphertext); a fresh random nonce per call, so sealing
  // the same secret twice gives different texts.
  std::string seal(std::string_view plain) const;
  // The plain secret; nullopt for a wrong key, an altered text or a text not made by seal().
  std::optional<std::string> open(std::string_view sealed) const;
  // Whether `text` looks sealed (a stored secret in clear must not be mistaken for one).
  static bool is_sealed(std::string_view text);

 private:
  std::array<unsigned char, key_size> key_{};
};

}  // namespace warmup::net
