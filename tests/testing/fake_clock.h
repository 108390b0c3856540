// A Clock that only moves when a test advances it. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "common/clock.h"

namespace mlfaas::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t epoch_ms = 1'700'000'000'000) : epoch_ms_(epoch_ms) {}
  TimePoint Now() const override { return TimePoint(Duration(now_ns_.load())); }
  int64_t EpochMillis() const override { return epoch_ms_ + now_ns_.load() / 1'000'000; }
  void Advance(Duration d) { now_ns_ += d.count(); }

 private:
  std::atomic<int64_t> now_ns_{1'000'000'000};
  int64_t epoch_ms_;
};

}  // namespace mlfaas::testing
