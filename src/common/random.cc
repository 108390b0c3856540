#include "common/random.h"

#include <random>

namespace mlfaas {

SystemRandom& SystemRandom::Get() {
  static SystemRandom r;
  return r;
}

uint64_t SystemRandom::Bits() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace mlfaas
