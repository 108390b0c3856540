// Canaries that decide (docs/retraining.md): an alias's canary step, recorded as a
// registry::CanaryDeployment by `mlfaas alias update --bake` or `mlfaas retrain --bake`, is watched
// by the gateway on its maintenance ticks. Within each step's window (from the step's start), the
// canary version's invocations are compared with the primary's:
//   - rolled back at once when its error rate exceeds the primary's by more than
//     max_error_rate_increase, or its p99 exceeds the primary's times max_p99_ratio (each once
//     both sides have kMinRequests in the window);
//   - after bake_ms healthy: the weight steps up by `step` (linear), or, when there is no step or
//     the next would reach 100 %, the canary is promoted (the alias's version becomes it).
// The decision (DecideCanary) is pure and table-tested; the controller applies it through the
// registry (audited), records it in the audit log and in the retrain run that started it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "auth/auth_store.h"
#include "common/clock.h"
#include "gateway/base/error_once.h"
#include "gateway/base/metrics.h"
#include "registry/registry.h"
#include "registry/training_store.h"

namespace mlfaas::gateway {

// A window of one version's invocations: the difference of two Metrics::Counts snapshots.
struct CanaryWindow {
  uint64_t invocations = 0;
  uint64_t errors = 0;
  double p99_ms = 0;   // from the duration histogram (the bucket's bound; linear inside it)
  uint64_t timed = 0;  // invocations with a duration
};
CanaryWindow WindowBetween(const Metrics::VersionCounts& before, const Metrics::VersionCounts& now);

struct CanaryVerdict {
  enum class Action { kWait, kRollback, kStep, kPromote };
  Action action = Action::kWait;
  double weight = 0;  // kStep: the new weight
  std::string reason;
};

inline constexpr uint64_t kMinCanaryRequests = 10;

CanaryVerdict DecideCanary(const registry::CanaryDeployment& d, const CanaryWindow& primary,
                           const CanaryWindow& canary, int64_t elapsed_ms);

class CanaryController {
 public:
  // All must outlive the controller; `audit` may be null (nothing recorded there).
  CanaryController(registry::Registry& registry, registry::TrainingStore& store,
                   const Metrics& metrics, const Clock& clock, auth::AuthStore* audit);
  // Applies the decisions due now. Maintenance thread only.
  void Tick();

 private:
  // Where a step began: when this gateway first saw it (or stepped it), and both versions'
  // counters then.
  struct Step {
    double weight = 0;
    int64_t started_ms = 0;
    Metrics::VersionCounts primary, canary;
  };
  Status TickOne(registry::CanaryDeployment d);
  void Record(const registry::CanaryDeployment& d, const std::string& action,
              const std::string& detail);

  registry::Registry& registry_;
  registry::TrainingStore& store_;
  const Metrics& metrics_;
  const Clock& clock_;
  auth::AuthStore* audit_;
  std::map<std::pair<std::string, std::string>, Step> steps_;  // by (function, alias)
  ErrorOnce errors_{"canary controller", "working again"};
};

}  // namespace mlfaas::gateway
