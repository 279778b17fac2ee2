// engine_clock.cpp: real, accelerated, manual and simulated engine time.
#include "actors/engine_clock.hpp"

#include <cmath>

namespace warmup {

engine_clock::engine_clock(mode m, time_ms start, double factor)
  : mode_(m), factor_(factor), start_(start), wall_start_(std::chrono::steady_clock::now()),
    manual_(start) {
}

engine_clock::engine_clock(const engine_clock& other)
  : mode_(other.mode_), factor_(other.factor_), start_(other.start_),
    wall_start_(other.wall_start_), manual_(other.manual_.load()) {
}

engine_clock& engine_clock::operator=(const engine_clock& other) {
  mode_ = other.mode_;
  factor_ = other.factor_;
  start_ = other.start_;
  wall_start_ = other.wall_start_;
  manual_.store(other.manual_.load());
  return *this;
}

engine_clock engine_clock::real_time() {
  return engine_clock(mode::real, system_now(), 1.0);
}

engine_clock engine_clock::accelerated(time_ms start, double factor) {
  return engine_clock(mode::accelerated, start, factor);
}

engine_clock engine_clock::manual(time_ms start) {
  return engine_clock(mode::manual, start, 1.0);
}

engine_clock engine_clock::simulated(time_ms start) {
  return engine_clock(mode::simulated, start, 0.0);
}

time_ms engine_clock::system_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

time_ms engine_clock::now() const {
  switch (mode_) {
    case mode::real:
      return system_now();
    case mode::accelerated: {
      auto wall = std::chrono::steady_clock::now() - wall_start_;
      auto ms = std::chrono::duration<double, std::milli>(wall).count();
      return start_ + static_cast<time_ms>(std::llround(ms * factor_));
    }
    case mode::manual:
    case mode::simulated:
      break;
  }
  return manual_.load(std::memory_order_acquire);
}

void engine_clock::set(time_ms t) {
  manual_.store(t, std::memory_order_release);
}

void engine_clock::advance(time_ms delta) {
  manual_.fetch_add(delta, std::memory_order_acq_rel);
}

std::chrono::milliseconds engine_clock::wall_for(time_ms sim) const {
  if (mode_ == mode::accelerated && factor_ > 0)
    return std::chrono::milliseconds(static_cast<std::int64_t>(sim / factor_));
  return std::chrono::milliseconds(sim);
}

}  // namespace warmup
