// Calls collected while a lock is held and run after it is released: declare the DeferredCalls
// before the lock guard so its destructor runs last. Not thread-safe (one owner).
#pragma once

#include <functional>
#include <vector>

namespace mlfaas::gateway {

class DeferredCalls {
 public:
  DeferredCalls() = default;
  DeferredCalls(const DeferredCalls&) = delete;
  DeferredCalls& operator=(const DeferredCalls&) = delete;
  ~DeferredCalls() {
    for (auto& f : calls_) f();
  }
  void Add(std::function<void()> f) { calls_.push_back(std::move(f)); }

 private:
  std::vector<std::function<void()>> calls_;
};

}  // namespace mlfaas::gateway
