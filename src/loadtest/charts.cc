#include "loadtest/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "loadtest/report.h"

namespace mlfaas::loadtest {
namespace {

constexpr double kW = 900, kH = 380, kL = 70, kR = 70, kT = 50, kB = 50;

std::string Num(double v, const char* f = "%.1f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A 1-2-5 step giving at most ~6 ticks up to `max`, and the axis top (a multiple of it).
std::pair<double, double> NiceAxis(double max) {
  if (max <= 0) max = 1;
  const double raw = max / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  return {step, std::ceil(max / step) * step};
}

struct Frame {
  double x_max, left_max, right_max;
  double X(double v) const { return kL + (kW - kL - kR) * v / x_max; }
  double YL(double v) const { return kH - kB - (kH - kT - kB) * v / left_max; }
  double YR(double v) const { return kH - kB - (kH - kT - kB) * v / right_max; }
};

std::string Polyline(const std::vector<std::pair<double, double>>& pts, const std::string& color,
                     double width, const std::string& extra = "") {
  std::string out = "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" +
                    Num(width) + "\" " + extra + " points=\"";
  for (const auto& [x, y] : pts) out += Num(x) + "," + Num(y) + " ";
  return out + "\"/>\n";
}

std::string SvgOpen(const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(kW, "%.0f") + "\" height=\"" +
         Num(kH, "%.0f") + "\" viewBox=\"0 0 " + Num(kW, "%.0f") + " " + Num(kH, "%.0f") +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n<text x=\"" +
         Num(kW / 2) +
         "\" y=\"20\" text-anchor=\"middle\" "
         "font-size=\"15\" font-weight=\"bold\">" +
         XmlEscape(title) + "</text>\n";
}

std::string Legend(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out;
  double x = kL;
  for (const auto& [label, color] : items) {
    out += "<rect x=\"" + Num(x) + "\" y=\"30\" width=\"14\" height=\"4\" fill=\"" + color + "\"/>";
    out += "<text x=\"" + Num(x + 18) + "\" y=\"36\">" + XmlEscape(label) + "</text>\n";
    x += 28 + 7.0 * label.size();
  }
  return out;
}

std::string Axes(const Frame& f, double lstep, double rstep, double xstep, const std::string& ll,
                 const std::string& rl, const std::string& xl) {
  std::ostringstream o;
  const double x0 = kL, x1 = kW - kR, y0 = kH - kB, y1 = kT;
  for (double v = 0; v <= f.left_max + 1e-9; v += lstep) {
    o << "<line x1=\"" << x0 << "\" x2=\"" << x1 << "\" y1=\"" << Num(f.YL(v)) << "\" y2=\""
      << Num(f.YL(v)) << "\" stroke=\"#e0e0e0\"/><text x=\"" << x0 - 6 << "\" y=\""
      << Num(f.YL(v) + 4) << "\" text-anchor=\"end\">" << Num(v, lstep < 1 ? "%.2f" : "%.0f")
      << "</text>\n";
  }
  if (rstep > 0) {
    for (double v = 0; v <= f.right_max + 1e-9; v += rstep) {
      o << "<text x=\"" << x1 + 6 << "\" y=\"" << Num(f.YR(v) + 4) << "\">"
        << Num(v, rstep < 1 ? "%.2f" : "%.0f") << "</text>\n";
    }
  }
  for (double v = 0; v <= f.x_max + 1e-9 && xstep > 0; v += xstep) {
    o << "<text x=\"" << Num(f.X(v)) << "\" y=\"" << y0 + 16 << "\" text-anchor=\"middle\">"
      << Num(v, "%.0f") << "</text>\n";
  }
  o << "<rect x=\"" << x0 << "\" y=\"" << y1 << "\" width=\"" << x1 - x0 << "\" height=\""
    << y0 - y1 << "\" fill=\"none\" stroke=\"#555\"/>\n";
  o << "<text x=\"" << (x0 + x1) / 2 << "\" y=\"" << kH - 10 << "\" text-anchor=\"middle\">"
    << XmlEscape(xl) << "</text>\n";
  o << "<text transform=\"translate(18," << (y0 + y1) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << XmlEscape(ll) << "</text>\n";
  if (!rl.empty()) {
    o << "<text transform=\"translate(" << kW - 14 << "," << (y0 + y1) / 2
      << ") rotate(90)\" text-anchor=\"middle\">" << XmlEscape(rl) << "</text>\n";
  }
  return o.str();
}

}  // namespace

std::string TimelineSvg(const std::vector<KpiRow>& rows, const std::string& title) {
  double max_lat = 0, max_hits = 0, max_users = 0;
  for (const KpiRow& r : rows) {
    max_lat = std::max(max_lat, r.max_ms);
    max_hits = std::max(max_hits, static_cast<double>(r.hits));
    max_users = std::max(max_users, static_cast<double>(r.users));
  }
  // Users share the right axis while comparable with hits/s; otherwise (a fast server: hits/s
  // in the thousands) they get their own scale, up to 40 % of the height, labelled at changes.
  const bool users_own_scale = max_users * 4 < max_hits;
  const auto [lstep, ltop] = NiceAxis(max_lat);
  const auto [rstep, rtop] = NiceAxis(users_own_scale ? max_hits : std::max(max_hits, max_users));
  const auto [xstep, xtop] = NiceAxis(std::max<double>(1, static_cast<double>(rows.size())));
  const Frame f{xtop, ltop, rtop};
  const double users_scale = users_own_scale ? 0.4 * rtop / std::max(1.0, max_users) : 1.0;
  std::vector<std::pair<double, double>> hits, maxl, avgl, users;
  std::string labels;
  int last_users = -1;
  for (const KpiRow& r : rows) {
    const double x = f.X(static_cast<double>(r.second) + 0.5);
    hits.emplace_back(x, f.YR(static_cast<double>(r.hits)));
    maxl.emplace_back(x, f.YL(r.max_ms));
    avgl.emplace_back(x, f.YL(r.avg_ms));
    const double uy = f.YR(r.users * users_scale);
    users.emplace_back(f.X(static_cast<double>(r.second)), uy);
    users.emplace_back(f.X(static_cast<double>(r.second) + 1), uy);
    if (users_own_scale && r.users != last_users && r.users > 0) {
      labels += "<text x=\"" + Num(f.X(static_cast<double>(r.second)) + 2) + "\" y=\"" +
                Num(uy - 4) + "\" fill=\"#2ca02c\">" + std::to_string(r.users) + "</text>\n";
    }
    last_users = r.users;
  }
  std::string out = SvgOpen(title);
  out += Axes(f, lstep, rstep, xstep, "latency (ms)",
              users_own_scale ? "hits/s" : "hits/s, active users", "elapsed (s)");
  out += Polyline(users, "#2ca02c", 2.5);
  out += labels;
  out += Polyline(hits, "#1f77b4", 1.5);
  out += Polyline(maxl, "#d62728", 1.2);
  out += Polyline(avgl, "#ff7f0e", 1.8);
  out += Legend({{"hits/s (right)", "#1f77b4"},
                 {users_own_scale ? "active users (labelled)" : "active users (right)", "#2ca02c"},
                 {"max latency (left)", "#d62728"},
                 {"avg latency (left)", "#ff7f0e"}});
  return out + "</svg>\n";
}

std::string PercentileSvg(const Histogram& h, const std::string& title) {
  constexpr double kMaxNines = 5;  // x axis: log10(1/(1-p)) from 0 to 5 (99.999 %)
  const auto [lstep, ltop] = NiceAxis(static_cast<double>(h.max()) / 1e6);
  const Frame f{kMaxNines, ltop, 1};
  std::vector<std::pair<double, double>> pts;
  for (double n = 0; n <= kMaxNines + 1e-9; n += 0.05) {
    const double p = 100.0 * (1 - std::pow(10, -n));
    pts.emplace_back(f.X(n), f.YL(static_cast<double>(h.Percentile(p)) / 1e6));
  }
  std::string out = SvgOpen(title);
  out += Axes(f, lstep, 0, 0, "latency (ms)", "", "percentile");
  const char* labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"};
  for (int n = 0; n <= 5; ++n) {
    out += "<text x=\"" + Num(f.X(n)) + "\" y=\"" + Num(kH - kB + 16) +
           "\" text-anchor=\"middle\">" + labels[n] + "</text>\n";
  }
  out += Polyline(pts, "#1f77b4", 2);
  return out + "</svg>\n";
}

std::string BarsSvg(const std::vector<Bar>& bars, const std::string& title,
                    const std::string& unit) {
  static constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"};
  constexpr double kLabelW = 230, kBarH = 18, kGap = 6, kTop = 40, kBottom = 40;
  const double height = kTop + kBottom + static_cast<double>(bars.size()) * (kBarH + kGap);
  double max = 0;
  for (const Bar& b : bars) max = std::max(max, b.value);
  const auto [step, top] = NiceAxis(max);
  const double x0 = kLabelW, x1 = kW - 90;
  // (A copy: clang 14 cannot capture a structured binding.)
  auto X = [&, axis_top = top](double v) { return x0 + (x1 - x0) * v / axis_top; };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << kW << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
       "fill=\"white\"/>\n<text x=\""
    << kW / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
    << XmlEscape(title) << "</text>\n";
  const double y_axis = height - kBottom;
  for (double v = 0; v <= top + 1e-9; v += step) {
    o << "<line x1=\"" << Num(X(v)) << "\" x2=\"" << Num(X(v)) << "\" y1=\"" << kTop << "\" y2=\""
      << y_axis << "\" stroke=\"#e0e0e0\"/><text x=\"" << Num(X(v)) << "\" y=\"" << y_axis + 16
      << "\" text-anchor=\"middle\">" << Num(v, step < 1 ? "%.2f" : "%.0f") << "</text>\n";
  }
  o << "<text x=\"" << (x0 + x1) / 2 << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\">"
    << XmlEscape(unit) << "</text>\n";
  double y = kTop;
  for (const Bar& b : bars) {
    const char* color = kColors[static_cast<size_t>(std::abs(b.group)) % std::size(kColors)];
    o << "<text x=\"" << x0 - 6 << "\" y=\"" << Num(y + kBarH - 5) << "\" text-anchor=\"end\">"
      << XmlEscape(b.label) << "</text><rect x=\"" << x0 << "\" y=\"" << Num(y) << "\" width=\""
      << Num(std::max(0.0, X(b.value) - x0)) << "\" height=\"" << kBarH << "\" fill=\"" << color
      << "\"/><text x=\"" << Num(X(b.value) + 4) << "\" y=\"" << Num(y + kBarH - 5) << "\">"
      << XmlEscape(Num(b.value, b.value >= 100 ? "%.0f"
                                : b.value >= 1 ? "%.2f"
                                               : "%.4f"))
      << "</text>\n";
    y += kBarH + kGap;
  }
  o << "<line x1=\"" << x0 << "\" x2=\"" << x0 << "\" y1=\"" << kTop << "\" y2=\"" << y_axis
    << "\" stroke=\"#555\"/>\n";
  return o.str() + "</svg>\n";
}

std::string RunSectionHtml(const RunResult& r, const std::string& heading) {
  std::ostringstream o;
  const Histogram& h = r.total.window.latency;
  auto ms = [](int64_t ns) { return Num(static_cast<double>(ns) / 1e6, "%.2f"); };
  o << "<h2>" << XmlEscape(heading) << "</h2>\n";
  if (r.time_scale != 1) {
    o << "<p class=\"note\">Time compressed " << Num(r.time_scale, "%g")
      << "x: " << Num(r.elapsed_s) << " s real stand for "
      << Num(r.elapsed_s * r.time_scale, "%.0f") << " s of scenario time.</p>\n";
  }
  o << "<table><tr><th>requests</th><th>errors</th><th>req/s</th><th>cold starts</th><th>avg</th>"
       "<th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n<tr><td>"
    << h.count() << "</td><td>" << r.total.window.failures << "</td><td>"
    << Num(r.elapsed_s > 0 ? h.count() / r.elapsed_s : 0) << "</td><td>" << r.total.cold_starts
    << "</td><td>" << Num(h.mean() / 1e6, "%.2f") << " ms</td><td>" << ms(h.Percentile(50))
    << "</td><td>" << ms(h.Percentile(90)) << "</td><td>" << ms(h.Percentile(95)) << "</td><td>"
    << ms(h.Percentile(99)) << "</td><td>" << ms(h.Percentile(99.9)) << "</td><td>" << ms(h.max())
    << " ms</td></tr></table>\n";
  if (!r.criteria.empty()) {
    o << "<ul class=\"criteria\">\n";
    for (const auto& c : r.criteria) {
      const bool failed = c.triggered && c.criterion.fail;
      o << "<li class=\"" << (failed ? "fail" : "pass") << "\">" << (failed ? "FAIL" : "pass")
        << ": " << XmlEscape(c.criterion.text) << " (" << XmlEscape(c.message) << ")</li>\n";
    }
    o << "</ul>\n";
  }
  o << "<div class=\"chart\">" << TimelineSvg(r.kpi, heading + ": per second") << "</div>\n";
  o << "<div class=\"chart\">" << PercentileSvg(h, heading + ": latency by percentile")
    << "</div>\n";
  return o.str();
}

std::string HtmlPage(const std::string& title, const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
         "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head><meta "
         "charset=\"UTF-8\"/>"
         "<title>" +
         XmlEscape(title) +
         "</title>\n<style>body{font-family:sans-serif;margin:2em;}"
         "table{border-collapse:collapse;}td,th{border:1px solid #ccc;padding:4px "
         "8px;text-align:right;}"
         ".fail{color:#c00;}.pass{color:#070;}.note{color:#555;font-style:italic;}</style></head>\n"
         "<body>\n<h1>" +
         XmlEscape(title) + "</h1>\n" + body + "</body>\n</html>\n";
}

}  // namespace mlfaas::loadtest
