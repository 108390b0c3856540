#include "gateway/base/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace mlfaas::gateway {
namespace {

// The _bucket, _sum and _count lines of one histogram series, kept in milliseconds and exposed
// in seconds (Prometheus's base unit).
template <size_t N, typename H>
void AppendHistogram(std::string& out, std::string_view name, const std::string& labels,
                     const std::array<double, N>& bounds_ms, const H& h) {
  for (size_t i = 0; i < N; ++i) {
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds_ms[i] / 1000,
                       h.buckets[i]);
  }
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, h.count);
  out += fmt::format("{}_sum{{{}}} {:.6f}\n", name, labels, h.sum_ms / 1000);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, h.count);
}

std::string VersionLabels(const std::string& function, const std::string& version) {
  return fmt::format("function=\"{}\",version=\"{}\"", function, version);
}

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Counted in Counts' `invocations`: the outcomes of invocations that ended on the platform.
bool Ended(const std::string& outcome) {
  return outcome != OutcomeName(Outcome::kThrottled) &&
         outcome != OutcomeName(Outcome::kNotFound) && outcome != OutcomeName(Outcome::kBadRequest);
}
}  // namespace

const char* Metrics::ErrorType(Outcome outcome) {
  switch (outcome) {
    case Outcome::kFunctionError:
      return "Unhandled";
    case Outcome::kTimeout:
      return "Sandbox.Timedout";
    case Outcome::kCrash:
      return "Runtime.ExitError";
    case Outcome::kInitError:
      return "Runtime.InitError";
    case Outcome::kUnavailable:
      return "ServiceException";
    case Outcome::kSuccess:
    case Outcome::kThrottled:
    case Outcome::kNotFound:
    case Outcome::kBadRequest:
      break;
  }
  return nullptr;
}

void Metrics::RecordInvocation(const std::string& function, const std::string& version,
                               Outcome outcome, double duration_ms, double gb_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++invocations_[{function, version, OutcomeName(outcome)}];
  if (outcome == Outcome::kThrottled) ++throttles_[{function, version}];
  if (const char* type = ErrorType(outcome)) ++errors_[{function, version, type}];
  if (outcome == Outcome::kSuccess || outcome == Outcome::kFunctionError ||
      outcome == Outcome::kTimeout || outcome == Outcome::kCrash) {
    durations_[{function, version}].Add(kBucketsMs, duration_ms);
    gb_seconds_[{function, version}] += gb_seconds;
    double& max = max_ms_[function];
    max = std::max(max, duration_ms);
  }
}

std::map<std::string, Metrics::FunctionCounts> Metrics::FunctionTotals() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, FunctionCounts> out;
  for (const auto& [k, v] : invocations_) {
    if (Ended(std::get<2>(k))) out[std::get<0>(k)].counts.invocations += v;
  }
  for (const auto& [k, v] : errors_) out[std::get<0>(k)].counts.errors += v;
  for (const auto& [k, v] : throttles_) out[k.first].throttles += v;
  for (const auto& [k, h] : inits_) out[k.first].cold_starts += h.count;
  for (const auto& [k, h] : durations_) {
    FunctionCounts& f = out[k.first];
    f.counts.timed += h.count;
    f.duration_sum_ms += h.sum_ms;
    for (size_t i = 0; i < h.buckets.size(); ++i) f.counts.buckets[i] += h.buckets[i];
  }
  return out;
}

std::map<std::string, double> Metrics::TakeMaxDurations() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(max_ms_, {});
}

Metrics::VersionCounts Metrics::Counts(const std::string& function,
                                       const std::string& version) const {
  std::lock_guard<std::mutex> lock(mu_);
  VersionCounts c;
  for (auto it = invocations_.lower_bound({function, version, ""});
       it != invocations_.end() && std::get<0>(it->first) == function &&
       std::get<1>(it->first) == version;
       ++it) {
    if (Ended(std::get<2>(it->first))) c.invocations += it->second;
  }
  for (auto it = errors_.lower_bound({function, version, ""});
       it != errors_.end() && std::get<0>(it->first) == function &&
       std::get<1>(it->first) == version;
       ++it) {
    c.errors += it->second;
  }
  if (auto d = durations_.find({function, version}); d != durations_.end()) {
    c.timed = d->second.count;
    c.buckets = d->second.buckets;
  }
  return c;
}

void Metrics::RecordColdStart(const std::string& function, const std::string& version,
                              double init_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  inits_[{function, version}].Add(kInitBucketsMs, init_ms);
}

