#include "loadtest/report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "common/fs.h"
#include "loadtest/charts.h"

namespace mlfaas::loadtest {
namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

constexpr size_t kMaxIdName = 64;
constexpr size_t kStampSize = 16;  // "20261127T163000Z"
constexpr int kMaxIdSuffix = 1000;

// True for a name HomeReportId made: "DDDDDDDDTDDDDDDZ-...".
bool IsHomeReportId(const std::string& name) {
  if (name.size() <= kStampSize || name[8] != 'T' || name[15] != 'Z' || name[16] != '-') {
    return false;
  }
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

// Creates a directory under `reports` named `id`, or `id`-2, `id`-3, ... when taken.
StatusOr<std::filesystem::path> CreateUniqueDir(const std::filesystem::path& reports,
                                                const std::string& id) {
  std::error_code ec;
  std::filesystem::create_directories(reports, ec);
  if (ec) return InvalidArgument("cannot create " + reports.string() + ": " + ec.message());
  for (int k = 1; k <= kMaxIdSuffix; ++k) {
    const std::filesystem::path dir = reports / (k == 1 ? id : id + "-" + std::to_string(k));
    if (std::filesystem::create_directory(dir, ec)) return dir;
    if (ec) return InvalidArgument("cannot create " + dir.string() + ": " + ec.message());
  }
  return AlreadyExists("too many reports named " + id + " in " + reports.string());
}

}  // namespace

std::string HomeReportId(std::chrono::system_clock::time_point when, std::string_view name) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[kStampSize + 1];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string id = std::string(stamp) + "-";
  const std::string_view kept = name.substr(0, kMaxIdName);
  for (char c : kept) {
    id += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
  }
  return kept.empty() ? id + "report" : id;
}

Status PruneHomeReports(const std::filesystem::path& home, size_t keep) {
  const std::filesystem::path reports = home / "reports";
  std::error_code ec;
  std::vector<std::string> ids;
  for (std::filesystem::directory_iterator it(reports, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (IsHomeReportId(name) && it->is_directory(ec)) ids.push_back(std::move(name));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Internal("cannot list " + reports.string() + ": " + ec.message());
  }
  if (ids.size() <= keep) return Status::Ok();
  std::sort(ids.begin(), ids.end(), std::greater<>());
  Status first = Status::Ok();
  for (size_t i = keep; i < ids.size(); ++i) {
    std::filesystem::remove_all(reports / ids[i], ec);
    if (ec && first.ok()) {
      first = Internal("cannot remove " + (reports / ids[i]).string() + ": " + ec.message());
    }
  }
  return first;
}

StatusOr<std::filesystem::path> KeepReportInHome(const std::filesystem::path& home,
                                                 std::string_view name, const ReportWriter& write) {
  MLFAAS_ASSIGN_OR_RETURN(
      std::filesystem::path dir,
      CreateUniqueDir(home / "reports", HomeReportId(std::chrono::system_clock::now(), name)));
  if (Status s = write(dir); !s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return s;
  }
  MLFAAS_RETURN_IF_ERROR(PruneHomeReports(home));
  return dir;
}

Status WriteAndKeepReport(const std::filesystem::path& report_dir,
                          const std::filesystem::path& home, std::string_view name,
                          const ReportWriter& write, std::ostream& out) {
  if (!report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(report_dir, ec);
    if (ec) {
      return InvalidArgument("cannot create report dir " + report_dir.string() + ": " +
                             ec.message());
    }
    MLFAAS_RETURN_IF_ERROR(write(report_dir));
    out << "report: " << (report_dir / "report.html").string() << "\n";
  }
  if (!home.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(std::filesystem::path kept, KeepReportInHome(home, name, write));
    out << "report: " << (kept / "report.html").string() << "\n";
  }
  return Status::Ok();
}

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
