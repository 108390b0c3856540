// Gateway counters, rendered as Prometheus text (GET /metrics). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "gateway/base/invocation.h"

namespace mlfaas::gateway {

class Metrics {
 public:
  // Upper bounds (ms) of the duration histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 12> kBucketsMs = {0.5, 1,   2.5, 5,    10,   25,
                                                        50,  100, 250, 1000, 3000, 10000};

  void RecordInvocation(const std::string& function, const std::string& version, Outcome outcome,
                        double duration_ms, double gb_seconds);
  void RecordColdStart(const std::string& function, const std::string& version, double init_ms);
  // A snapshot template's memory over time (GB-seconds), as Lambda bills a SnapStart snapshot's
  // cache: part of the function's GB-seconds, and counted apart too.
  void RecordSnapshotCache(const std::string& function, double gb_seconds);

  // `instances_by_state` lines ("function","version","state") -> count come from the manager.
  using StateCounts = std::map<std::tuple<std::string, std::string, std::string>, int>;
  std::string Render(const StateCounts& instances_by_state) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBucketsMs.size()> buckets{};
    uint64_t count = 0;
    double sum_ms = 0;
  };
  using Key = std::pair<std::string, std::string>;  // function, version
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> invocations_;
  std::map<Key, uint64_t> cold_starts_;
  std::map<Key, double> init_ms_sum_;
  std::map<Key, Histogram> durations_;
  std::map<std::string, double> gb_seconds_;
  std::map<std::string, double> snapshot_gb_seconds_;
};

}  // namespace mlfaas::gateway
