// random.hpp: a small, portable, seedable RNG (xoshiro256**) and the distributions the
// domain uses. std:: distributions differ between standard libraries, so plans would not
// be reproducible across builds; these are defined here bit for bit.
#pragma once

#include <cstdint>
#include <string_view>

namespace warmup {

// splitmix64 step: used to expand seeds and to mix ids into one 64-bit seed.
std::uint64_t mix64(std::uint64_t x);
// Combines values into one seed, order-sensitive: seed_of(a, b) != seed_of(b, a).
std::uint64_t seed_of(std::uint64_t a, std::uint64_t b);
std::uint64_t seed_of(std::uint64_t a, std::uint64_t b, std::uint64_t c);
// Stable 64-bit hash of bytes (XXH64, seed 0).
std::uint64_t stable_hash(std::string_view bytes);

class rng {
public:
  explicit rng(std::uint64_t seed);
  std::uint64_t next();               // raw 64 bits
  double uniform();                   // [0, 1)
  double uniform(double lo, double hi);
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);  // inclusive
  bool chance(double p);              // true with probability p (clamped to [0,1])
  double normal(double mean, double stddev);        // Box-Muller, no cached spare
  double lognormal(double median, double sigma);    // exp(N(ln median, sigma))
  double log_uniform(double lo, double hi);         // exp(U(ln lo, ln hi))

private:
  std::uint64_t s_[4];
};

}  // namespace warmup
