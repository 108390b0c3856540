// `mlfaas bench study --matrix`: the reference study's table (memory size x language x
// model-loading strategy) in one command. This header holds the pure parts: which cells exist,
// REPORT-line parsing, pricing, and the Markdown/CSV renderings of a finished matrix. Running it
// (matrix_run.cc) and its HTML report (matrix_report.cc) are separate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/lambda_prices.h"
#include "common/status.h"

namespace mlfaas::loadtest {

enum class MatrixRuntime { kBuiltin, kPython, kJava };
std::string_view RuntimeKey(MatrixRuntime r);    // "builtin" | "python" | "java"
std::string_view RuntimeLabel(MatrixRuntime r);  // "built-in" | "Python" | "Java"

struct MatrixCell {
  int memory_mb = 0;
  MatrixRuntime runtime = MatrixRuntime::kBuiltin;
  std::string strategy;  // per-invoke | init | lazy | snapshot
  // The cell's function on the private gateway: "m512-python-snapshot".
  std::string FunctionName() const;
  // "512 MB · Python · snapshot"
  std::string Label() const;
};

struct SkippedCell {
  MatrixCell cell;
  std::string reason;
};

// What to run: the product of the three lists, less the cells that mean nothing.
struct MatrixSpec {
  std::vector<int> memory_mb = {256, 512, 1024};
  std::vector<MatrixRuntime> runtimes = {MatrixRuntime::kBuiltin, MatrixRuntime::kPython,
                                         MatrixRuntime::kJava};
  std::vector<std::string> strategies = {"per-invoke", "init", "snapshot"};
};

struct CellPlan {
  std::vector<MatrixCell> cells;  // memory-major, then runtime, then strategy, as given
  std::vector<SkippedCell> skipped;
};
// Skips (with the reason) what docs/runtime.md says a runtime does not honour: Java's `snapshot`
// acts as `init` (a JVM cannot be forked safely), so it would repeat the init cell.
CellPlan EnumerateCells(const MatrixSpec& spec);

// Comma-separated flag values. Every error is one line naming the flag and the bad item.
StatusOr<std::vector<int>> ParseMemoryList(std::string_view text);  // 128..10240 MB
StatusOr<std::vector<MatrixRuntime>> ParseRuntimeList(std::string_view text);
StatusOr<std::vector<std::string>> ParseStrategyList(std::string_view text);

// One REPORT line (docs/api.md): "REPORT RequestId: <id>\tDuration: 2.23 ms\tBilled Duration:
// 3 ms\tMemory Size: 512 MB\tMax Memory Used: 21 MB\tInit Duration: 4.10 ms" (Init optional).
struct ReportLine {
  double duration_ms = 0;
  int64_t billed_ms = 0;
  int64_t memory_size_mb = 0;
  int64_t max_memory_used_mb = 0;
  std::optional<double> init_ms;
};
// nullopt when `text` is not a REPORT line or a required field is missing or malformed.
std::optional<ReportLine> ParseReportLine(std::string_view text);

// USD per million invocations for `requests` invocations that billed `mb_ms` (sum of Memory
// Size x Billed Duration): on-demand duration plus the request price. 0 when requests is 0.
double CostPerMillion(int64_t requests, int64_t mb_ms, const LambdaPrices& prices);

// Sum of a Prometheus sample's values over every label set with function="<function>" (e.g.
// mlfaas_gigabyte_seconds_total across versions); 0 when there is none.
double SumMetric(std::string_view prometheus_text, std::string_view metric,
                 std::string_view function);

// What one cell measured.
struct CellResult {
  MatrixCell cell;
  // Concurrency scenario (or the quick scenario), client side.
  int64_t requests = 0;
  int64_t errors = 0;  // keep-alive and concurrency together
  double avg_ms = 0;
  double max_ms = 0;
  double hits_per_s = 0;  // mean: responses / elapsed
  // Cold starts (X-Mlfaas-Cold-Start: true) over both scenarios, client-measured.
  int64_t cold_starts = 0;
  double cold_p50_ms = 0;
  double cold_max_ms = 0;
  // Keep-alive scenario: "cold warm warm warm cold" (empty in quick mode).
  std::string keepalive;
  // From REPORT lines (GET /v1/functions/{name}/logs?filter=REPORT).
  std::optional<double> init_p50_ms;
  int64_t max_memory_mb = 0;
  int64_t report_lines = 0;  // REPORT lines read
  double cost_per_million = 0;
  std::string cost_source;  // "REPORT" (every line read) or "metrics" (see matrix_run.cc)
};

// The CPU side of memory sizes: a fixed amount of CPU work per invocation, at each size.
struct CpuPoint {
  int memory_mb = 0;
  int calls = 0;           // warm calls measured
  double duration_ms = 0;  // p50 of their REPORT Duration
  double latency_ms = 0;   // p50 at the client
  double cpu_share = 0;    // memory_mb / 1769
};

struct MatrixResult {
  std::vector<CellResult> cells;
  std::vector<SkippedCell> skipped;
  std::vector<CpuPoint> cpu;  // empty when skipped
  bool quick = false;
  double keepalive_scale = 1;
  double concurrency_scale = 1;
  std::string command;  // the command line, for the record
};

// What the study reported for a cell's memory size and language (DESIGN §1), or "".
std::string StudyFigureFor(const MatrixCell& cell);
// Speed-up of the CPU work from the smallest to the largest size (duration ratio), and what CPU
// proportional to memory predicts; nullopt with fewer than two points.
struct CpuSpeedup {
  int from_mb = 0, to_mb = 0;
  double measured = 0, expected = 0;
};
std::optional<CpuSpeedup> SpeedupOf(const std::vector<CpuPoint>& cpu);

// The matrix as Markdown: the cell table (with the study's figures beside), the skipped cells
// and why, the CPU section. Deterministic.
std::string MatrixMarkdown(const MatrixResult& r);
// One header line, then one line per cell; then, after a blank line, the CPU points.
std::string MatrixCsv(const MatrixResult& r);
// A standalone HTML5 page: the table and bar charts per cell (avg latency, hits/s, cold-start
// p50, max memory, cost) and the CPU section (matrix_report.cc).
std::string MatrixHtml(const MatrixResult& r);

}  // namespace mlfaas::loadtest
