// Runs a Plan: stages one after the other, users on 1..N io_context threads, statistics
// drained once per second into KPI rows and the pass/fail evaluator.
#pragma once

#include <ostream>
#include <string>

#include "common/status.h"
#include "loadtest/plan.h"
#include "loadtest/stats.h"

namespace mlfaas::loadtest {

struct RunOptions {
  double time_scale = 1;         // > 0; schedule durations are divided by it
  int threads = 1;               // io_context threads (1..16)
  bool keep_samples = false;     // keep every Sample for samples.csv
  std::ostream* live = nullptr;  // when set, one status line per second goes here
  std::string name = "run";
};

// Blocks until the plan finishes or a `stop` criterion triggers. Fails (InvalidArgument) only
// when a target host cannot be resolved; request errors are counted, not returned.
StatusOr<RunResult> RunPlan(const Plan& plan, const RunOptions& options);

// "  12s  users 9  hits/s 40  avg 201.3ms  p99 400.1ms  max 812.0ms  err 0  cold 1"
std::string LiveLine(const KpiRow& row);

}  // namespace mlfaas::loadtest
