// MatrixHtml (matrix.h): the matrix's report page, bars per cell beside the study's figures.
#include <functional>

#include "loadtest/charts.h"
#include "loadtest/matrix.h"
#include "loadtest/report.h"

namespace mlfaas::loadtest {
namespace {

std::string Chart(const MatrixResult& r, const std::string& title, const std::string& unit,
                  const std::function<double(const CellResult&)>& value) {
  std::vector<Bar> bars;
  for (const CellResult& c : r.cells) {
    bars.push_back({c.cell.Label(), value(c), std::string(RuntimeLabel(c.cell.runtime))});
  }
  return BarsChart(bars, title, unit);
}

// The Markdown table, as an HTML table (cells split on '|').
std::string TableHtml(const std::string& md) {
  std::string html;
  size_t pos = 0;
  bool in_table = false;
  while (pos < md.size()) {
    const size_t eol = md.find('\n', pos);
    const std::string line =
        md.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? md.size() : eol + 1;
    if (line.starts_with("|---")) continue;
    if (line.starts_with("| ")) {
      const bool header = !in_table;
      if (!in_table) html += "<table>\n";
      in_table = true;
      html += "<tr>";
      size_t p = 1;
      while (p < line.size()) {
        const size_t bar = line.find('|', p);
        if (bar == std::string::npos) break;
        std::string cell = line.substr(p, bar - p);
        while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
        while (!cell.empty() && cell.back() == ' ') cell.pop_back();
        html += header ? "<th>" + XmlEscape(cell) + "</th>" : "<td>" + XmlEscape(cell) + "</td>";
        p = bar + 1;
      }
      html += "</tr>\n";
      continue;
    }
    if (in_table) html += "</table>\n";
    in_table = false;
    if (!line.empty()) html += "<p>" + XmlEscape(line) + "</p>\n";
  }
  if (in_table) html += "</table>\n";
  return html;
}

}  // namespace

std::string MatrixHtml(const MatrixResult& r) {
  std::string body = TableHtml(MatrixMarkdown(r));
  if (!r.command.empty()) body += "<p class=\"note\">" + XmlEscape(r.command) + "</p>\n";
  body += "<h2>Per cell</h2>\n";
  body += Chart(r, std::string(r.quick ? "Quick" : "Concurrency") + " scenario: average latency",
                "ms", [](const CellResult& c) { return c.avg_ms; });
  body += Chart(r, "Hits/s (mean; the study: Python 256 MB 33.4)", "hits/s",
                [](const CellResult& c) { return c.hits_per_s; });
  body += Chart(r, "Cold start p50 at the client (the study: 6-18 s)", "ms",
                [](const CellResult& c) { return c.cold_p50_ms; });
  body += Chart(r, "Max memory used (REPORT)", "MB",
                [](const CellResult& c) { return static_cast<double>(c.max_memory_mb); });
  body += Chart(r, "Cost per million invocations, Lambda x86 list price", "USD",
                [](const CellResult& c) { return c.cost_per_million; });
  if (!r.cpu.empty()) {
    std::vector<Bar> bars;
    for (const CpuPoint& p : r.cpu) {
      bars.push_back({std::to_string(p.memory_mb) + " MB", p.duration_ms, "REPORT Duration p50"});
    }
    body += "<h2>CPU share by memory size</h2>\n" +
            BarsChart(bars, "Fixed CPU work per call: REPORT Duration p50", "ms");
  }
  return HtmlPage("mlfaas bench study --matrix", body);
}

}  // namespace mlfaas::loadtest
