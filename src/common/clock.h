// Time as an injected seam: reading it and waiting on it. Production code takes a `Clock&`;
// tests pass a FakeClock (tests/testing/fake_clock.h) and advance it instead of sleeping: its
// timers fire when it is advanced past their deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mlfaas {

// A one-shot timer from Clock::StartTimer. Destroying it cancels it: a timer destroyed before
// it fires never fires. (One already handed to its io_context may still run: the callback
// checks that what it acts on is still current.)
class Timer {
 public:
  virtual ~Timer() = default;
};

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  // Monotonic time, for deadlines and idle timers. Thread-safe.
  virtual TimePoint Now() const = 0;
  // Wall-clock milliseconds since the Unix epoch (Lambda-Runtime-Deadline-Ms, log timestamps).
  virtual int64_t EpochMillis() const = 0;
  // Runs `fire` on `ioc` once `after` has passed by this clock. Thread-safe.
  virtual std::unique_ptr<Timer> StartTimer(boost::asio::io_context& ioc, Duration after,
                                            std::function<void()> fire) = 0;
};

// A duration in (fractional) milliseconds, as REPORT lines and status answers give them.
inline double Millis(Clock::Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// "2026-11-26T18:30:05.123Z": an epoch time in milliseconds as RFC 3339 UTC with milliseconds
// (the registry's, the audit log's and the function log's timestamps).
std::string Rfc3339Millis(int64_t epoch_ms);

// The real clocks (steady and system), and Boost.Asio steady timers. Stateless and
// thread-safe; `Get()` returns a process-wide instance.
class SystemClock final : public Clock {
 public:
  static SystemClock& Get();
  TimePoint Now() const override;
  int64_t EpochMillis() const override;
  std::unique_ptr<Timer> StartTimer(boost::asio::io_context& ioc, Duration after,
                                    std::function<void()> fire) override;
};

}  // namespace mlfaas
