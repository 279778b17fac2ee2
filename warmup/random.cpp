// random.cpp: xoshiro256** seeded through splitmix64, the seed mixers, XXH64 and the
// distributions the domain draws from, all defined bit for bit (no std:: distributions).
#include "warmup/random.hpp"

#include <xxhash.h>

#include <cmath>
#include <numbers>
#include <utility>

namespace warmup {

namespace {

// The splitmix64 increment (2^64 / golden ratio).
constexpr std::uint64_t golden_gamma = 0x9E3779B97F4A7C15ull;

constexpr std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

// One splitmix64 output for state `x`: add the increment, then the finaliser. A
// bijection, so distinct inputs stay distinct after mixing.
std::uint64_t mix64(std::uint64_t x) {
  std::uint64_t z = x + golden_gamma;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Chained mixing: for a fixed `a` the result is a bijection of `b`, and swapping the
// arguments changes it (a is mixed before b enters).
std::uint64_t seed_of(std::uint64_t a, std::uint64_t b) {
  return mix64(mix64(a) ^ b);
}

std::uint64_t seed_of(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return mix64(seed_of(a, b) ^ c);
}

std::uint64_t stable_hash(std::string_view bytes) {
  return XXH64(bytes.data(), bytes.size(), 0);
}

// The state is the first four outputs of splitmix64 started at `seed`, as the
// xoshiro authors recommend; that never yields the all-zero state in practice, and the
// guard below makes it impossible.
rng::rng(std::uint64_t seed) {
  for (int i = 0; i < 4; ++i)
    s_[i] = mix64(seed + static_cast<std::uint64_t>(i) * golden_gamma);
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0)
    s_[0] = golden_gamma;
}

// xoshiro256** 1.0 (Blackman & Vigna), unchanged.
std::uint64_t rng::next() {
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
double rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

// Unbiased by rejection: draws below 2^64 mod range are redrawn (rarely: less than
// range / 2^64 of the time). Bounds given in the wrong order are swapped.
std::int64_t rng::uniform_int(std::int64_t lo, std::int64_t hi) {
  if (hi < lo)
    std::swap(lo, hi);
  const std::uint64_t range =
    static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (range == 0)  // the whole int64 range
    return static_cast<std::int64_t>(next());
  const std::uint64_t threshold = (0 - range) % range;
  std::uint64_t x = next();
  while (x < threshold)
    x = next();
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % range);
}

// Always consumes exactly one draw, so a stream's later values do not depend on p.
bool rng::chance(double p) {
  return uniform() < p;
}

// Box-Muller, cosine branch only: two draws per value and no cached spare, so a copy of
// the generator or a re-seeded one replays exactly the same values.
double rng::normal(double mean, double stddev) {
  const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
  const double u2 = uniform();
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  return mean + stddev * z;
}

double rng::lognormal(double median, double sigma) {
  return std::exp(normal(std::log(median), sigma));
}

double rng::log_uniform(double lo, double hi) {
  return std::exp(uniform(std::log(lo), std::log(hi)));
}

}  // namespace warmup
