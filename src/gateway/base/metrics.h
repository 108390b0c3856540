// Gateway counters, rendered as Prometheus text (GET /metrics). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "gateway/base/invocation.h"

namespace mlfaas::gateway {

class Metrics {
 public:
  // Upper bounds (ms) of the duration histograms' buckets (invocations, requests); +Inf is
  // implicit.
  static constexpr std::array<double, 12> kBucketsMs = {0.5, 1,   2.5, 5,    10,   25,
                                                        50,  100, 250, 1000, 3000, 10000};
  // Upper bounds (ms) of the init-duration (cold start) histogram: stem cells and forks take
  // a few ms, interpreters and JVMs up to seconds.
  static constexpr std::array<double, 14> kInitBucketsMs = {
      1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};

  // One invocation's end. Throttles and errors (by Lambda's error type for the outcome) are
  // counted apart too; duration and GB-seconds only for invocations that reached an instance.
  void RecordInvocation(const std::string& function, const std::string& version, Outcome outcome,
                        double duration_ms, double gb_seconds);
  void RecordColdStart(const std::string& function, const std::string& version, double init_ms);
  // A snapshot template's memory over time (GB-seconds), as Lambda bills a SnapStart snapshot's
  // cache: part of the version's GB-seconds, and counted apart too.
  void RecordSnapshotCache(const std::string& function, const std::string& version,
                           double gb_seconds);
  // One HTTP exchange, from the whole request received to the whole response written.
  // `route` is one of RouteLabel's names (a fixed set: no label comes from a client).
  void RecordRequest(std::string_view route, unsigned status, double ms);

  // What the instance manager knows at render time.
  using StateCounts = std::map<std::tuple<std::string, std::string, std::string>, int>;
  struct Live {
    StateCounts instances;                  // ("function","version","state") -> count
    std::map<std::string, int> concurrent;  // function -> invocations running on instances
  };
  std::string Render(const Live& live) const;

  // One version's counters so far (the canary controller compares a window of them, the
  // difference of two snapshots): invocations that ended (throttles, not-found and bad requests
  // excluded), those that were errors, and the duration histogram (buckets[i]: durations
  // <= kBucketsMs[i]; `timed` in all).
  struct VersionCounts {
    uint64_t invocations = 0;
    uint64_t errors = 0;
    uint64_t timed = 0;
    std::array<uint64_t, kBucketsMs.size()> buckets{};
  };
  VersionCounts Counts(const std::string& function, const std::string& version) const;

  // One function's counters so far, summed over its versions (the dashboard, docs/dashboard.md):
  // `counts` as Counts gives them, throttles and cold starts, and the duration histogram's sum.
  struct FunctionCounts {
    VersionCounts counts;
    uint64_t throttles = 0;
    uint64_t cold_starts = 0;
    double duration_sum_ms = 0;
  };
  std::map<std::string, FunctionCounts> FunctionTotals() const;
  // The longest invocation duration per function since the previous call (one caller: the
  // dashboard's sampler, which turns it into a per-second maximum).
  std::map<std::string, double> TakeMaxDurations();

  // Lambda's error type for an outcome that is an error, nullptr for the others (success,
  // throttled, and the caller's own errors: bad request, not found).
  static const char* ErrorType(Outcome outcome);

 private:
  template <size_t N>
  struct Histogram {
    std::array<uint64_t, N> buckets{};
    uint64_t count = 0;
    double sum_ms = 0;
    void Add(const std::array<double, N>& bounds, double ms) {
      for (size_t i = 0; i < N; ++i) {
        if (ms <= bounds[i]) ++buckets[i];
      }
      ++count;
      sum_ms += ms;
    }
  };
  using Key = std::pair<std::string, std::string>;  // function, version
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> invocations_;
  std::map<Key, uint64_t> throttles_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> errors_;
  std::map<Key, Histogram<kInitBucketsMs.size()>> inits_;
  std::map<Key, Histogram<kBucketsMs.size()>> durations_;
  std::map<std::pair<std::string, unsigned>, Histogram<kBucketsMs.size()>> requests_;
  std::map<Key, double> gb_seconds_;
  std::map<Key, double> snapshot_gb_seconds_;
  std::map<std::string, double> max_ms_;  // per function, since TakeMaxDurations
};

}  // namespace mlfaas::gateway
