#include "loadtest/stats.h"

namespace mlfaas::loadtest {

std::string_view ErrorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kIo:
      return "io";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kHttp:
      return "http";
    case ErrorKind::kAssertion:
      return "assertion";
    case ErrorKind::kCount:
      break;
  }
  return "unknown";
}

void SecondStats::Add(const Sample& s) {
  window.latency.Record(s.latency_ns);
  ++window.hits;
  if (s.error != ErrorKind::kNone) {
    ++window.failures;
    ++errors[static_cast<size_t>(s.error)];
  }
  if (s.cold_start) {
    ++cold_starts;
    cold_latency.Record(s.latency_ns);
  }
  if (s.status) ++statuses[s.status];
}

void SecondStats::Merge(const SecondStats& o) {
  window.Merge(o.window);
  cold_starts += o.cold_starts;
  cold_latency.Merge(o.cold_latency);
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += o.errors[i];
  for (const auto& [code, n] : o.statuses) statuses[code] += n;
}

void Recorder::Record(const Sample& s) {
  std::lock_guard lock(mu_);
  seconds_[s.done_ns / 1'000'000'000].Add(s);
  if (keep_samples_) samples_.push_back(s);
}

void Recorder::DrainBefore(int64_t before, std::map<int64_t, SecondStats>& into) {
  std::lock_guard lock(mu_);
  for (auto it = seconds_.begin(); it != seconds_.end() && it->first < before;) {
    into[it->first].Merge(it->second);
    it = seconds_.erase(it);
  }
}

std::vector<Sample> Recorder::TakeSamples() {
  std::lock_guard lock(mu_);
  return std::move(samples_);
}

KpiRow MakeKpiRow(int64_t second, int users, const SecondStats& s) {
  const Histogram& h = s.window.latency;
  KpiRow row;
  row.second = second;
  row.users = users;
  row.hits = s.window.hits;
  row.avg_ms = h.mean() / 1e6;
  row.max_ms = static_cast<double>(h.max()) / 1e6;
  row.p50_ms = static_cast<double>(h.Percentile(50)) / 1e6;
  row.p99_ms = static_cast<double>(h.Percentile(99)) / 1e6;
  row.errors = s.window.failures;
  row.cold_starts = s.cold_starts;
  return row;
}

}  // namespace mlfaas::loadtest
