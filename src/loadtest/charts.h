// The bench's HTML5 report pages. Tables are HTML; charts are drawn in the browser by the
// vendored chart library (uPlot, ui/assets.h), which a page inlines once with a small builder
// script. A chart is `<div class="chart"><div class="plot"></div><script type="application/json"
// class="chart-data">DATA</script></div>`: DATA is one JSON object with "kind" ("timeline",
// "percentile" or "bars"), "title" and the series below; the builder draws every such block into
// the <div> before it. DATA has every '<', '>' and '&' written as a \u escape, so no string in it
// can end the block, and invalid UTF-8 replaced by U+FFFD. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "loadtest/histogram.h"
#include "loadtest/stats.h"

namespace mlfaas::loadtest {

// Hits/s, max latency, avg latency and active users per second on one figure: latency (ms) on
// the left axis, hits/s and users on the right (users get a second right axis when hits/s
// dwarf them). DATA: "second", "hits", "max_ms", "avg_ms", "users", one element per row.
std::string TimelineChart(const std::vector<KpiRow>& rows, const std::string& title);

// Latency by percentile on a log "1/(1-p)" axis labelled 0 %, 90 %, 99 %, 99.9 %, 99.99 %,
// 99.999 %. DATA: "nines" (n = -log10(1 - p/100), 0 to 5 by 0.05) and "ms" (the latency at
// p = 100 * (1 - 10^-n)).
std::string PercentileChart(const Histogram& h, const std::string& title);

// One horizontal bar per (label, value) on a common axis in `unit`, for comparing cells (the
// matrix report); bars of one `group` share a colour and a legend entry. DATA: "unit",
// "labels", "values", "groups", one element per bar, in order (the first bar on top).
struct Bar {
  std::string label;
  double value = 0;
  std::string group;
};
std::string BarsChart(const std::vector<Bar>& bars, const std::string& title,
                      const std::string& unit);

// The report for one run: summary table, criteria, both charts (titled after `heading`), under
// an <h2> of `heading` when `show_heading`.
std::string RunSectionHtml(const RunResult& r, const std::string& heading,
                           bool show_heading = true);

// The chart library a page inlines; an empty `js` means there is none.
struct ChartLibrary {
  std::string_view js;
  std::string_view css;
};
// What the build vendored (empty when scripts/vendor_ui.sh was not run).
ChartLibrary VendoredChartLibrary();

// Wraps sections into a standalone HTML5 page with inline CSS: `lib` (CSS and script) inlined
// once, then the builder script. Without a library the page says "charts unavailable: ..." and
// shows the tables only.
std::string HtmlPage(const std::string& title, const std::string& body, const ChartLibrary& lib);
inline std::string HtmlPage(const std::string& title, const std::string& body) {
  return HtmlPage(title, body, VendoredChartLibrary());
}
inline std::string ReportHtml(const RunResult& r, const std::string& title) {
  return HtmlPage(title, RunSectionHtml(r, title, /*show_heading=*/false));  // the page's <h1>
}

}  // namespace mlfaas::loadtest
