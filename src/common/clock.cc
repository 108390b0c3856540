#include "common/clock.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <ctime>

namespace mlfaas {

std::string Rfc3339Millis(int64_t epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(epoch_ms % 1000));
  return buf;
}

namespace {

class AsioTimer final : public Timer {
 public:
  AsioTimer(boost::asio::io_context& ioc, Clock::Duration after, std::function<void()> fire)
      : timer_(ioc, std::chrono::duration_cast<boost::asio::steady_timer::duration>(after)) {
    timer_.async_wait([alive = alive_, fire = std::move(fire)](boost::system::error_code ec) {
      if (!ec && alive->load()) fire();
    });
  }
  ~AsioTimer() override { alive_->store(false); }  // the timer's destructor cancels the wait

 private:
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  boost::asio::steady_timer timer_;
};

}  // namespace

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

Clock::TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

int64_t SystemClock::EpochMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Timer> SystemClock::StartTimer(boost::asio::io_context& ioc, Duration after,
                                               std::function<void()> fire) {
  return std::make_unique<AsioTimer>(ioc, after, std::move(fire));
}

}  // namespace mlfaas
