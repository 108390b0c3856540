#include "loadtest/charts.h"

#include <cmath>
#include <sstream>

#include "common/json.h"
#include "loadtest/report.h"
#include "ui/assets.h"

namespace mlfaas::loadtest {
namespace {

using nlohmann::json;

// Draws every chart-data block (charts.h) with uPlot into the <div> before it. Text is #222 on
// white (15.9:1); series colours are at least 4.5:1 against white too.
constexpr char kBuilderJs[] = R"JS((function () {
  "use strict";
  var INK = "#222", GRID = "#e2e2e2", FONT = "12px system-ui, sans-serif";
  var BLUE = "#1f6fb4", RED = "#c62828", ORANGE = "#a85300", GREEN = "#2a7d2a";
  var PALETTE = [BLUE, ORANGE, GREEN, RED, "#7b4fa8"];
  var PCT = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
  function axis(o) {
    var a = {stroke: INK, font: FONT, labelFont: "bold " + FONT,
             grid: {stroke: GRID, width: 1}, ticks: {stroke: GRID, width: 1}};
    for (var k in o) a[k] = o[k];
    return a;
  }
  function max(a) { return a.reduce(function (m, v) { return v > m ? v : m; }, 0); }
  function upTo(pad) { return function (u, lo, hi) { return [0, hi > 0 ? hi * pad : 1]; }; }
  function fmt(v) {
    if (v == null) return "-";
    if (Number.isInteger(v) || v >= 100) return v.toFixed(0);
    return v >= 1 ? v.toFixed(2) : v.toFixed(4);
  }
  function line(label, scale, color, width, paths) {
    return {label: label, scale: scale, stroke: color, width: width, paths: paths,
            points: {show: false}, value: function (u, v) { return fmt(v); }};
  }
  function timeline(d, w) {
    var own = max(d.users) * 4 < max(d.hits);  // users get their own axis when hits dwarf them
    var axes = [axis({label: "elapsed (s)"}), axis({scale: "ms", label: "latency (ms)"}),
                axis({scale: "hits", side: 1, label: own ? "hits/s" : "hits/s, active users",
                      grid: {show: false}})];
    if (own) axes.push(axis({scale: "users", side: 1, label: "active users", grid: {show: false}}));
    return {opts: {title: d.title, width: w, height: 400, axes: axes,
                   scales: {x: {time: false}, ms: {range: upTo(1.08)}, hits: {range: upTo(1.08)},
                            users: {range: upTo(1.5)}},
                   series: [{label: "elapsed (s)"},
                            line("hits/s (right)", "hits", BLUE, 1.5),
                            line("max latency ms (left)", "ms", RED, 1.2),
                            line("avg latency ms (left)", "ms", ORANGE, 2),
                            line("active users (right)", own ? "users" : "hits", GREEN, 2.5,
                                 uPlot.paths.stepped({align: 1}))]},
            data: [d.second, d.hits, d.max_ms, d.avg_ms, d.users]};
  }
  function percentile(d, w) {
    var nines = function (u, v) {
      return v == null ? "-" : (100 * (1 - Math.pow(10, -v))).toPrecision(6) + "%";
    };
    return {opts: {title: d.title, width: w, height: 380, padding: [null, 40, null, null],
                   scales: {x: {time: false, range: function () { return [0, PCT.length - 1]; }},
                            y: {range: upTo(1.08)}},
                   axes: [axis({label: "percentile (log scale of 1/(1-p))",
                                splits: function () { return PCT.map(function (_, i) { return i; }); },
                                values: function (u, s) {
                                  return s.map(function (v) { return PCT[v] || ""; });
                                }}),
                          axis({label: "latency (ms)"})],
                   series: [{label: "percentile", value: nines},
                            line("latency ms", "y", BLUE, 2)]},
            data: [d.nines, d.ms]};
  }
  function textWidth(texts) {
    var c = document.createElement("canvas").getContext("2d");
    c.font = FONT;
    return texts.reduce(function (m, t) { return Math.max(m, c.measureText(t).width); }, 0);
  }
  function drawValues(d) {
    return function (u) {
      var ctx = u.ctx, px = uPlot.pxRatio;
      ctx.save();
      ctx.fillStyle = INK;
      ctx.font = Math.round(12 * px) + "px system-ui, sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      d.values.forEach(function (v, i) {
        ctx.fillText(fmt(v), u.valToPos(v, "y", true) + 4 * px, u.valToPos(i, "x", true));
      });
      ctx.restore();
    };
  }
  function bars(d, w) {
    var idx = d.labels.map(function (_, i) { return i; }), groups = [];
    d.groups.forEach(function (g) { if (groups.indexOf(g) < 0) groups.push(g); });
    var data = [idx], series = [{label: "cell", value: function (u, i) { return d.labels[i]; }}];
    groups.forEach(function (g, k) {
      var color = PALETTE[k % PALETTE.length];
      data.push(d.values.map(function (v, i) { return d.groups[i] === g ? v : null; }));
      series.push({label: g, fill: color, stroke: color, width: 0, points: {show: false},
                   paths: uPlot.paths.bars({size: [0.7, 28]})});
    });
    var labels = function (u, s) { return s.map(function (i) { return d.labels[i] || ""; }); };
    return {opts: {title: d.title, width: w, height: 110 + 26 * d.labels.length,
                   legend: {live: false}, cursor: {points: {show: false}},
                   hooks: {draw: [drawValues(d)]},
                   scales: {x: {time: false, ori: 1, dir: -1,
                                range: function () { return [-0.5, d.labels.length - 0.5]; }},
                            y: {ori: 0, dir: 1, range: upTo(1.15)}},
                   axes: [axis({side: 3, grid: {show: false}, size: textWidth(d.labels) + 16,
                                splits: function () { return idx; }, values: labels}),
                          axis({side: 2, label: d.unit, space: 80})],
                   series: series},
            data: data};
  }
  var kinds = {timeline: timeline, percentile: percentile, bars: bars};
  document.querySelectorAll("script.chart-data").forEach(function (block) {
    var el = block.previousElementSibling;
    try {
      var d = JSON.parse(block.textContent);
      var c = kinds[d.kind](d, Math.min(960, Math.max(480, el.parentNode.clientWidth || 960)));
      new uPlot(c.opts, c.data, el);
    } catch (e) {
      el.textContent = "chart failed: " + e;
    }
  });
})();
)JS";

