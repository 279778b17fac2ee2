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
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4];
};

// The draws every plan and every peer choice makes several times are defined here, so
// they inline into those loops; integer and exact floating-point steps only, the same
// bits in every build.

// xoshiro256** 1.0 (Blackman & Vigna), unchanged.
inline std::uint64_t rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

// The top 53 bits: every double in [0, 1) on a 2^-53 grid, equally likely.
inline double rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

// Unbiased by rejection: draws below 2^64 mod range are redrawn (rarely: less than
// range / 2^64 of the time). Bounds given in the wrong order are swapped.
inline std::int64_t rng::uniform_int(std::int64_t lo, std::int64_t hi) {
  if (hi < lo) {
    const auto t = lo;
    lo = hi;
    hi = t;
  }
  const std::uint64_t range =
    static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (range == 0)  // the whole int64 range
    return static_cast<std::int64_t>(next());
  std::uint64_t x = next();
  // threshold < range, so a draw of at least `range` is never redrawn: the division
  // that computes the threshold is needed only below it (almost never for wide ranges).
  if (x < range) {
    const std::uint64_t threshold = (0 - range) % range;
    while (x < threshold)
      x = next();
  }
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % range);
}

// Always consumes exactly one draw, so a stream's later values do not depend on p.
inline bool rng::chance(double p) {
  return uniform() < p;
}

}  // namespace warmup
