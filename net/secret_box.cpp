// secret_box.cpp: crypto_secretbox sealing of stored secrets, the key from the environment.
#include "net/secret_box.hpp"

#include <sodium.h>

#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace warmup::net {

namespace {

constexpr std::string_view seal_prefix = "sb1:";

void sodium_ready() {
  static const int ok = sodium_init();   // thread-safe; 1 = already initialised
  if (ok < 0)
    throw std::runtime_error("libsodium failed to initialise");
}

std::optional<std::vector<unsigned char>> from_base64(std::string_view text, int variant) {
  if (text.empty())
    return std::vector<unsigned char>{};   // libsodium must not get a null buffer
  std::vector<unsigned char> out(text.size());
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        variant) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

std::string to_base64(const unsigned char* data, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);   // the terminating NUL
  return out;
}

}  // namespace

secret_box::secret_box(const std::array<unsigned char, key_size>& key) : key_(key) {
  sodium_ready();
}

secret_box::~secret_box() {
  sodium_memzero(key_.data(), key_.size());
}

secret_box secret_box::from_key_text(std::string_view text) {
  sodium_ready();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  std::array<unsigned char, key_size> key{};
  std::size_t len = 0;
  const char* end = nullptr;
  if (text.size() == 2 * key_size &&
      sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, &end) == 0 &&
      len == key_size && end == text.data() + text.size())
    return secret_box(key);
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    auto bytes = from_base64(text, variant);
    if (bytes && bytes->size() == key_size) {
      std::copy(bytes->begin(), bytes->end(), key.begin());
      sodium_memzero(bytes->data(), bytes->size());
      secret_box box(key);
      sodium_memzero(key.data(), key.size());
      return box;
    }
  }
  throw std::invalid_argument(
      "the secret key must be 32 bytes as 64 hex digits or base64 (got " +
      std::to_string(text.size()) + " characters that are neither); make one with "
      "`openssl rand -base64 32`");
}

secret_box secret_box::from_env(std::string_view var) {
  std::string name(var);
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0')
    throw std::runtime_error(
        name + " is not set: mailbox secrets are encrypted at rest with it. Set it to 32 "
        "random bytes in base64 (e.g. `export " + name + "=$(openssl rand -base64 32)`) and "
        "keep it: secrets sealed with one key open only with that key");
  try {
    return from_key_text(value);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(name + " is invalid: " + e.what());
  }
}

std::string secret_box::generate_key_text() {
  sodium_ready();
  std::array<unsigned char, key_size> key{};
  randombytes_buf(key.data(), key.size());
  auto text = to_base64(key.data(), key.size());
  sodium_memzero(key.data(), key.size());
  return text;
}

std::string secret_box::seal(std::string_view plain) const {
  std::vector<unsigned char> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 plain.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                        out.data(), key_.data());
  return std::string(seal_prefix) + to_base64(out.data(), out.size());
}

std::optional<std::string> secret_box::open(std::string_view sealed) const {
  if (!is_sealed(sealed))
    return std::nullopt;
  auto bytes = from_base64(sealed.substr(seal_prefix.size()), sodium_base64_VARIANT_ORIGINAL);
  if (!bytes || bytes->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return std::nullopt;
  std::string plain(bytes->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 bytes->data() + crypto_secretbox_NONCEBYTES,
                                 bytes->size() - crypto_secretbox_NONCEBYTES, bytes->data(),
                                 key_.data()) != 0)
    return std::nullopt;
  return plain;
}

bool secret_box::is_sealed(std::string_view text) {
  return text.starts_with(seal_prefix);
}

}  // namespace warmup::net
