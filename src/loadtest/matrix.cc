#include "loadtest/matrix.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "common/model_loading.h"
#include "loadtest/report.h"

namespace mlfaas::loadtest {
namespace {

constexpr double kOneVcpuMb = 1769;  // Lambda: 1,769 MB is one vCPU (src/sandbox/cgroups.cc)

std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    out.push_back(item);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

// The number after `key` up to the next space or tab, e.g. "Duration: " in "Duration: 2.23 ms".
std::optional<double> NumberAfter(std::string_view line, std::string_view key) {
  size_t at = line.find(key);
  // "Duration: " also occurs inside "Billed Duration: " and "Init Duration: ": take a match at
  // the start of a field (after a tab).
  while (at != std::string_view::npos && at > 0 && line[at - 1] != '\t') {
    at = line.find(key, at + 1);
  }
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + key.size());
  const size_t end = rest.find_first_of(" \t");
  const std::string num(rest.substr(0, end));
  if (num.empty()) return std::nullopt;
  char* stop = nullptr;
  const double v = std::strtod(num.c_str(), &stop);
  if (stop != num.c_str() + num.size() || !(v >= 0) || v > 1e12) return std::nullopt;
  return v;
}

std::string Ms(double ms) {
  if (ms >= 1000) return FormatNumber("%.2f s", ms / 1000);
  if (ms >= 100) return FormatNumber("%.0f ms", ms);
  if (ms >= 10) return FormatNumber("%.1f ms", ms);
  return FormatNumber("%.2f ms", ms);
}

std::string Usd(double v) { return FormatNumber("$%.4f", v); }

}  // namespace

std::string_view RuntimeKey(MatrixRuntime r) {
  switch (r) {
    case MatrixRuntime::kBuiltin:
      return "builtin";
    case MatrixRuntime::kPython:
      return "python";
    case MatrixRuntime::kJava:
      return "java";
  }
  return "?";
}

std::string_view RuntimeLabel(MatrixRuntime r) {
  switch (r) {
    case MatrixRuntime::kBuiltin:
      return "built-in";
    case MatrixRuntime::kPython:
      return "Python";
    case MatrixRuntime::kJava:
      return "Java";
  }
  return "?";
}

std::string MatrixCell::FunctionName() const {
  return "m" + std::to_string(memory_mb) + "-" + std::string(RuntimeKey(runtime)) + "-" + strategy;
}

std::string MatrixCell::Label() const {
  return std::to_string(memory_mb) + " MB · " + std::string(RuntimeLabel(runtime)) + " · " +
         strategy;
}

CellPlan EnumerateCells(const MatrixSpec& spec) {
  CellPlan plan;
  for (int mb : spec.memory_mb) {
    for (MatrixRuntime rt : spec.runtimes) {
      for (const std::string& s : spec.strategies) {
        MatrixCell c{mb, rt, s};
        if (rt == MatrixRuntime::kJava && s == "snapshot") {
          plan.skipped.push_back(
              {c, "examples/java cannot fork a JVM: snapshot acts as init (docs/runtime.md)"});
          continue;
        }
        plan.cells.push_back(std::move(c));
      }
    }
  }
  return plan;
}

StatusOr<std::vector<int>> ParseMemoryList(std::string_view text) {
  std::vector<int> out;
  for (std::string_view item : SplitCommas(text)) {
    int mb = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), mb);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || mb < 128 ||
        mb > 10240) {
      return InvalidArgument("--memory: '" + std::string(item) +
                             "' is not a memory size in MB from 128 to 10240");
    }
    if (std::find(out.begin(), out.end(), mb) == out.end()) out.push_back(mb);
  }
  return out;
}

StatusOr<std::vector<MatrixRuntime>> ParseRuntimeList(std::string_view text) {
  std::vector<MatrixRuntime> out;
  for (std::string_view item : SplitCommas(text)) {
    std::optional<MatrixRuntime> rt;
    for (MatrixRuntime r : {MatrixRuntime::kBuiltin, MatrixRuntime::kPython, MatrixRuntime::kJava})
      if (item == RuntimeKey(r)) rt = r;
    if (item == "built-in") rt = MatrixRuntime::kBuiltin;
    if (!rt) {
      return InvalidArgument("--runtimes: '" + std::string(item) +
                             "' is not one of builtin, python, java");
    }
    if (std::find(out.begin(), out.end(), *rt) == out.end()) out.push_back(*rt);
  }
  return out;
}

StatusOr<std::vector<std::string>> ParseStrategyList(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view item : SplitCommas(text)) {
    // The canonical names only (common/model_loading.h; its alias "eager" would repeat "init").
    const auto loading = ParseModelLoading(item);
    if (!loading || item != ModelLoadingName(*loading)) {
      return InvalidArgument("--strategies: '" + std::string(item) +
                             "' is not one of per-invoke, init, lazy, snapshot");
    }
    if (std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
  }
  return out;
}

