// Measurement: samples, per-second statistics and their aggregation into KPI rows and totals.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

#include "loadtest/criteria.h"
#include "loadtest/histogram.h"

namespace mlfaas::loadtest {

enum class ErrorKind : int {
  kNone = 0,
  kConnect,    // connection refused / unreachable / resolve failure
  kTimeout,    // no complete response within the request timeout
  kIo,         // reset or closed mid-exchange
  kProtocol,   // unparseable HTTP response
  kHttp,       // status >= 400
  kAssertion,  // a scenario assertion failed
  kCount,
};
std::string_view ErrorKindName(ErrorKind k);

// One finished request.
struct Sample {
  int64_t done_ns = 0;     // completion time since the run started
  int64_t latency_ns = 0;  // from the send (closed loop) or intended send (open loop)
  int status = 0;          // HTTP status, 0 when none was received
  ErrorKind error = ErrorKind::kNone;
  bool cold_start = false;  // response carried X-Mlfaas-Cold-Start: true
  int user = 0;
};

struct SecondStats {
  Window window;  // latency histogram, hits (= responses + errors), failures
  int64_t cold_starts = 0;
  Histogram cold_latency;  // client latency of the cold-start responses only
  std::array<int64_t, static_cast<size_t>(ErrorKind::kCount)> errors{};
  std::map<int, int64_t> statuses;
  void Add(const Sample& s);
  void Merge(const SecondStats& other);
};

// Collects samples from one IO thread. Thread-safe (an uncontended mutex per Record).
class Recorder {
 public:
  explicit Recorder(bool keep_samples) : keep_samples_(keep_samples) {}
  void Record(const Sample& s);
  // Moves the statistics of every second < `before` into `into` (merging).
  void DrainBefore(int64_t before, std::map<int64_t, SecondStats>& into);
  std::vector<Sample> TakeSamples();

 private:
  std::mutex mu_;
  bool keep_samples_;
  std::map<int64_t, SecondStats> seconds_;
  std::vector<Sample> samples_;
};

// One row of kpi.csv.
struct KpiRow {
  int64_t second = 0;  // since the run started (real time)
  int users = 0;       // active users at the end of that second
  int64_t hits = 0;
  double avg_ms = 0, max_ms = 0, p50_ms = 0, p99_ms = 0;
  int64_t errors = 0;
  int64_t cold_starts = 0;
};
KpiRow MakeKpiRow(int64_t second, int users, const SecondStats& s);

// Everything a report needs about a finished run.
struct RunResult {
  std::vector<KpiRow> kpi;
  SecondStats total;
  std::vector<Sample> samples;  // only with keep_samples
  std::vector<CriterionResult> criteria;
  bool failed = false;         // a `failed` criterion triggered
  bool stopped_early = false;  // a `stop` criterion ended the run
  double elapsed_s = 0;        // real time
  double time_scale = 1;
  std::string plan_name;
};

}  // namespace mlfaas::loadtest
