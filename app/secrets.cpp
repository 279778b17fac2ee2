// secrets.cpp: mailbox secrets sealed with net::secret_box under WARMUP_SECRET_KEY.
#include "app/secrets.hpp"

#include "net/secret_box.hpp"

#include <stdexcept>

namespace warmup::app {

std::string seal_account_secret(const account_secret& s) {
  return net::secret_box::from_env().seal(encode_secret(s));
}

account_secret open_account_secret(const std::string& sealed) {
  auto plain = net::secret_box::from_env().open(sealed);
  if (!plain)
    throw std::runtime_error("the stored secret does not open with WARMUP_SECRET_KEY: the key "
                             "is not the one it was sealed with, or the data was altered");
  auto s = decode_secret(*plain);
  if (!s)
    throw std::runtime_error("the stored secret is not in a format this version reads");
  return *s;
}

}  // namespace warmup::app
