// Checks of the bench's HTML report pages (loadtest/charts.h) shared by the loadtest tests: the
// page parses as HTML, inlines the chart library once, and its chart data blocks are JSON.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/json.h"
#include "testing/subprocess.h"
#include "ui/assets.h"

namespace mlfaas::testing {

inline constexpr char kChartDataOpen[] = "<script type=\"application/json\" class=\"chart-data\">";

// Occurrences of `needle` in `s` (non-overlapping).
inline int CountOf(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

// The JSON of every chart data block, in page order: the text up to the first "</script" after
// the opening tag, as a browser reads it. A block that does not parse fails the test and is
// left out.
inline std::vector<nlohmann::json> ChartData(const std::string& html) {
  std::vector<nlohmann::json> out;
  const std::string open = kChartDataOpen;
  for (size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
    const size_t begin = at + open.size();
    const size_t end = html.find("</script", begin);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated chart data block";
      break;
    }
    auto j = ParseJson(std::string_view(html).substr(begin, end - begin));
    if (j.ok()) {
      out.push_back(*std::move(j));
    } else {
      ADD_FAILURE() << "chart data is not JSON: " << j.status().ToString();
    }
  }
  return out;
}

// The chart data blocks of one kind ("timeline", "percentile", "bars").
inline std::vector<nlohmann::json> ChartData(const std::string& html, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (nlohmann::json& j : ChartData(html)) {
    if (JsonString(j, "kind", "") == kind) out.push_back(std::move(j));
  }
  return out;
}

// Fails unless xmllint's HTML parser reads `path` without an error or warning. It predates
// HTML5, so "Tag X invalid" for HTML5's own elements would not be real errors; the pages use
// none, and this counts every message.
inline void ExpectValidHtml(const std::filesystem::path& path) {
  const auto res = mlfaas::testing::RunCommand({"xmllint", "--html", "--noout", path.string()});
  EXPECT_EQ(res.exit_code, 0) << path << ": " << res.err;
  EXPECT_EQ(res.err, "") << path;
}

// Fails unless `html` is an HTML5 page (doctype, lang, charset) whose <script> tags all close,
// and which inlines the vendored chart library exactly once, or says why it has no charts.
inline void ExpectChartPage(const std::string& html) {
  EXPECT_EQ(html.rfind("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">", 0),
            0u);
  EXPECT_EQ(CountOf(html, "<script"), CountOf(html, "</script>"));
  if (ui::ChartLibraryVendored()) {
    EXPECT_EQ(CountOf(html, std::string(ui::ChartJs())), 1);
    EXPECT_EQ(CountOf(html, std::string(ui::ChartCss())), 1);
    EXPECT_EQ(CountOf(html, "new uPlot("), 1);  // the one builder script
  } else {
    EXPECT_NE(html.find("charts unavailable: the chart library was not vendored"),
              std::string::npos);
  }
}

}  // namespace mlfaas::testing
