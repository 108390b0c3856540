#include "gateway/base/metrics.h"

#include <fmt/format.h>

namespace mlfaas::gateway {

void Metrics::RecordInvocation(const std::string& function, const std::string& version,
                               Outcome outcome, double duration_ms, double gb_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++invocations_[{function, version, OutcomeName(outcome)}];
  if (outcome == Outcome::kSuccess || outcome == Outcome::kFunctionError ||
      outcome == Outcome::kTimeout || outcome == Outcome::kCrash) {
    auto& h = durations_[{function, version}];
    for (size_t i = 0; i < kBucketsMs.size(); ++i) {
      if (duration_ms <= kBucketsMs[i]) ++h.buckets[i];
    }
    ++h.count;
    h.sum_ms += duration_ms;
    gb_seconds_[function] += gb_seconds;
  }
}

void Metrics::RecordColdStart(const std::string& function, const std::string& version,
                              double init_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  ++cold_starts_[{function, version}];
  init_ms_sum_[{function, version}] += init_ms;
}

// Long but flat: one Prometheus metric family after another, in exposition order.
void Metrics::RecordSnapshotCache(const std::string& function, double gb_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  gb_seconds_[function] += gb_seconds;
  snapshot_gb_seconds_[function] += gb_seconds;
}

std::string Metrics::Render(const StateCounts& instances_by_state) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP mlfaas_invocations_total Invocations by function, version and outcome.\n";
  out += "# TYPE mlfaas_invocations_total counter\n";
  for (const auto& [k, v] : invocations_) {
    const auto& [f, ver, outcome] = k;
    out += fmt::format(
        "mlfaas_invocations_total{{function=\"{}\",version=\"{}\",outcome=\"{}\"}} {}\n", f, ver,
        outcome, v);
  }
  out += "# HELP mlfaas_cold_starts_total Instances started (spawn + init) per version.\n";
  out += "# TYPE mlfaas_cold_starts_total counter\n";
  for (const auto& [k, v] : cold_starts_) {
    out += fmt::format("mlfaas_cold_starts_total{{function=\"{}\",version=\"{}\"}} {}\n", k.first,
                       k.second, v);
  }
  out += "# HELP mlfaas_init_duration_ms_sum Total init time of started instances.\n";
  out += "# TYPE mlfaas_init_duration_ms_sum counter\n";
  for (const auto& [k, v] : init_ms_sum_) {
    out += fmt::format("mlfaas_init_duration_ms_sum{{function=\"{}\",version=\"{}\"}} {:.3f}\n",
                       k.first, k.second, v);
  }
  out += "# HELP mlfaas_invocation_duration_ms Worker-side invocation duration.\n";
  out += "# TYPE mlfaas_invocation_duration_ms histogram\n";
  for (const auto& [k, h] : durations_) {
    const auto labels = fmt::format("function=\"{}\",version=\"{}\"", k.first, k.second);
    for (size_t i = 0; i < kBucketsMs.size(); ++i) {
      out += fmt::format("mlfaas_invocation_duration_ms_bucket{{{},le=\"{}\"}} {}\n", labels,
                         kBucketsMs[i], h.buckets[i]);
    }
    out +=
        fmt::format("mlfaas_invocation_duration_ms_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
    out += fmt::format("mlfaas_invocation_duration_ms_sum{{{}}} {:.3f}\n", labels, h.sum_ms);
    out += fmt::format("mlfaas_invocation_duration_ms_count{{{}}} {}\n", labels, h.count);
  }
  out += "# HELP mlfaas_gb_seconds_total Billed GB-seconds per function.\n";
  out += "# TYPE mlfaas_gb_seconds_total counter\n";
  for (const auto& [f, v] : gb_seconds_) {
    out += fmt::format("mlfaas_gb_seconds_total{{function=\"{}\"}} {:.6f}\n", f, v);
  }
  out +=
      "# HELP mlfaas_snapshot_cache_gb_seconds_total Snapshot templates' memory over time, "
      "per function (included in mlfaas_gb_seconds_total).\n";
  out += "# TYPE mlfaas_snapshot_cache_gb_seconds_total counter\n";
  for (const auto& [f, v] : snapshot_gb_seconds_) {
    out += fmt::format("mlfaas_snapshot_cache_gb_seconds_total{{function=\"{}\"}} {:.6f}\n", f, v);
  }
  out += "# HELP mlfaas_instances Live instances by state.\n";
  out += "# TYPE mlfaas_instances gauge\n";
  for (const auto& [k, v] : instances_by_state) {
    const auto& [f, ver, state] = k;
    out += fmt::format("mlfaas_instances{{function=\"{}\",version=\"{}\",state=\"{}\"}} {}\n", f,
                       ver, state, v);
  }
  return out;
}

}  // namespace mlfaas::gateway
