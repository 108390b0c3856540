// Per-key request rate limits: a token bucket per access key id (docs/security.md). A key with
// rate r may send r requests per second on average and bursts of up to 2r.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"

namespace mlfaas::auth {

// Not thread-safe; RateLimiter serializes.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst, Clock::TimePoint now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}
  // Takes one token if there is one.
  bool Take(Clock::TimePoint now);
  void SetRate(double rate, double burst);

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::TimePoint last_;
};

// Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(Clock& clock) : clock_(clock) {}
  // One request by `key` limited to `rate` per second (burst 2 * rate): false when over.
  bool Admit(const std::string& key, double rate);
  // Forgets keys that no longer exist (bounded by the key table).
  void Retain(const std::map<std::string, double>& keys);

 private:
  Clock& clock_;
  std::mutex mu_;
  std::map<std::string, TokenBucket> buckets_;
};

}  // namespace mlfaas::auth
