// Randomness as an injected seam, like Clock: production code takes a `Random&`; tests pass a
// FakeRandom (tests/testing/fake_random.h) that returns the values they script, so a canary
// draw or a request id is reproducible.
#pragma once

#include <cstdint>

namespace mlfaas {

class Random {
 public:
  virtual ~Random() = default;
  // 64 uniformly distributed bits. Thread-safe.
  virtual uint64_t Bits() = 0;
  // Uniform in [0, 1): the top 53 bits of Bits().
  double Uniform01() { return static_cast<double>(Bits() >> 11) * 0x1.0p-53; }
};

// A per-thread mt19937_64 seeded from std::random_device. Not for secrets. `Get()` returns a
// process-wide instance.
class SystemRandom final : public Random {
 public:
  static SystemRandom& Get();
  uint64_t Bits() override;
};

}  // namespace mlfaas
