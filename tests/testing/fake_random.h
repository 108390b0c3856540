// A Random whose draws a test decides: scripted values first, then a fixed splitmix64 sequence
// (the same in every run). Thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <mutex>

#include "common/random.h"

namespace mlfaas::testing {

class FakeRandom final : public Random {
 public:
  explicit FakeRandom(uint64_t seed = 0x5eed) : state_(seed) {}

  uint64_t Bits() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++draws_;
    if (!scripted_.empty()) {
      const uint64_t v = scripted_.front();
      scripted_.pop_front();
      return v;
    }
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // The next Uniform01() returns `u` (in [0, 1)), exactly when u is a multiple of 2^-53.
  void NextUniform(double u) {
    std::lock_guard<std::mutex> lock(mu_);
    scripted_.push_back(static_cast<uint64_t>(std::ldexp(u, 53)) << 11);
  }
  void NextBits(uint64_t bits) {
    std::lock_guard<std::mutex> lock(mu_);
    scripted_.push_back(bits);
  }
  int64_t draws() const {
    std::lock_guard<std::mutex> lock(mu_);
    return draws_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<uint64_t> scripted_;
  uint64_t state_;
  int64_t draws_ = 0;
};

}  // namespace mlfaas::testing
