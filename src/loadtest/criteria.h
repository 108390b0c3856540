// Pass/fail criteria in Taurus' grammar:
//   <subject><cmp><threshold>[ for|within <timeframe>][, stop|continue as failed|non-failed]
// Subjects: avg-rt, max-rt, pNN / pNN.N (latency percentile), hits, fail, succ (count, or
// percent of hits when the threshold ends in %). Latency thresholds take units (ms, s);
// a bare number means milliseconds. Defaults: `stop as failed`.
//   no timeframe   -> checked once, on the whole run's totals;
//   for <T>        -> triggers when every one of T consecutive seconds meets the condition;
//   within <T>     -> triggers when the aggregate of the last T seconds meets it.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "loadtest/histogram.h"

namespace mlfaas::loadtest {

struct Criterion {
  enum class Subject { kAvgRt, kMaxRt, kPercentile, kHits, kFail, kSucc };
  enum class Cmp { kGt, kGe, kLt, kLe, kEq };
  enum class Logic { kTotal, kFor, kWithin };
  std::string text;  // as written, for reports
  Subject subject = Subject::kAvgRt;
  double percentile = 0;  // kPercentile only
  Cmp cmp = Cmp::kGt;
  double threshold = 0;  // ms for latency subjects, count or percent otherwise
  bool percent = false;  // threshold is a percentage of hits (fail, succ)
  Logic logic = Logic::kTotal;
  int timeframe_s = 0;  // for kFor / kWithin, >= 1
  bool stop = true;
  bool fail = true;
};

StatusOr<Criterion> ParseCriterion(std::string_view text);

// What the criteria look at: a second, a window of seconds, or the whole run.
struct Window {
  Histogram latency;  // of successful and failed responses alike
  int64_t hits = 0;
  int64_t failures = 0;
  void Merge(const Window& other);
};

// The subject's value over `w` (ms for latency subjects).
double SubjectValue(const Criterion& c, const Window& w);
bool Compare(Criterion::Cmp cmp, double value, double threshold);

struct CriterionResult {
  Criterion criterion;
  bool triggered = false;
  double value = 0;        // subject value that triggered (or the final value)
  double at_seconds = -1;  // second of the run when it triggered (-1: at the end / never)
  std::string message;     // one line for the summary and JUnit
};

// Tracks all criteria across a run. Not thread-safe; fed seconds in increasing order.
class CriteriaEvaluator {
 public:
  explicit CriteriaEvaluator(std::vector<Criterion> criteria);
  // Feeds second `second` (0-based). Returns true if a `stop` criterion just triggered.
  bool OnSecond(int64_t second, const Window& w);
  // Checks the total-logic criteria against the whole run.
  void Finish(const Window& total);
  const std::vector<CriterionResult>& results() const { return results_; }
  // True if any triggered criterion has status `failed`.
  bool Failed() const;

 private:
  std::vector<CriterionResult> results_;
  std::vector<int> streak_;    // kFor: consecutive seconds meeting the condition
  std::deque<Window> recent_;  // kWithin: last max-timeframe seconds
  size_t max_window_ = 0;
};

}  // namespace mlfaas::loadtest
