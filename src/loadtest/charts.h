// SVG charts and the XHTML report page, in the reference study's style. Output is well-formed
// XML (checked with xmllint in tests); pure functions, no I/O.
#pragma once

#include <string>
#include <vector>

#include "loadtest/histogram.h"
#include "loadtest/stats.h"

namespace mlfaas::loadtest {

// Hits/s, max latency, avg latency and active users per second on one figure: latency (ms) on
// the left axis, hits/s and users on the right axis.
std::string TimelineSvg(const std::vector<KpiRow>& rows, const std::string& title);

// Latency by percentile on a log "1/(1-p)" axis (0 %, 90 %, 99 %, 99.9 %, 99.99 %).
std::string PercentileSvg(const Histogram& h, const std::string& title);

// One horizontal bar per (label, value), on a common axis in `unit`; for comparing cells (the
// matrix report). A label may carry a group colour index (bars of one group share a colour).
struct Bar {
  std::string label;
  double value = 0;
  int group = 0;
};
std::string BarsSvg(const std::vector<Bar>& bars, const std::string& title,
                    const std::string& unit);

// The report for one run: summary table, criteria, both charts.
std::string RunSectionHtml(const RunResult& r, const std::string& heading);
// Wraps sections into a standalone XHTML page with inline CSS.
std::string HtmlPage(const std::string& title, const std::string& body);
inline std::string ReportHtml(const RunResult& r, const std::string& title) {
  return HtmlPage(title, RunSectionHtml(r, title));
}

}  // namespace mlfaas::loadtest
