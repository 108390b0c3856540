// Scaling and routing decisions as pure functions over a snapshot of the pools. No I/O, no
// locks, no clocks of their own: the instance manager builds the snapshot under its lock, asks,
// and carries the decision out. Table-tested in tests/gateway/scaling_policy_test.cc.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace mlfaas::gateway {

// What to do with one incoming invocation of a function version.
enum class InvokeAction {
  kUseIdle,            // hand it to an idle warm instance
  kJoinStarting,       // bind it to a starting instance nobody waits for (e.g. provisioned)
  kStartNew,           // cold start a new instance for it
  kEvictIdleAndStart,  // global cap reached: stop the least recently used idle instance elsewhere
  kThrottle,           // 429 TooManyRequestsException
  kBackoff,            // init failed recently: fail fast with the last init error
};

const char* InvokeActionName(InvokeAction a);

struct InvokeSnapshot {
  int idle = 0;                  // idle instances of this version
  int starting_unassigned = 0;   // starting instances of this version with no invocation bound
  int function_concurrency = 0;  // in-flight invocations (busy or bound starting), all versions
  std::optional<int> reserved_concurrency;  // function cap; 0 throttles everything
  int live_instances = 0;                   // every instance of the gateway not yet stopped
  int max_instances = 64;
  int evictable_idle = 0;    // idle instances of other versions (any function)
  bool backing_off = false;  // this version is inside its init back-off window
};

InvokeAction DecideInvoke(const InvokeSnapshot& s);

struct IdleInstanceView {
  int id = 0;
  Clock::TimePoint idle_since;
  bool provisioned = false;
};

// Ids of idle instances to reap: idle for >= idle_timeout, except provisioned ones (kept warm
// while the version's provisioned concurrency wants them).
std::vector<int> SelectIdleToReap(const std::vector<IdleInstanceView>& idle, Clock::TimePoint now,
                                  Clock::Duration idle_timeout);

// Number of provisioned instances to start now for one version.
int ProvisionedToStart(int target, int provisioned_live, bool backing_off, int live_instances,
                       int max_instances);

// Init back-off after `consecutive_failures` (>= 1) failed inits: 1 s, 2 s, 4 s ... capped 60 s.
Clock::Duration InitBackoff(int consecutive_failures);

}  // namespace mlfaas::gateway
