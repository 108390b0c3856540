#include "gateway/pool/scaling_policy.h"

#include <gtest/gtest.h>

namespace mlfaas::gateway {
namespace {

struct DecideCase {
  const char* name;
  InvokeSnapshot snap;
  InvokeAction want;
};

InvokeSnapshot Snap(int idle, int starting, int conc, std::optional<int> reserved, int live,
                    int max, int evictable, bool backoff) {
  InvokeSnapshot s;
  s.idle = idle;
  s.starting_unassigned = starting;
  s.function_concurrency = conc;
  s.reserved_concurrency = reserved;
  s.live_instances = live;
  s.max_instances = max;
  s.evictable_idle = evictable;
  s.backing_off = backoff;
  return s;
}

TEST(ScalingPolicyTest, DecideInvokeTable) {
  const DecideCase cases[] = {
      {"warm idle wins", Snap(1, 0, 0, {}, 1, 64, 0, false), InvokeAction::kUseIdle},
      {"idle even at global cap", Snap(1, 0, 0, {}, 64, 64, 0, false), InvokeAction::kUseIdle},
      {"starting unassigned next", Snap(0, 1, 0, {}, 1, 64, 0, false), InvokeAction::kJoinStarting},
      {"cold start when room", Snap(0, 0, 3, {}, 3, 64, 0, false), InvokeAction::kStartNew},
      {"reserved cap throttles", Snap(1, 0, 2, 2, 3, 64, 0, false), InvokeAction::kThrottle},
      {"reserved zero throttles all", Snap(1, 0, 0, 0, 1, 64, 0, false), InvokeAction::kThrottle},
      {"below reserved starts", Snap(0, 0, 1, 2, 1, 64, 0, false), InvokeAction::kStartNew},
      {"global cap evicts idle elsewhere", Snap(0, 0, 1, {}, 64, 64, 2, false),
       InvokeAction::kEvictIdleAndStart},
      {"global cap nothing to evict", Snap(0, 0, 64, {}, 64, 64, 0, false),
       InvokeAction::kThrottle},
      {"backoff fails fast", Snap(0, 0, 0, {}, 0, 64, 0, true), InvokeAction::kBackoff},
      {"backoff still uses warm idle", Snap(1, 0, 0, {}, 1, 64, 0, true), InvokeAction::kUseIdle},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DecideInvoke(c.snap), c.want)
        << c.name << ": got " << InvokeActionName(DecideInvoke(c.snap));
  }
}

TEST(ScalingPolicyTest, SelectIdleToReapHonoursTimeoutAndProvisioned) {
  const Clock::TimePoint t0{std::chrono::seconds(100)};
  const auto timeout = std::chrono::seconds(10);
  std::vector<IdleInstanceView> idle = {
      {1, t0, false},                            // idle exactly 10 s at now
      {2, t0 + std::chrono::seconds(5), false},  // idle 5 s
      {3, t0 - std::chrono::seconds(50), true},  // provisioned: kept
      {4, t0 - std::chrono::seconds(1), false},  // idle 11 s
  };
  const auto now = t0 + timeout;
  EXPECT_EQ(SelectIdleToReap(idle, now, timeout), (std::vector<int>{1, 4}));
  EXPECT_TRUE(SelectIdleToReap(idle, t0, timeout).empty());
  EXPECT_TRUE(SelectIdleToReap({}, now, timeout).empty());
}

TEST(ScalingPolicyTest, ProvisionedToStartTable) {
  EXPECT_EQ(ProvisionedToStart(3, 0, false, 0, 64), 3);
  EXPECT_EQ(ProvisionedToStart(3, 2, false, 10, 64), 1);
  EXPECT_EQ(ProvisionedToStart(3, 3, false, 10, 64), 0);
  EXPECT_EQ(ProvisionedToStart(3, 5, false, 10, 64), 0);
  EXPECT_EQ(ProvisionedToStart(3, 0, true, 0, 64), 0);    // back-off
  EXPECT_EQ(ProvisionedToStart(5, 0, false, 62, 64), 2);  // global cap
  EXPECT_EQ(ProvisionedToStart(5, 0, false, 64, 64), 0);
}

TEST(ScalingPolicyTest, InitBackoffDoublesAndCaps) {
  using std::chrono::seconds;
  EXPECT_EQ(InitBackoff(1), seconds(1));
  EXPECT_EQ(InitBackoff(2), seconds(2));
  EXPECT_EQ(InitBackoff(3), seconds(4));
  EXPECT_EQ(InitBackoff(6), seconds(32));
  EXPECT_EQ(InitBackoff(7), seconds(60));
  EXPECT_EQ(InitBackoff(100), seconds(60));
  EXPECT_EQ(InitBackoff(0), seconds(1));
}

}  // namespace
}  // namespace mlfaas::gateway
