#include "loadtest/report.h"

#include <cstdio>
#include <sstream>

#include "common/fs.h"
#include "loadtest/charts.h"

namespace mlfaas::loadtest {
namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

std::string FormatNumber(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatSummary(const RunResult& r) {
  const Histogram& h = r.total.window.latency;
  std::ostringstream o;
  o << "summary: " << r.plan_name << "\n";
  if (r.time_scale != 1) {
    o << "  time compressed " << r.time_scale << "x: " << FormatNumber("%.1f", r.elapsed_s)
      << " s real = " << FormatNumber("%.1f", r.elapsed_s * r.time_scale) << " s scenario time\n";
  }
  o << "  requests    " << r.total.window.hits << " in " << FormatNumber("%.2f", r.elapsed_s)
    << " s (" << FormatNumber("%.1f", r.elapsed_s > 0 ? r.total.window.hits / r.elapsed_s : 0)
    << " req/s)\n";
  o << "  errors      " << r.total.window.failures;
  for (size_t k = 1; k < r.total.errors.size(); ++k) {
    if (r.total.errors[k])
      o << "  " << ErrorKindName(static_cast<ErrorKind>(k)) << "=" << r.total.errors[k];
  }
  o << "\n  statuses   ";
  for (const auto& [code, n] : r.total.statuses) o << " " << code << "=" << n;
  o << "\n  cold starts " << r.total.cold_starts << "\n";
  o << "  latency ms  avg " << FormatNumber("%.3f", h.mean() / 1e6) << "  stdev "
    << FormatNumber("%.3f", h.stddev() / 1e6) << "  min " << FormatNumber("%.3f", Ms(h.min()))
    << "\n";
  o << "  percentiles p50 " << FormatNumber("%.3f", Ms(h.Percentile(50))) << "  p90 "
    << FormatNumber("%.3f", Ms(h.Percentile(90))) << "  p95 "
    << FormatNumber("%.3f", Ms(h.Percentile(95))) << "  p99 "
    << FormatNumber("%.3f", Ms(h.Percentile(99))) << "  p99.9 "
    << FormatNumber("%.3f", Ms(h.Percentile(99.9))) << "  max " << FormatNumber("%.3f", Ms(h.max()))
    << "\n";
  for (const CriterionResult& c : r.criteria) {
    const bool failed = c.triggered && c.criterion.fail;
    o << "  criterion   [" << (failed ? "FAIL" : "pass") << "] " << c.criterion.text << ": "
      << c.message << "\n";
  }
  if (r.stopped_early) o << "  stopped early by a criterion\n";
  return o.str();
}

std::string KpiCsv(const std::vector<KpiRow>& rows) {
  std::string out = "time_s,users,hits,avg_ms,max_ms,p50_ms,p99_ms,errors,cold_starts\n";
  for (const KpiRow& k : rows) {
    out += std::to_string(k.second) + "," + std::to_string(k.users) + "," + std::to_string(k.hits) +
           "," + FormatNumber("%.3f", k.avg_ms) + "," + FormatNumber("%.3f", k.max_ms) + "," +
           FormatNumber("%.3f", k.p50_ms) + "," + FormatNumber("%.3f", k.p99_ms) + "," +
           std::to_string(k.errors) + "," + std::to_string(k.cold_starts) + "\n";
  }
  return out;
}

std::string SamplesCsv(const std::vector<Sample>& samples) {
  std::string out = "done_ms,latency_ms,status,error,cold_start,user\n";
  for (const Sample& s : samples) {
    out += FormatNumber("%.3f", Ms(s.done_ns)) + "," + FormatNumber("%.3f", Ms(s.latency_ns)) +
           "," + std::to_string(s.status) + "," + std::string(ErrorKindName(s.error)) + "," +
           (s.cold_start ? "true" : "false") + "," + std::to_string(s.user) + "\n";
  }
  return out;
}

std::string JunitXml(const RunResult& r) {
  int failures = 0;
  for (const auto& c : r.criteria) failures += c.triggered && c.criterion.fail;
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"passfail\" "
       "tests=\""
    << r.criteria.size() << "\" failures=\"" << failures << "\" time=\""
    << FormatNumber("%.3f", r.elapsed_s) << "\">\n";
  for (const auto& c : r.criteria) {
    o << "    <testcase classname=\"passfail\" name=\"" << XmlEscape(c.criterion.text) << "\">";
    if (c.triggered && c.criterion.fail) {
      o << "\n      <failure message=\"" << XmlEscape(c.message) << "\">"
        << XmlEscape(c.criterion.text) << ": " << XmlEscape(c.message) << "</failure>\n    ";
    } else {
      o << "<system-out>" << XmlEscape(c.message) << "</system-out>";
    }
    o << "</testcase>\n";
  }
  o << "  </testsuite>\n</testsuites>\n";
  return o.str();
}

Status WriteReportDir(const std::filesystem::path& dir, const RunResult& r,
                      const std::string& title) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create report dir " + dir.string() + ": " + ec.message());
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "kpi.csv", KpiCsv(r.kpi)));
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "junit.xml", JunitXml(r)));
  if (!r.samples.empty())
    MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "samples.csv", SamplesCsv(r.samples)));
  return WriteFileAtomic(dir / "report.html", ReportHtml(r, title));
}

}  // namespace mlfaas::loadtest