std::optional<ReportLine> ParseReportLine(std::string_view text) {
  if (!text.starts_with("REPORT RequestId: ")) return std::nullopt;
  const auto duration = NumberAfter(text, "Duration: ");
  const auto billed = NumberAfter(text, "Billed Duration: ");
  const auto size = NumberAfter(text, "Memory Size: ");
  const auto used = NumberAfter(text, "Max Memory Used: ");
  if (!duration || !billed || !size || !used) return std::nullopt;
  ReportLine r;
  r.duration_ms = *duration;
  r.billed_ms = static_cast<int64_t>(*billed);
  r.memory_size_mb = static_cast<int64_t>(*size);
  r.max_memory_used_mb = static_cast<int64_t>(*used);
  r.init_ms = NumberAfter(text, "Init Duration: ");
  return r;
}

double CostPerMillion(int64_t requests, int64_t mb_ms, const LambdaPrices& prices) {
  if (requests <= 0) return 0;
  const double gb_s = static_cast<double>(mb_ms) / 1024.0 / 1000.0;
  const double usd = gb_s * prices.usd_per_gb_second +
                     static_cast<double>(requests) * prices.usd_per_million_requests / 1e6;
  return usd / static_cast<double>(requests) * 1e6;
}

double SumMetric(std::string_view text, std::string_view metric, std::string_view function) {
  const std::string label = "function=\"" + std::string(function) + "\"";
  double sum = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.starts_with(metric) || line.size() <= metric.size() || line[metric.size()] != '{')
      continue;
    const size_t close = line.rfind('}');
    if (close == std::string_view::npos) continue;
    const std::string_view labels = line.substr(metric.size(), close - metric.size() + 1);
    const size_t at = labels.find(label);
    if (at == std::string_view::npos || (labels[at - 1] != '{' && labels[at - 1] != ',')) continue;
    const std::string value(line.substr(close + 1));
    char* stop = nullptr;
    const double v = std::strtod(value.c_str(), &stop);
    if (stop != value.c_str() && v >= 0) sum += v;
  }
  return sum;
}

std::string StudyFigureFor(const MatrixCell& c) {
  if (c.runtime == MatrixRuntime::kPython) {
    if (c.memory_mb == 256) return "mean 33.4 hits/s (peak 77), ~200 ms avg, cold 6-8 s";
    if (c.memory_mb == 512) return "clearly better than 256 MB; best cost/benefit";
    if (c.memory_mb == 1024) return "no better than 512 MB, except faster cold starts";
  }
  if (c.runtime == MatrixRuntime::kJava) {
    if (c.memory_mb == 256) return "0.55 hits/s mean, 17,049 ms avg";
    if (c.memory_mb == 512) return "max latency ~18 s (cold starts)";
    if (c.memory_mb == 1024) return "max latency ~10 s (cold starts)";
  }
  return "";
}

std::optional<CpuSpeedup> SpeedupOf(const std::vector<CpuPoint>& cpu) {
  if (cpu.size() < 2) return std::nullopt;
  auto [lo, hi] = std::minmax_element(
      cpu.begin(), cpu.end(),
      [](const CpuPoint& a, const CpuPoint& b) { return a.memory_mb < b.memory_mb; });
  if (lo->memory_mb == hi->memory_mb || hi->duration_ms <= 0) return std::nullopt;
  CpuSpeedup s;
  s.from_mb = lo->memory_mb;
  s.to_mb = hi->memory_mb;
  s.measured = lo->duration_ms / hi->duration_ms;
  // The share is capped at one vCPU: the fixture is single-threaded.
  s.expected =
      std::min(1.0, hi->memory_mb / kOneVcpuMb) / std::min(1.0, lo->memory_mb / kOneVcpuMb);
  return s;
}

