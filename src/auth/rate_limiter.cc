#include "auth/rate_limiter.h"

#include <algorithm>

namespace mlfaas::auth {

bool TokenBucket::Take(Clock::TimePoint now) {
  if (now > last_) {
    const double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + secs * rate_);
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void TokenBucket::SetRate(double rate, double burst) {
  rate_ = rate;
  burst_ = burst;
  tokens_ = std::min(tokens_, burst_);
}

bool RateLimiter::Admit(const std::string& key, double rate) {
  const double burst = std::max(1.0, 2.0 * rate);
  const auto now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    it = buckets_.emplace(key, TokenBucket(rate, burst, now)).first;
  } else {
    it->second.SetRate(rate, burst);
  }
  return it->second.Take(now);
}

void RateLimiter::Retain(const std::map<std::string, double>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(buckets_, [&](const auto& kv) { return !keys.contains(kv.first); });
}

}  // namespace mlfaas::auth
