#include "loadtest/study.h"

#include <algorithm>
#include <cstdio>

#include "common/fs.h"
#include "loadtest/charts.h"
#include "loadtest/plan_parser.h"
#include "loadtest/report.h"
#include "loadtest/runner.h"
#include "loadtest/self_gateway.h"
#include "loadtest/study_scenarios.h"

namespace mlfaas::loadtest {
namespace {

// "8.123 s (cold)" for each keep-alive call in order.
std::string Calls(const RunResult& r) {
  std::string out;
  for (const Sample& s : r.samples) {
    if (!out.empty()) out += ", ";
    out += FormatNumber("%.3f s", static_cast<double>(s.latency_ns) / 1e9);
    if (s.cold_start) out += " (cold)";
    if (s.error != ErrorKind::kNone) out += " (" + std::string(ErrorKindName(s.error)) + ")";
  }
  return out.empty() ? "no calls" : out;
}

StatusOr<RunResult> RunOne(const char* yaml, const std::string& name, const StudyOptions& o,
                           std::ostream& out) {
  std::vector<Override> overrides;
  if (!o.endpoint.empty()) overrides.push_back({"scenarios.predict.requests.0.url", o.endpoint});
  MLFAAS_ASSIGN_OR_RETURN(Plan plan, ParsePlanText(yaml, name, ".", overrides));
  RunOptions ro;
  ro.time_scale = o.time_scale;
  ro.threads = o.threads;
  ro.keep_samples = name == "keepalive.yaml";
  ro.live = o.live ? &out : nullptr;
  ro.name = name;
  out << "== " << name
      << (o.time_scale != 1 ? " (time compressed " + FormatNumber("%g", o.time_scale) + "x)" : "")
      << "\n";
  MLFAAS_ASSIGN_OR_RETURN(RunResult r, RunPlan(plan, ro));
  out << FormatSummary(r);
  return r;
}

std::string ComparisonHtml(const std::vector<StudyRow>& rows) {
  std::string html =
      "<h2>mlfaas vs the reference study</h2>\n<table><tr><th>figure</th><th>study (AWS "
      "Lambda)</th>"
      "<th>mlfaas, this run</th></tr>\n";
  for (const StudyRow& r : rows) {
    html += "<tr><td style=\"text-align:left\">" + XmlEscape(r.figure) + "</td><td>" +
            XmlEscape(r.study) + "</td><td>" + XmlEscape(r.ours) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

// Writes the study's report into `dir`, which exists.
Status WriteStudyReport(const std::filesystem::path& dir, const RunResult& ka, const RunResult& cc,
                        const std::vector<StudyRow>& rows) {
  MLFAAS_RETURN_IF_ERROR(WriteReportDir(dir / "keepalive", ka, "keep-alive scenario"));
  MLFAAS_RETURN_IF_ERROR(WriteReportDir(dir / "concurrency", cc, "concurrency scenario"));
  const std::string body =
      ComparisonHtml(rows) + RunSectionHtml(cc, "Scenario 2: concurrency (9 then 18 users)") +
      RunSectionHtml(ka, "Scenario 1: keep-alive (calls at 0, 6, 16, 31, 61 min)");
  return WriteFileAtomic(dir / "report.html", HtmlPage("mlfaas bench study", body));
}

}  // namespace

std::vector<StudyRow> CompareWithStudy(const RunResult& ka, const RunResult& cc) {
  const Histogram& h = cc.total.window.latency;
  int64_t peak = 0;
  for (const KpiRow& k : cc.kpi) peak = std::max(peak, k.hits);
  const double mean_hits = cc.elapsed_s > 0 ? static_cast<double>(h.count()) / cc.elapsed_s : 0;
  std::vector<StudyRow> rows = {
      {"keep-alive calls (0, 6, 16, 31, 61 min)", "~8 s cold, ~1 s warm x3, ~6 s cold", Calls(ka)},
      {"predictions/s, concurrency scenario (mean)", "~40 (Python 256 MB mean 33.4)",
       FormatNumber("%.1f", mean_hits)},
      {"peak hits/s", "77", std::to_string(peak)},
      {"average latency", "~200 ms", FormatNumber("%.2f ms", h.mean() / 1e6)},
      {"p99 latency", "n/a", FormatNumber("%.2f ms", static_cast<double>(h.Percentile(99)) / 1e6)},
      {"max latency (cold starts)", "6-18 s",
       FormatNumber("%.3f s", static_cast<double>(h.max()) / 1e9)},
      {"cold starts seen", "one per new instance",
       std::to_string(cc.total.cold_starts + ka.total.cold_starts)},
      {"errors", "n/a", std::to_string(cc.total.window.failures + ka.total.window.failures)},
  };
  if (cc.time_scale != 1) {
    rows.push_back({"time scale", "real time (~66 min)",
                    "compressed " + FormatNumber("%g", cc.time_scale) + "x"});
  }
  return rows;
}

Status RunStudy(const StudyOptions& options, std::ostream& out) {
  StudyOptions o = options;
  std::unique_ptr<SelfGateway> gateway;
  if (o.endpoint.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(auto data, FindStudyData(o.self_exe));
    // 20 scenario minutes: the study's instances survived 15 idle minutes, not 30.
    const int idle_s = std::max(1, static_cast<int>(1200 / o.time_scale));
    MLFAAS_ASSIGN_OR_RETURN(gateway, SelfGateway::Start(o.self_exe, data, idle_s, out));
    o.endpoint = gateway->invoke_url();
  }
  MLFAAS_ASSIGN_OR_RETURN(RunResult ka, RunOne(kKeepaliveYaml, "keepalive.yaml", o, out));
  MLFAAS_ASSIGN_OR_RETURN(RunResult cc, RunOne(kConcurrencyYaml, "concurrency.yaml", o, out));
  const auto rows = CompareWithStudy(ka, cc);
  out << "== mlfaas vs the reference study\n";
  for (const StudyRow& r : rows)
    out << "  " << r.figure << ": study " << r.study << " | mlfaas " << r.ours << "\n";
  MLFAAS_RETURN_IF_ERROR(WriteAndKeepReport(
      o.report_dir, o.home, "study",
      [&](const std::filesystem::path& dir) { return WriteStudyReport(dir, ka, cc, rows); }, out));
  if (ka.failed || cc.failed) return FailedPrecondition("pass/fail criteria failed");
  return Status::Ok();
}

}  // namespace mlfaas::loadtest