constexpr char kPageCss[] =
    "body{font-family:sans-serif;margin:2em;color:#222;background:#fff;}"
    "table{border-collapse:collapse;}table:not(.u-legend) :is(td,th){border:1px solid #ccc;"
    "padding:4px 8px;text-align:right;}.fail{color:#c00;}.pass{color:#070;}"
    ".note{color:#555;font-style:italic;}.chart{margin:1em 0 2.5em;}";

constexpr char kNoLibraryNote[] =
    "charts unavailable: the chart library was not vendored (scripts/vendor_ui.sh)";

// `data` as a chart (charts.h): serialized, then '<', '>' and '&' (which JSON has only inside
// strings) replaced by \u escapes.
std::string ChartHtml(const json& data) {
  std::string out =
      "<div class=\"chart\"><div class=\"plot\"></div>"
      "<script type=\"application/json\" class=\"chart-data\">";
  for (char c : DumpJson(data)) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out + "</script></div>\n";
}

}  // namespace

std::string TimelineChart(const std::vector<KpiRow>& rows, const std::string& title) {
  json second = json::array(), hits = json::array(), max_ms = json::array(), avg_ms = json::array(),
       users = json::array();
  for (const KpiRow& r : rows) {
    second.push_back(r.second);
    hits.push_back(r.hits);
    max_ms.push_back(r.max_ms);
    avg_ms.push_back(r.avg_ms);
    users.push_back(r.users);
  }
  return ChartHtml({{"kind", "timeline"},
                    {"title", title},
                    {"second", std::move(second)},
                    {"hits", std::move(hits)},
                    {"max_ms", std::move(max_ms)},
                    {"avg_ms", std::move(avg_ms)},
                    {"users", std::move(users)}});
}

