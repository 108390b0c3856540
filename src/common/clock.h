// Time as an injected seam. Production code takes a `Clock&`; tests pass a FakeClock
// (tests/testing/fake_clock.h) and advance it instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace mlfaas {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  // Monotonic time, for deadlines and idle timers. Thread-safe.
  virtual TimePoint Now() const = 0;
  // Wall-clock milliseconds since the Unix epoch (Lambda-Runtime-Deadline-Ms, created-at stamps).
  virtual int64_t EpochMillis() const = 0;
};

// The real clocks. Stateless and thread-safe; `Get()` returns a process-wide instance.
class SystemClock final : public Clock {
 public:
  static SystemClock& Get();
  TimePoint Now() const override;
  int64_t EpochMillis() const override;
};

}  // namespace mlfaas
