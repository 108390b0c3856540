// The dashboard's time series (docs/dashboard.md): per function, one point a second over the
// last 15 minutes, folded from the same counters /metrics renders (Metrics::FunctionTotals) and
// the instance manager's live counts. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/base/metrics.h"

namespace mlfaas::gateway {

struct SeriesPoint {
  int64_t t = 0;      // epoch second
  uint64_t hits = 0;  // invocations that ended in this second (errors included)
  uint64_t errors = 0;
  uint64_t cold_starts = 0;
  uint64_t timed = 0;  // of the hits, those with a duration
  double sum_ms = 0;   // their total duration
  double max_ms = 0;   // the longest (0 without any)
  int instances = 0;   // live instances at the reading
  int concurrent = 0;  // invocations running at the reading
};

// {"hits", "errors", "avg_ms" (null without timed hits), "max_ms" (likewise), "instances",
// "concurrent", "cold_starts"}.
nlohmann::json PointJson(const SeriesPoint& p);

class Series {
 public:
  static constexpr size_t kPoints = 900;  // 15 minutes

  // One reading of the counters, taken at `epoch_s`: each function's point for that second grows
  // by how much its counters grew since the previous reading (a function not seen before starts
  // from zero, the counters' own start). Seconds without a reading get empty points. A reading
  // older than the newest point is folded into the newest point.
  void Add(int64_t epoch_s, const std::map<std::string, Metrics::FunctionCounts>& totals,
           const std::map<std::string, double>& max_ms, const Metrics::Live& live);

  // `function`'s points, oldest first (empty: never seen).
  std::vector<SeriesPoint> Points(const std::string& function) const;
  // The newest point of every function seen, and the second of the newest reading (0: none).
  std::map<std::string, SeriesPoint> Latest(int64_t* t = nullptr) const;

 private:
  struct Track {
    Metrics::FunctionCounts last;  // the counters at the previous reading
    std::deque<SeriesPoint> points;
  };
  void Append(Track& track, int64_t epoch_s, int instances, int concurrent);

  mutable std::mutex mu_;
  std::map<std::string, Track> tracks_;
  int64_t last_t_ = 0;
};

}  // namespace mlfaas::gateway