std::string PercentileChart(const Histogram& h, const std::string& title) {
  constexpr int kSteps = 100;      // n from 0 to 5 by 0.05
  constexpr double kMaxNines = 5;  // 99.999 %
  json nines = json::array(), ms = json::array();
  for (int i = 0; i <= kSteps; ++i) {
    const double n = kMaxNines * i / kSteps;
    nines.push_back(n);
    ms.push_back(static_cast<double>(h.Percentile(100.0 * (1 - std::pow(10, -n)))) / 1e6);
  }
  return ChartHtml({{"kind", "percentile"},
                    {"title", title},
                    {"nines", std::move(nines)},
                    {"ms", std::move(ms)}});
}

std::string BarsChart(const std::vector<Bar>& bars, const std::string& title,
                      const std::string& unit) {
  json labels = json::array(), values = json::array(), groups = json::array();
  for (const Bar& b : bars) {
    labels.push_back(b.label);
    values.push_back(b.value);
    groups.push_back(b.group);
  }
  return ChartHtml({{"kind", "bars"},
                    {"title", title},
                    {"unit", unit},
                    {"labels", std::move(labels)},
                    {"values", std::move(values)},
                    {"groups", std::move(groups)}});
}

std::string RunSectionHtml(const RunResult& r, const std::string& heading, bool show_heading) {
  std::ostringstream o;
  const Histogram& h = r.total.window.latency;
  auto ms = [](int64_t ns) { return FormatNumber("%.2f", static_cast<double>(ns) / 1e6); };
  if (show_heading) o << "<h2>" << XmlEscape(heading) << "</h2>\n";
  if (r.time_scale != 1) {
    o << "<p class=\"note\">Time compressed " << FormatNumber("%g", r.time_scale)
      << "x: " << FormatNumber("%.1f", r.elapsed_s) << " s real stand for "
      << FormatNumber("%.0f", r.elapsed_s * r.time_scale) << " s of scenario time.</p>\n";
  }
  o << "<table><tr><th>requests</th><th>errors</th><th>req/s</th><th>cold starts</th><th>avg</th>"
       "<th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n<tr><td>"
    << h.count() << "</td><td>" << r.total.window.failures << "</td><td>"
    << FormatNumber("%.1f", r.elapsed_s > 0 ? h.count() / r.elapsed_s : 0) << "</td><td>"
    << r.total.cold_starts << "</td><td>" << FormatNumber("%.2f", h.mean() / 1e6) << " ms</td><td>"
    << ms(h.Percentile(50)) << "</td><td>" << ms(h.Percentile(90)) << "</td><td>"
    << ms(h.Percentile(95)) << "</td><td>" << ms(h.Percentile(99)) << "</td><td>"
    << ms(h.Percentile(99.9)) << "</td><td>" << ms(h.max()) << " ms</td></tr></table>\n";
  if (!r.criteria.empty()) {
    o << "<ul class=\"criteria\">\n";
    for (const auto& c : r.criteria) {
      const bool failed = c.triggered && c.criterion.fail;
      o << "<li class=\"" << (failed ? "fail" : "pass") << "\">" << (failed ? "FAIL" : "pass")
        << ": " << XmlEscape(c.criterion.text) << " (" << XmlEscape(c.message) << ")</li>\n";
    }
    o << "</ul>\n";
  }
  o << TimelineChart(r.kpi, heading + ": per second");
  o << PercentileChart(h, heading + ": latency by percentile");
  return o.str();
}

ChartLibrary VendoredChartLibrary() { return {ui::ChartJs(), ui::ChartCss()}; }

std::string HtmlPage(const std::string& title, const std::string& body, const ChartLibrary& lib) {
  const bool charts = !lib.js.empty();
  std::string page = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + XmlEscape(title) + "</title>\n<style>" + kPageCss + "</style>\n";
  if (charts) page += "<style>" + std::string(lib.css) + "</style>\n";
  page += "</head>\n<body>\n<h1>" + XmlEscape(title) + "</h1>\n";
  if (!charts) page += "<p class=\"note\">" + std::string(kNoLibraryNote) + "</p>\n";
  page += body;
  if (charts) {
    page += "<script>" + std::string(lib.js) + "</script>\n";
    page += "<script>" + std::string(kBuilderJs) + "</script>\n";
  }
  return page + "</body>\n</html>\n";
}

}  // namespace mlfaas::loadtest
