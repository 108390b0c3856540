// `mlfaas bench study`: runs the reference study's two scenarios (bench/scenarios/, built into
// the binary) against a gateway and writes one report comparing with the study (DESIGN §1).
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "common/status.h"
#include "loadtest/stats.h"

namespace mlfaas::loadtest {

struct StudyOptions {
  std::string endpoint;  // invoke URL; empty: start a gateway (SelfGateway) on a temp home
  double time_scale = 1;
  std::string report_dir;  // empty: no files there
  int threads = 1;
  bool live = false;
  std::filesystem::path self_exe;  // the mlfaas binary, to start `mlfaas serve`
  // The report is also kept under <home>/reports/ (KeepReportInHome); empty: not kept.
  std::filesystem::path home;
};

// The figures the study reported, and ours, as rows of a comparison table.
struct StudyRow {
  std::string figure;
  std::string study;
  std::string ours;
};
std::vector<StudyRow> CompareWithStudy(const RunResult& keepalive, const RunResult& concurrency);

// Runs both scenarios, prints both summaries and the comparison to `out`, writes
// {keepalive,concurrency}/ and report.html into report_dir (when given) and under the home
// (when given). Fails if a scenario's
// pass/fail criteria failed (after writing everything).
Status RunStudy(const StudyOptions& options, std::ostream& out);

}  // namespace mlfaas::loadtest
