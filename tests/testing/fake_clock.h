// A Clock that only moves when a test advances it; its timers fire (posted to their io_context)
// when Advance passes their deadline. Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <list>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace mlfaas::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t epoch_ms = 1'700'000'000'000) : epoch_ms_(epoch_ms) {}
  TimePoint Now() const override { return TimePoint(Duration(now_ns_.load())); }
  int64_t EpochMillis() const override { return epoch_ms_ + now_ns_.load() / 1'000'000; }

  // Moves time forward and posts the callbacks of the timers now due, earliest first.
  void Advance(Duration d) {
    std::vector<Pending> due;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now_ns_ += d.count();
      for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->deadline_ns <= now_ns_.load()) {
          due.push_back(std::move(*it));
          it = timers_.erase(it);
        } else {
          ++it;
        }
      }
    }
    std::sort(due.begin(), due.end(),
              [](const Pending& a, const Pending& b) { return a.deadline_ns < b.deadline_ns; });
    for (auto& p : due) {
      boost::asio::post(*p.ioc, [alive = p.alive, fire = std::move(p.fire)] {
        if (alive->load()) fire();
      });
    }
  }
  // Timers started and not yet fired or cancelled.
  size_t PendingTimers() const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& p : timers_) n += p.alive->load() ? 1 : 0;
    return n;
  }

  std::unique_ptr<Timer> StartTimer(boost::asio::io_context& ioc, Duration after,
                                    std::function<void()> fire) override {
    auto alive = std::make_shared<std::atomic<bool>>(true);
    if (after.count() <= 0) {  // already due
      boost::asio::post(ioc, [alive, fire = std::move(fire)] {
        if (alive->load()) fire();
      });
      return std::make_unique<Handle>(alive);
    }
    std::lock_guard<std::mutex> lock(mu_);
    timers_.push_back({now_ns_.load() + after.count(), &ioc, std::move(fire), alive});
    return std::make_unique<Handle>(alive);
  }

 private:
  struct Pending {
    int64_t deadline_ns;
    boost::asio::io_context* ioc;
    std::function<void()> fire;
    std::shared_ptr<std::atomic<bool>> alive;
  };
  class Handle final : public Timer {
   public:
    explicit Handle(std::shared_ptr<std::atomic<bool>> alive) : alive_(std::move(alive)) {}
    ~Handle() override { alive_->store(false); }

   private:
    std::shared_ptr<std::atomic<bool>> alive_;
  };

  mutable std::mutex mu_;
  std::list<Pending> timers_;
  std::atomic<int64_t> now_ns_{1'000'000'000};
  int64_t epoch_ms_;
};

}  // namespace mlfaas::testing
