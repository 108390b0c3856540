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
  kUseIdle,            // hand it to a warm instance with a free slot (N = 1: an idle one)
  kJoinStarting,       // bind it to a starting instance with a free slot (N = 1: nobody waits)
  kStartNew,           // cold start a new instance for it
  kEvictIdleAndStart,  // global cap reached: stop the least recently used idle instance elsewhere
  kThrottle,           // 429 TooManyRequestsException
  kBackoff,            // init failed recently: fail fast with the last init error
};

const char* InvokeActionName(InvokeAction a);

// N below is the version's invocations per instance (max_concurrency_per_instance; Lambda's
// default model is N = 1). An instance's load is the invocations bound to it, running or
// waiting inside it; it has a free slot while its load is below N.
struct InvokeSnapshot {
  int idle = 0;                  // warm instances of this version with a free slot
  int starting_unassigned = 0;   // starting instances of this version with a free slot
  int function_concurrency = 0;  // invocations in flight (bound to any instance), all versions
  std::optional<int> reserved_concurrency;  // function cap; 0 throttles everything
  int live_instances = 0;                   // every instance of the gateway not yet stopped
  int max_instances = 64;
  int evictable_idle = 0;    // idle instances of other versions (any function)
  bool backing_off = false;  // this version is inside its init back-off window
};

InvokeAction DecideInvoke(const InvokeSnapshot& s);

// One instance of the version, as routing sees it.
struct InstanceLoadView {
  int id = 0;
  bool ready = false;  // init done (idle or busy); false: starting
  int load = 0;        // invocations bound to it
  int capacity = 1;    // N
  Clock::TimePoint idle_since{};
};

// Where an invocation goes (kUseIdle / kJoinStarting): the ready instance with a free slot and
// the least load (ties: the most recently idle, so the others stay idle and can be reaped, then
// the lowest id), else the starting one with a free slot and the least load. nullopt: every
// instance is saturated (a new one must start, or the invocation is throttled).
std::optional<int> ChooseInstance(const std::vector<InstanceLoadView>& instances);
// The two counts InvokeSnapshot takes from the same views.
void CountFreeSlots(const std::vector<InstanceLoadView>& instances, InvokeSnapshot& s);

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
