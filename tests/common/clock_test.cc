// Clock::StartTimer: the real clock's timers (Boost.Asio) and the FakeClock's (fired by Advance).
#include "common/clock.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "testing/fake_clock.h"

namespace mlfaas {
namespace {

using namespace std::chrono_literals;

TEST(SystemClockTest, ATimerFiresOnItsIoContextAndACancelledOneNever) {
  boost::asio::io_context ioc;
  int fired = 0, cancelled = 0;
  const auto start = std::chrono::steady_clock::now();  // before the timers: they run from then
  auto t1 = SystemClock::Get().StartTimer(ioc, 5ms, [&] { ++fired; });
  auto t2 = SystemClock::Get().StartTimer(ioc, 5ms, [&] { ++cancelled; });
  t2.reset();
  ioc.run();  // returns once no work is left: t1 fired, t2's wait was cancelled
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(cancelled, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 5ms);
}

TEST(FakeClockTest, TimersFireInDeadlineOrderOnlyWhenAdvancedPastThem) {
  boost::asio::io_context ioc;
  testing::FakeClock clock;
  std::string order;
  auto b = clock.StartTimer(ioc, 2s, [&] { order += "b"; });
  auto a = clock.StartTimer(ioc, 1s, [&] { order += "a"; });
  auto c = clock.StartTimer(ioc, 3s, [&] { order += "c"; });
  auto never = clock.StartTimer(ioc, 1s, [&] { order += "x"; });
  never.reset();
  EXPECT_EQ(clock.PendingTimers(), 3u);
  clock.Advance(999ms);
  ioc.run();
  ioc.restart();
  EXPECT_EQ(order, "");
  clock.Advance(1001ms);  // t = 2 s
  ioc.run();
  ioc.restart();
  EXPECT_EQ(order, "ab");
  c.reset();  // cancelled before its deadline
  clock.Advance(10s);
  ioc.run();
  EXPECT_EQ(order, "ab");
  EXPECT_EQ(clock.PendingTimers(), 0u);
}

}  // namespace
}  // namespace mlfaas
