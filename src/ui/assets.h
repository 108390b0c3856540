// The dashboard's files (docs/dashboard.md), compiled into the binary so that the page works
// offline: our own page (ui/web/) and the vendored chart library (uPlot, from npm by
// scripts/vendor_ui.sh). The gateway serves them under /ui/; the load tester inlines the chart
// library into its reports, so both draw with the same code. Immutable; thread-safe.
#pragma once

#include <string_view>

namespace mlfaas::ui {

struct Asset {
  std::string_view name;          // "index.html", "app.js", "app.css", "uplot.js", "uplot.css"
  std::string_view content_type;  // with charset for text
  std::string_view body;
  std::string_view etag;  // quoted, for ETag / If-None-Match
};

// The asset named `name` (no leading slash), or null.
const Asset* FindAsset(std::string_view name);

// False when the build found no vendored chart library (scripts/vendor_ui.sh was not run): the
// page then shows its tables and says why the charts are missing; ChartJs/ChartCss are empty.
bool ChartLibraryVendored();
std::string_view ChartJs();
std::string_view ChartCss();

}  // namespace mlfaas::ui
