// random.cpp: xoshiro256** seeded through splitmix64, the seed mixers, XXH64 and the
// distributions the domain draws from, all defined bit for bit (no std:: distributions).
#include "warmup/random.hpp"

#include <xxhash.h>

#include <cmath>
#include <numbers>

namespace warmup {

namespace {

// The splitmix64 increment (2^64 / golden ratio).
constexpr std::uint64_t golden_gamma = 0x9E3779B97F4A7C15ull;

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

// next(), uniform(), uniform_int() and chance() are defined inline in the header.

// The state is the first four outputs of splitmix64 started at `seed`, as the
// xoshiro authors recommend; that never yields the all-zero state in practice, and the
// guard below makes it impossible.
rng::rng(std::uint64_t seed) {
  for (int i = 0; i < 4; ++i)
    s_[i] = mix64(seed + static_cast<std::uint64_t>(i) * golden_gamma);
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0)
    s_[0] = golden_gamma;
}

double rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
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