void Metrics::RecordSnapshotCache(const std::string& function, const std::string& version,
                                  double gb_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  gb_seconds_[{function, version}] += gb_seconds;
  snapshot_gb_seconds_[{function, version}] += gb_seconds;
}

void Metrics::RecordRequest(std::string_view route, unsigned status, double ms) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{std::string(route), status}].Add(kBucketsMs, ms);
}

// Long but flat: one Prometheus metric family after another, in exposition order.
std::string Metrics::Render(const Live& live) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  Family(out, "mlfaas_invocations_total", "counter",
         "Invocations by function, version and outcome.");
  for (const auto& [k, v] : invocations_) {
    const auto& [f, ver, outcome] = k;
    out += fmt::format("mlfaas_invocations_total{{{},outcome=\"{}\"}} {}\n", VersionLabels(f, ver),
                       outcome, v);
  }
  Family(out, "mlfaas_errors_total", "counter",
         "Invocations that ended in an error, by Lambda's error type (Unhandled: the function "
         "reported it; Sandbox.Timedout, Runtime.ExitError, Runtime.InitError, "
         "ServiceException).");
  for (const auto& [k, v] : errors_) {
    const auto& [f, ver, type] = k;
    out +=
        fmt::format("mlfaas_errors_total{{{},type=\"{}\"}} {}\n", VersionLabels(f, ver), type, v);
  }
  Family(out, "mlfaas_throttles_total", "counter",
         "Invocations refused for want of capacity (429 TooManyRequestsException).");
  for (const auto& [k, v] : throttles_) {
    out += fmt::format("mlfaas_throttles_total{{{}}} {}\n", VersionLabels(k.first, k.second), v);
  }
  Family(out, "mlfaas_init_duration_seconds", "histogram",
         "Cold starts: the init duration of each instance started (spawn or fork, and init).");
  for (const auto& [k, h] : inits_) {
    AppendHistogram(out, "mlfaas_init_duration_seconds", VersionLabels(k.first, k.second),
                    kInitBucketsMs, h);
  }
  Family(out, "mlfaas_cold_starts_total", "counter",
         "Instances started per version (mlfaas_init_duration_seconds_count, kept by this name).");
  for (const auto& [k, h] : inits_) {
    out += fmt::format("mlfaas_cold_starts_total{{{}}} {}\n", VersionLabels(k.first, k.second),
                       h.count);
  }
  Family(out, "mlfaas_invocation_duration_seconds", "histogram",
         "Invocation duration on the instance (REPORT Duration).");
  for (const auto& [k, h] : durations_) {
    AppendHistogram(out, "mlfaas_invocation_duration_seconds", VersionLabels(k.first, k.second),
                    kBucketsMs, h);
  }
  Family(out, "mlfaas_request_duration_seconds", "histogram",
         "Gateway latency by route and status: from the whole request received to the whole "
         "response written (what a client sees, less the network).");
  for (const auto& [k, h] : requests_) {
    AppendHistogram(out, "mlfaas_request_duration_seconds",
                    fmt::format("route=\"{}\",code=\"{}\"", k.first, k.second), kBucketsMs, h);
  }
  Family(out, "mlfaas_gigabyte_seconds_total", "counter",
         "Billed GB-seconds (Lambda's unit: memory in GB x billed duration) per function and "
         "version, snapshot cache included.");
  for (const auto& [k, v] : gb_seconds_) {
    out += fmt::format("mlfaas_gigabyte_seconds_total{{{}}} {:.6f}\n",
                       VersionLabels(k.first, k.second), v);
  }
  Family(out, "mlfaas_snapshot_cache_gigabyte_seconds_total", "counter",
         "Snapshot templates' memory over time, per function and version (included in "
         "mlfaas_gigabyte_seconds_total).");
  for (const auto& [k, v] : snapshot_gb_seconds_) {
    out += fmt::format("mlfaas_snapshot_cache_gigabyte_seconds_total{{{}}} {:.6f}\n",
                       VersionLabels(k.first, k.second), v);
  }
  Family(out, "mlfaas_concurrent_executions", "gauge",
         "Invocations running on instances now, per function (Lambda's ConcurrentExecutions).");
  for (const auto& [f, v] : live.concurrent) {
    out += fmt::format("mlfaas_concurrent_executions{{function=\"{}\"}} {}\n", f, v);
  }
  Family(out, "mlfaas_instances", "gauge", "Live instances by state.");
  for (const auto& [k, v] : live.instances) {
    const auto& [f, ver, state] = k;
    out += fmt::format("mlfaas_instances{{{},state=\"{}\"}} {}\n", VersionLabels(f, ver), state, v);
  }
  return out;
}

}  // namespace mlfaas::gateway