std::string MatrixMarkdown(const MatrixResult& r) {
  std::string o;
  o += r.quick ? "Quick smoke run: one short scenario per cell (4 users, 1 s).\n\n"
               : "Per cell: the keep-alive scenario (time compressed " +
                     FormatNumber("%g", r.keepalive_scale) +
                     "x), then the concurrency scenario (compressed " +
                     FormatNumber("%g", r.concurrency_scale) + "x).\n\n";
  o += "| memory | runtime | strategy | avg latency | max latency | hits/s (mean) | cold starts | "
       "cold p50 | cold max | init p50 | max memory | $ per 1M | errors |";
  o += r.quick ? "" : " keep-alive |";
  o += " study (AWS Lambda) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";
  o += r.quick ? "" : "---|";
  o += "---|\n";
  for (const CellResult& c : r.cells) {
    const std::string study = StudyFigureFor(c.cell);
    o += "| " + std::to_string(c.cell.memory_mb) + " MB | " +
         std::string(RuntimeLabel(c.cell.runtime)) + " | " + c.cell.strategy + " | " +
         Ms(c.avg_ms) + " | " + Ms(c.max_ms) + " | " + FormatNumber("%.1f", c.hits_per_s) + " | " +
         std::to_string(c.cold_starts) + " | " + (c.cold_starts ? Ms(c.cold_p50_ms) : "-") + " | " +
         (c.cold_starts ? Ms(c.cold_max_ms) : "-") + " | " +
         (c.init_p50_ms ? Ms(*c.init_p50_ms) : "-") + " | " + std::to_string(c.max_memory_mb) +
         " MB | " + Usd(c.cost_per_million) + (c.cost_source == "metrics" ? "*" : "") + " | " +
         std::to_string(c.errors) + " |";
    if (!r.quick) o += " " + (c.keepalive.empty() ? std::string("-") : c.keepalive) + " |";
    o += " " + (study.empty() ? std::string("-") : study) + " |\n";
  }
  o += "\nStudy (DESIGN §1): ~40 predictions/s at ~200 ms average; cold starts 6-18 s; all tests "
       "about one dollar. Latency and hits/s: the " +
       std::string(r.quick ? "quick" : "concurrency") +
       " scenario; cold starts: client-measured, both scenarios; init, memory and cost: REPORT "
       "lines; cost at Lambda's x86 list price (on-demand duration + requests; no snapshot "
       "cache).";
  bool any_metrics = false;
  for (const CellResult& c : r.cells) any_metrics |= c.cost_source == "metrics";
  if (any_metrics) {
    o += " *: more REPORT lines than read; cost from the gateway's billed GB-s counter "
         "(/metrics, the same REPORT arithmetic).";
  }
  o += "\n";
  if (!r.skipped.empty()) {
    o += "\nSkipped:\n";
    for (const SkippedCell& s : r.skipped) o += "- " + s.cell.Label() + ": " + s.reason + "\n";
  }
  if (!r.cpu.empty()) {
    o += "\nCPU-bound fixture (bench/fixtures/cpu_burn: fixed CPU work per call):\n\n"
         "| memory | CPU share | work duration p50 (REPORT) | client p50 | calls |\n"
         "|---|---|---|---|---|\n";
    for (const CpuPoint& p : r.cpu) {
      o += "| " + std::to_string(p.memory_mb) + " MB | " + FormatNumber("%.3f", p.cpu_share) +
           " vCPU | " + Ms(p.duration_ms) + " | " + Ms(p.latency_ms) + " | " +
           std::to_string(p.calls) + " |\n";
    }
    if (auto s = SpeedupOf(r.cpu)) {
      o += "\nSpeed-up " + std::to_string(s->from_mb) + " -> " + std::to_string(s->to_mb) +
           " MB: " + FormatNumber("%.2fx", s->measured) +
           " (CPU in proportion to memory: " + FormatNumber("%.2fx", s->expected) + ")\n";
    }
  }
  return o;
}

std::string MatrixCsv(const MatrixResult& r) {
  std::string o =
      "memory_mb,runtime,strategy,requests,errors,avg_ms,max_ms,hits_per_s,cold_starts,"
      "cold_p50_ms,cold_max_ms,init_p50_ms,max_memory_mb,report_lines,cost_per_million_usd,"
      "cost_source,keepalive\n";
  for (const CellResult& c : r.cells) {
    o += std::to_string(c.cell.memory_mb) + "," + std::string(RuntimeKey(c.cell.runtime)) + "," +
         c.cell.strategy + "," + std::to_string(c.requests) + "," + std::to_string(c.errors) + "," +
         FormatNumber("%.3f", c.avg_ms) + "," + FormatNumber("%.3f", c.max_ms) + "," +
         FormatNumber("%.2f", c.hits_per_s) + "," + std::to_string(c.cold_starts) + "," +
         FormatNumber("%.3f", c.cold_p50_ms) + "," + FormatNumber("%.3f", c.cold_max_ms) + "," +
         (c.init_p50_ms ? FormatNumber("%.3f", *c.init_p50_ms) : "") + "," +
         std::to_string(c.max_memory_mb) + "," + std::to_string(c.report_lines) + "," +
         FormatNumber("%.6f", c.cost_per_million) + "," + c.cost_source + "," + c.keepalive + "\n";
  }
  if (!r.cpu.empty()) {
    o += "\nmemory_mb,cpu_share,calls,duration_p50_ms,latency_p50_ms\n";
    for (const CpuPoint& p : r.cpu) {
      o += std::to_string(p.memory_mb) + "," + FormatNumber("%.4f", p.cpu_share) + "," +
           std::to_string(p.calls) + "," + FormatNumber("%.3f", p.duration_ms) + "," +
           FormatNumber("%.3f", p.latency_ms) + "\n";
    }
  }
  return o;
}

}  // namespace mlfaas::loadtest
