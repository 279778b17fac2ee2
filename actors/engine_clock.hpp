// engine_clock.hpp: the one clock abstraction of the engine: real time, accelerated by a
// factor (a warmup day in a minute), manual (tests step it), or virtual (a simulation
// driver jumps it from event to event). Nothing else in the engine reads a system clock.
#pragma once

#include "warmup/types.hpp"

#include <atomic>
#include <chrono>

namespace warmup {

class engine_clock {
public:
  enum class mode { real, accelerated, manual, simulated };

  // Real time.
  static engine_clock real_time();
  // Simulated time starting at `start`, running `factor` times faster than the wall.
  static engine_clock accelerated(time_ms start, double factor);
  // Time that moves only by set()/advance() (tests, and the simulation driver).
  static engine_clock manual(time_ms start);
  static engine_clock simulated(time_ms start);

  engine_clock(const engine_clock& other);
  engine_clock& operator=(const engine_clock& other);

  time_ms now() const;
  mode kind() const { return mode_; }
  double factor() const { return factor_; }
  // Manual/simulated only.
  void set(time_ms t);
  void advance(time_ms delta);
  // Wall-clock duration that corresponds to `sim` engine milliseconds.
  std::chrono::milliseconds wall_for(time_ms sim) const;
  // The system clock, for the edges that need it (the CLI without a running node).
  static time_ms system_now();

private:
  engine_clock(mode m, time_ms start, double factor);
  mode mode_;
  double factor_ = 1.0;
  time_ms start_ = 0;
  std::chrono::steady_clock::time_point wall_start_;
  std::atomic<time_ms> manual_{0};
};

}  // namespace warmup
