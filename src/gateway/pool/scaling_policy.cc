#include "gateway/pool/scaling_policy.h"

#include <algorithm>

namespace mlfaas::gateway {

const char* InvokeActionName(InvokeAction a) {
  switch (a) {
    case InvokeAction::kUseIdle:
      return "UseIdle";
    case InvokeAction::kJoinStarting:
      return "JoinStarting";
    case InvokeAction::kStartNew:
      return "StartNew";
    case InvokeAction::kEvictIdleAndStart:
      return "EvictIdleAndStart";
    case InvokeAction::kThrottle:
      return "Throttle";
    case InvokeAction::kBackoff:
      return "Backoff";
  }
  return "?";
}

InvokeAction DecideInvoke(const InvokeSnapshot& s) {
  if (s.reserved_concurrency && s.function_concurrency >= *s.reserved_concurrency) {
    return InvokeAction::kThrottle;
  }
  if (s.idle > 0) return InvokeAction::kUseIdle;
  if (s.starting_unassigned > 0) return InvokeAction::kJoinStarting;
  if (s.backing_off) return InvokeAction::kBackoff;
  if (s.live_instances < s.max_instances) return InvokeAction::kStartNew;
  if (s.evictable_idle > 0) return InvokeAction::kEvictIdleAndStart;
  return InvokeAction::kThrottle;
}

std::optional<int> ChooseInstance(const std::vector<InstanceLoadView>& instances) {
  const InstanceLoadView* best = nullptr;
  auto better = [](const InstanceLoadView& a, const InstanceLoadView& b) {
    if (a.ready != b.ready) return a.ready;
    if (a.load != b.load) return a.load < b.load;
    if (a.idle_since != b.idle_since) return a.idle_since > b.idle_since;
    return a.id < b.id;
  };
  for (const auto& v : instances) {
    if (v.load >= v.capacity) continue;
    if (!best || better(v, *best)) best = &v;
  }
  if (!best) return std::nullopt;
  return best->id;
}

void CountFreeSlots(const std::vector<InstanceLoadView>& instances, InvokeSnapshot& s) {
  for (const auto& v : instances) {
    if (v.load >= v.capacity) continue;
    ++(v.ready ? s.idle : s.starting_unassigned);
  }
}

std::vector<int> SelectIdleToReap(const std::vector<IdleInstanceView>& idle, Clock::TimePoint now,
                                  Clock::Duration idle_timeout) {
  std::vector<int> out;
  for (const auto& v : idle) {
    if (!v.provisioned && now - v.idle_since >= idle_timeout) out.push_back(v.id);
  }
  return out;
}

int ProvisionedToStart(int target, int provisioned_live, bool backing_off, int live_instances,
                       int max_instances) {
  if (backing_off || target <= provisioned_live) return 0;
  return std::max(0, std::min(target - provisioned_live, max_instances - live_instances));
}

Clock::Duration InitBackoff(int consecutive_failures) {
  int n = std::clamp(consecutive_failures, 1, 7);
  auto d = std::chrono::seconds(1) * (1 << (n - 1));
  return std::min<Clock::Duration>(d, std::chrono::seconds(60));
}

}  // namespace mlfaas::gateway
