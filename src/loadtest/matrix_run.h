// Runs `mlfaas bench study --matrix`: one private gateway (SelfGateway::StartWith: one training,
// one function per cell and the CPU fixture's sizes), every cell through the study's scenarios
// in turn, then the REPORT lines of each cell's function read back over HTTP
// (GET /v1/functions/{name}/logs?filter=...), as a CloudWatch user would.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "common/status.h"
#include "loadtest/matrix.h"

namespace mlfaas::loadtest {

struct MatrixOptions {
  MatrixSpec spec;
  // The concurrency scenario's time compression, and the keep-alive's (0: 24x time_scale; its
  // calls then come 1.5, 2.5, 3.75 and 7.5 s apart and the gateway's idle timeout, 20 scenario
  // minutes, is 5 s, so the last call is a cold start as in the study).
  double time_scale = 10;
  double keepalive_time_scale = 0;
  bool quick = false;  // one 1-second, 4-user scenario per cell; a tiny CPU section
  bool cpu = true;     // the CPU-bound fixture at 256, 512, 1024 and 1769 MB
  std::string report_dir;
  // The report is also kept under <home>/reports/ (KeepReportInHome); empty: not kept.
  std::filesystem::path home;
  int threads = 2;
  bool tty = false;  // progress as one live line (else plain lines)
  std::filesystem::path self_exe;
  std::string command;  // recorded in matrix.md
};

// Prints the Markdown table to `out` and progress to `progress`; writes matrix.md, matrix.csv
// and report.html into report_dir (when given) and under the home (when given). Fails on a bad
// option (one line, before anything starts) or when the gateway cannot be prepared; request errors
// are counted.
Status RunMatrix(const MatrixOptions& options, std::ostream& out, std::ostream& progress);

}  // namespace mlfaas::loadtest
