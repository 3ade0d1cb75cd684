// Clock: injectable time, so that schedulers and timeouts are testable without sleeping.
//
// SteadyClock reads std::chrono::steady_clock. FakeClock only moves when told to (Advance); it
// is thread-safe. Code that waits takes a `const Clock&` (or `Clock*`) and never calls
// std::chrono::*::now() itself.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace drc {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Seconds since the Unix epoch, for time stamps written to journals and reports.
  virtual double WallSeconds() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  double WallSeconds() const override;
};

// The process-wide real clock (stateless, so sharing it is safe).
const Clock& RealClock();

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Duration start = Duration::zero(), double wall_start = 0.0)
      : now_ns_(start.count()), wall_start_(wall_start) {}
  TimePoint Now() const override { return TimePoint(Duration(now_ns_.load())); }
  double WallSeconds() const override { return wall_start_ + now_ns_.load() * 1e-9; }
  void Advance(Duration d) { now_ns_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_ns_;
  double wall_start_;
};

// Measures elapsed seconds on a clock.
class Stopwatch {
 public:
  explicit Stopwatch(const Clock& clock = RealClock()) : clock_(clock), start_(clock.Now()) {}
  double Seconds() const { return std::chrono::duration<double>(clock_.Now() - start_).count(); }
  void Reset() { start_ = clock_.Now(); }

 private:
  const Clock& clock_;
  Clock::TimePoint start_;
};

}  // namespace drc
