// Run output: the final text summary and the report directory (kpi.csv, samples.csv,
// junit.xml, report.html). Writers are pure functions of a RunResult; files are written
// atomically.
#pragma once

#include <filesystem>
#include <string>
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

// Escapes &, <, >, " and ' for XML text and attributes.
std::string XmlEscape(std::string_view s);

// printf-style formatting of one double ("%.3f s"), for summaries and reports.
std::string FormatNumber(const char* format, double v);

}  // namespace mlfaas::loadtest
