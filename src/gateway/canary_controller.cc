#include "gateway/canary_controller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "auth/audited_registry.h"

namespace mlfaas::gateway {
namespace {

// The 99th percentile of a window's durations: the bucket holding it, linear inside the bucket
// (from the previous bound; beyond the last bound: that bound).
double P99(const Metrics::VersionCounts& before, const Metrics::VersionCounts& now,
           uint64_t timed) {
  if (timed == 0) return 0;
  const double target = 0.99 * static_cast<double>(timed);
  double lower = 0;
  uint64_t below = 0;
  for (size_t i = 0; i < Metrics::kBucketsMs.size(); ++i) {
    const uint64_t le = now.buckets[i] - before.buckets[i];  // durations <= bound i
    if (static_cast<double>(le) >= target) {
      const uint64_t in = le - below;
      const double frac = in == 0 ? 1.0 : (target - static_cast<double>(below)) / in;
      return lower + (Metrics::kBucketsMs[i] - lower) * std::clamp(frac, 0.0, 1.0);
    }
    below = le;
    lower = Metrics::kBucketsMs[i];
  }
  return Metrics::kBucketsMs.back();
}

double Rate(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

CanaryWindow WindowBetween(const Metrics::VersionCounts& before,
                           const Metrics::VersionCounts& now) {
  CanaryWindow w;
  w.invocations = now.invocations - std::min(now.invocations, before.invocations);
  w.errors = now.errors - std::min(now.errors, before.errors);
  w.timed = now.timed - std::min(now.timed, before.timed);
  if (now.timed >= before.timed) w.p99_ms = P99(before, now, w.timed);
  return w;
}

CanaryVerdict DecideCanary(const registry::CanaryDeployment& d, const CanaryWindow& primary,
                           const CanaryWindow& canary, int64_t elapsed_ms) {
  using Action = CanaryVerdict::Action;
  CanaryVerdict v;
  const bool enough = canary.invocations >= kMinCanaryRequests;
  const double ce = Rate(canary.errors, canary.invocations);
  const double pe = Rate(primary.errors, primary.invocations);
  if (enough && ce - pe > d.max_error_rate_increase) {
    v.action = Action::kRollback;
    v.reason = fmt::format(
        "canary error rate {:.4f} ({} of {}) exceeds the primary's {:.4f} by more than {:.4f}", ce,
        canary.errors, canary.invocations, pe, d.max_error_rate_increase);
    return v;
  }
  if (canary.timed >= kMinCanaryRequests && primary.timed >= kMinCanaryRequests &&
      canary.p99_ms > primary.p99_ms * d.max_p99_ratio) {
    v.action = Action::kRollback;
    v.reason = fmt::format("canary p99 {:.2f} ms exceeds {:.1f}x the primary's {:.2f} ms",
                           canary.p99_ms, d.max_p99_ratio, primary.p99_ms);
    return v;
  }
  if (elapsed_ms < d.bake_ms) return v;  // kWait
  const std::string healthy =
      fmt::format("healthy for {} s at {:.0f}% ({} invocations, error rate {:.4f} vs {:.4f})",
                  d.bake_ms / 1000, d.weight * 100, canary.invocations, ce, pe);
  if (d.step > 0 && d.weight + d.step < 1.0 - 1e-9) {
    v.action = Action::kStep;
    v.weight = d.weight + d.step;
    v.reason = healthy + fmt::format("; weight to {:.0f}%", v.weight * 100);
    return v;
  }
  v.action = Action::kPromote;
  v.reason = healthy + "; promoted";
  return v;
}

CanaryController::CanaryController(registry::Registry& registry, registry::TrainingStore& store,
                                   const Metrics& metrics, const Clock& clock,
                                   auth::AuthStore* audit)
    : registry_(registry), store_(store), metrics_(metrics), clock_(clock), audit_(audit) {}

void CanaryController::Record(const registry::CanaryDeployment& d, const std::string& action,
                              const std::string& detail) {
  spdlog::info("canary {}:{} (version {}): {}", d.function, d.alias, d.canary_version, detail);
  if (audit_) {
    auth::AuditEntry e;
    e.principal = "gateway";
    e.source = "canary";
    e.action = action;
    e.resource = "function:" + d.function + ":" + d.alias;
    e.result = "ok";
    e.detail = "version " + d.canary_version + ": " + detail;
    Status st = audit_->Record(e);
    if (!st.ok()) spdlog::warn("canary: cannot write the audit log: {}", st.message());
  }
  if (d.retrain_run > 0) {
    const std::string decision =
        action == "CanaryRollback" ? "rolled_back" : (action == "CanaryPromote" ? "promoted" : "");
    if (!decision.empty()) {
      Status st = store_.UpdateRetrainRun(d.retrain_run, decision, detail);
      if (!st.ok()) spdlog::warn("canary: cannot update retrain run: {}", st.message());
    }
  }
}

Status CanaryController::TickOne(registry::CanaryDeployment d) {
  const auto key = std::make_pair(d.function, d.alias);
  MLFAAS_ASSIGN_OR_RETURN(registry::AliasInfo alias, registry_.GetAlias(d.function, d.alias));
  if (!alias.canary_version || *alias.canary_version != d.canary_version) {
    // Someone changed the alias meanwhile: their change stands.
    d.status = "superseded";
    d.reason = "the alias no longer routes to version " + d.canary_version;
    steps_.erase(key);
    Record(d, "CanarySuperseded", d.reason);
    return store_.UpdateCanary(d);
  }
  const int64_t now = clock_.EpochMillis();
  auto it = steps_.find(key);
  if (it == steps_.end() || it->second.weight != d.weight) {
    Step s{d.weight, now, metrics_.Counts(d.function, alias.version),
           metrics_.Counts(d.function, d.canary_version)};
    it = steps_.insert_or_assign(key, s).first;
    return Status::Ok();  // the window starts now
  }
  const Step& s = it->second;
  const CanaryWindow primary = WindowBetween(s.primary, metrics_.Counts(d.function, alias.version));
  const CanaryWindow canary =
      WindowBetween(s.canary, metrics_.Counts(d.function, d.canary_version));
  const CanaryVerdict v = DecideCanary(d, primary, canary, now - s.started_ms);
  using Action = CanaryVerdict::Action;
  if (v.action == Action::kWait) return Status::Ok();
  std::optional<auth::AuditedRegistry> audited;
  if (audit_) audited.emplace(registry_, *audit_, "gateway", "canary");
  registry::Registry& reg = audited ? static_cast<registry::Registry&>(*audited) : registry_;
  registry::AliasInfo next = alias;
  if (v.action == Action::kRollback) {
    next.canary_version.reset();
    next.canary_weight = 0;
    d.status = "rolled_back";
  } else if (v.action == Action::kPromote) {
    next.version = d.canary_version;
    next.canary_version.reset();
    next.canary_weight = 0;
    d.status = "promoted";
  } else {
    next.canary_weight = v.weight;
    d.weight = v.weight;
  }
  MLFAAS_RETURN_IF_ERROR(reg.UpdateAlias(next).status());
  d.reason = v.reason;
  MLFAAS_RETURN_IF_ERROR(store_.UpdateCanary(d));
  if (d.status != "baking") steps_.erase(key);
  Record(d,
         v.action == Action::kRollback  ? "CanaryRollback"
         : v.action == Action::kPromote ? "CanaryPromote"
                                        : "CanaryStep",
         v.reason);
  return Status::Ok();
}

void CanaryController::Tick() {
  std::string error;
  auto baking = store_.Canaries(true);
  if (!baking.ok()) {
    error = baking.status().message();
  } else {
    for (registry::CanaryDeployment& d : *baking) {
      const std::string name = d.function + ":" + d.alias;
      Status st = TickOne(std::move(d));
      if (!st.ok() && error.empty()) error = name + ": " + st.message();
    }
  }
  errors_.Update(std::move(error));
}

}  // namespace mlfaas::gateway
