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

// Several invocations per instance (N > 1): route to the least-loaded instance with a free
// slot; start a new one only when every instance is saturated; throttle at the limits.
TEST(ScalingPolicyTest, ChooseInstanceTable) {
  const Clock::TimePoint t0{std::chrono::seconds(100)};
  const auto later = t0 + std::chrono::seconds(5);
  using V = InstanceLoadView;
  struct Case {
    const char* name;
    std::vector<V> instances;
    std::optional<int> want;
  };
  const Case cases[] = {
      {"none", {}, std::nullopt},
      {"N=1 idle wins over busy", {{1, true, 1, 1, t0}, {2, true, 0, 1, t0}}, 2},
      {"N=1 most recently idle", {{1, true, 0, 1, t0}, {2, true, 0, 1, later}}, 2},
      {"N=1 all busy", {{1, true, 1, 1, t0}, {2, true, 1, 1, t0}}, std::nullopt},
      {"N=1 starting unassigned", {{1, true, 1, 1, t0}, {2, false, 0, 1, t0}}, 2},
      {"N=1 starting with its cold start is full", {{1, false, 1, 1, t0}}, std::nullopt},
      {"N=16 least loaded", {{1, true, 9, 16, t0}, {2, true, 3, 16, t0}, {3, true, 5, 16, t0}}, 2},
      {"N=16 a busy one below N before a new one", {{1, true, 15, 16, t0}}, 1},
      {"N=16 saturated", {{1, true, 16, 16, t0}, {2, true, 16, 16, t0}}, std::nullopt},
      {"N=16 skips the saturated", {{1, true, 16, 16, t0}, {2, true, 12, 16, t0}}, 2},
      {"N=16 equal load: most recently idle, then lowest id",
       {{3, true, 4, 16, t0}, {2, true, 4, 16, t0}, {4, true, 4, 16, t0}},
       2},
      {"N=16 ready before starting even if busier",
       {{1, false, 0, 16, t0}, {2, true, 10, 16, t0}},
       2},
      {"N=16 joins a starting one with room", {{1, true, 16, 16, t0}, {2, false, 7, 16, t0}}, 2},
      {"N=4 starting full", {{1, false, 4, 4, t0}}, std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ChooseInstance(c.instances), c.want) << c.name;
  }
}

TEST(ScalingPolicyTest, CountFreeSlotsFeedsTheDecision) {
  const Clock::TimePoint t0{std::chrono::seconds(100)};
  std::vector<InstanceLoadView> v = {
      {1, true, 16, 16, t0}, {2, true, 3, 16, t0}, {3, false, 0, 16, t0}, {4, false, 16, 16, t0}};
  InvokeSnapshot s;
  CountFreeSlots(v, s);
  EXPECT_EQ(s.idle, 1);
  EXPECT_EQ(s.starting_unassigned, 1);
  EXPECT_EQ(DecideInvoke(s), InvokeAction::kUseIdle);
  // Every instance saturated: a new one starts while there is room, else 429 (no queue).
  v = {{1, true, 16, 16, t0}, {2, false, 16, 16, t0}};
  InvokeSnapshot full;
  CountFreeSlots(v, full);
  full.live_instances = 2;
  full.max_instances = 4;
  full.function_concurrency = 32;
  EXPECT_EQ(DecideInvoke(full), InvokeAction::kStartNew);
  full.max_instances = 2;
  EXPECT_EQ(DecideInvoke(full), InvokeAction::kThrottle);
  // Reserved concurrency counts invocations, not instances.
  InvokeSnapshot capped;
  CountFreeSlots({{1, true, 5, 16, t0}}, capped);
  capped.function_concurrency = 5;
  capped.reserved_concurrency = 5;
  EXPECT_EQ(DecideInvoke(capped), InvokeAction::kThrottle);
  capped.reserved_concurrency = 6;
  EXPECT_EQ(DecideInvoke(capped), InvokeAction::kUseIdle);
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
