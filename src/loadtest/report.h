// Run output: the final text summary and the report directory (kpi.csv, samples.csv,
// junit.xml, report.html). Writers are pure functions of a RunResult; files are written
// atomically. Every report `mlfaas bench` writes is also kept under the home
// (<home>/reports/<id>/, docs/dashboard.md) for the dashboard to list.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "loadtest/stats.h"

namespace mlfaas::loadtest {

// Requests, errors by kind, statuses, throughput, avg/stdev, percentiles, criteria.
std::string FormatSummary(const RunResult& r);

std::string KpiCsv(const std::vector<KpiRow>& rows);
std::string SamplesCsv(const std::vector<Sample>& samples);
// One <testcase> per criterion; a triggered `failed` criterion becomes a <failure>.
std::string JunitXml(const RunResult& r);

// Writes kpi.csv, junit.xml, report.html (and samples.csv when r.samples is non-empty) into
// `dir`, creating it. `title` heads the HTML report.
Status WriteReportDir(const std::filesystem::path& dir, const RunResult& r,
                      const std::string& title);

// How many report directories <home>/reports keeps: KeepReportInHome deletes older ones.
inline constexpr size_t kHomeReportsKept = 100;

// The id (directory name) of a report under the home: "<UTC stamp>-<name>", the stamp like
// "20261127T163000Z", `name` with every character outside [A-Za-z0-9_-] replaced by '_' and cut
// to 64 characters ("report" when empty).
std::string HomeReportId(std::chrono::system_clock::time_point when, std::string_view name);

// Deletes all but the newest `keep` report directories under <home>/reports: those whose name
// starts with a stamp as above, newest = greatest name. Other entries are left alone; a missing
// <home>/reports is not an error. Returns the first failure (after trying every deletion).
Status PruneHomeReports(const std::filesystem::path& home, size_t keep = kHomeReportsKept);

// Writes one report's files (report.html and the rest) into an existing directory.
using ReportWriter = std::function<Status(const std::filesystem::path& dir)>;

// Keeps a report under the home: creates <home>/reports/<HomeReportId(now, name)> ("-2", "-3",
// ... appended when taken), has `write` fill it, then prunes to kHomeReportsKept. Returns the
// new directory; when `write` fails, removes the directory and returns its error.
StatusOr<std::filesystem::path> KeepReportInHome(const std::filesystem::path& home,
                                                 std::string_view name, const ReportWriter& write);

// What `mlfaas bench` does with a finished report: writes it into `report_dir` (created; skipped
// when empty), then keeps it under `home` (KeepReportInHome; skipped when empty), printing
// "report: <dir>/report.html" to `out` for each.
Status WriteAndKeepReport(const std::filesystem::path& report_dir,
                          const std::filesystem::path& home, std::string_view name,
                          const ReportWriter& write, std::ostream& out);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string XmlEscape(std::string_view s);

// printf-style formatting of one double ("%.3f s"), for summaries and reports.
std::string FormatNumber(const char* format, double v);

}  // namespace mlfaas::loadtest
