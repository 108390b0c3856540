#include "loadtest/report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/fs.h"
#include "loadtest/charts.h"
#include "loadtest/plan_parser.h"
#include "loadtest/report_html.h"
#include "loadtest/runner.h"
#include "loadtest/test_http_server.h"
#include "testing/subprocess.h"

namespace mlfaas::loadtest {
namespace {

using mlfaas::testing::RunCommand;
using mlfaas::testing::Slurp;
using testing::ChartData;
using testing::CountOf;
using testing::ExpectChartPage;
using testing::ExpectValidHtml;

// A result as a 3-second run with 2 users would produce.
RunResult FakeResult() {
  RunResult r;
  r.plan_name = "fake <&> plan";
  r.elapsed_s = 3;
  r.time_scale = 60;
  for (int sec = 0; sec < 3; ++sec) {
    SecondStats s;
    for (int i = 0; i < 40; ++i) {
      Sample smp;
      smp.done_ns = sec * 1'000'000'000LL + i;
      smp.latency_ns = (1 + i) * 1'000'000LL;
      smp.status = i == 0 ? 500 : 200;
      smp.error = i == 0 ? ErrorKind::kHttp : ErrorKind::kNone;
      smp.cold_start = sec == 0 && i == 1;
      s.Add(smp);
      r.samples.push_back(smp);
    }
    r.kpi.push_back(MakeKpiRow(sec, sec + 1, s));
    r.total.Merge(s);
  }
  CriteriaEvaluator ev(
      {*ParseCriterion("avg-rt>1ms, continue as failed"), *ParseCriterion("fail>50%")});
  ev.Finish(r.total.window);
  r.criteria = ev.results();
  r.failed = ev.Failed();
  return r;
}

void ExpectWellFormedXml(const std::string& path) {
  auto res = RunCommand({"xmllint", "--noout", path});
  EXPECT_EQ(res.exit_code, 0) << path << ": " << res.err;
}

// The timeline's data is the KPI rows, the percentile chart's the histogram's percentiles.
void ExpectChartsHoldTheRun(const std::string& html, const RunResult& r) {
  const auto timeline = ChartData(html, "timeline");
  ASSERT_EQ(timeline.size(), 1u);
  const nlohmann::json& t = timeline[0];
  ASSERT_EQ(t.at("hits").size(), r.kpi.size());
  for (size_t i = 0; i < r.kpi.size(); ++i) {
    EXPECT_EQ(t["second"][i].get<int64_t>(), r.kpi[i].second);
    EXPECT_EQ(t["hits"][i].get<int64_t>(), r.kpi[i].hits);
    EXPECT_EQ(t["users"][i].get<int>(), r.kpi[i].users);
    EXPECT_DOUBLE_EQ(t["avg_ms"][i].get<double>(), r.kpi[i].avg_ms);
    EXPECT_DOUBLE_EQ(t["max_ms"][i].get<double>(), r.kpi[i].max_ms);
  }
  const auto pct = ChartData(html, "percentile");
  ASSERT_EQ(pct.size(), 1u);
  const nlohmann::json& p = pct[0];
  ASSERT_EQ(p.at("nines").size(), 101u);
  ASSERT_EQ(p.at("ms").size(), 101u);
  EXPECT_EQ(p["nines"][0].get<double>(), 0);
  EXPECT_EQ(p["nines"][100].get<double>(), 5);
  const Histogram& h = r.total.window.latency;
  for (size_t i = 0; i < 101; ++i) {
    const double n = p["nines"][i].get<double>();
    EXPECT_DOUBLE_EQ(p["ms"][i].get<double>(),
                     static_cast<double>(h.Percentile(100 * (1 - std::pow(10, -n)))) / 1e6)
        << n;
  }
}

TEST(ReportTest, WritesAllFilesAndAValidPage) {
  TempDir dir;
  const RunResult r = FakeResult();
  ASSERT_TRUE(WriteReportDir(dir.path(), r, "test <report>").ok());
  const std::string kpi = Slurp(dir.path() / "kpi.csv");
  EXPECT_EQ(kpi.substr(0, kpi.find('\n')),
            "time_s,users,hits,avg_ms,max_ms,p50_ms,p99_ms,errors,cold_starts");
  EXPECT_NE(kpi.find("\n0,1,40,20.500,40.000,"), std::string::npos) << kpi;
  EXPECT_NE(
      Slurp(dir.path() / "samples.csv").find("done_ms,latency_ms,status,error,cold_start,user"),
      std::string::npos);

  const std::string junit = Slurp(dir.path() / "junit.xml");
  EXPECT_NE(junit.find("tests=\"2\" failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"triggered"), std::string::npos);
  ExpectWellFormedXml(dir.path() / "junit.xml");
  ExpectValidHtml(dir.path() / "report.html");

  const std::string html = Slurp(dir.path() / "report.html");
  ExpectChartPage(html);
  EXPECT_NE(html.find("Time compressed 60x"), std::string::npos);
  EXPECT_NE(html.find("<title>test &lt;report&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>test &lt;report&gt;</h1>"), std::string::npos);
  EXPECT_EQ(html.find("<h2>test &lt;report&gt;</h2>"), std::string::npos);  // said once
  EXPECT_NE(html.find("<li class=\"fail\">FAIL: avg-rt&gt;1ms"), std::string::npos);
  EXPECT_NE(html.find("<th>p99.9</th>"), std::string::npos);
  ExpectChartsHoldTheRun(html, r);
  const auto timeline = ChartData(html, "timeline");
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0]["title"], "test <report>: per second");
}

TEST(ReportTest, EmptyRunGivesEmptySeries) {
  const std::string html = HtmlPage("empty", TimelineChart({}, "empty"));
  const auto t = ChartData(html, "timeline");
  ASSERT_EQ(t.size(), 1u);
  for (const char* key : {"second", "hits", "max_ms", "avg_ms", "users"}) {
    EXPECT_EQ(t[0].at(key), nlohmann::json::array()) << key;
  }
  const auto p = ChartData(PercentileChart(Histogram(), "none"), "percentile");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0]["ms"][100], 0);
}

// A name that holds "</script>" (or its look-alikes) cannot end a data block: the page keeps one
// </script> per <script>, and the name comes back intact from the JSON.
TEST(ReportTest, ScriptEndTagInANameCannotBreakOutOfTheDataBlock) {
  const std::string evil = "</script><script>alert(1)</script></SCRIPT ><!-- & \"x\"";
  RunResult r = FakeResult();
  const std::string body =
      RunSectionHtml(r, evil) + BarsChart({{evil, 1.5, evil}, {"ok", 2, "g"}}, evil, evil);
  TempDir dir;
  const std::string html = HtmlPage(evil, body);
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "report.html", html).ok());
  ExpectValidHtml(dir.path() / "report.html");
  ExpectChartPage(html);
  const int library_scripts = ui::ChartLibraryVendored() ? 2 : 0;
  EXPECT_EQ(CountOf(html, "<script"), library_scripts + 3);
  EXPECT_EQ(CountOf(html, "</script>"), library_scripts + 3);
  EXPECT_EQ(CountOf(html, "</SCRIPT"), 0);
  EXPECT_EQ(CountOf(html, "<!--"), 0);
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  const std::string& decoded = evil;
  const auto data = ChartData(html);
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(data[0]["title"], decoded + ": per second");
  EXPECT_EQ(data[2]["title"], decoded);
  EXPECT_EQ(data[2]["unit"], decoded);
  EXPECT_EQ(data[2]["labels"][0], decoded);
  EXPECT_EQ(data[2]["groups"][0], decoded);
  EXPECT_EQ(data[2]["values"], nlohmann::json::parse("[1.5, 2]"));
}

TEST(ReportTest, InvalidUtf8InChartDataIsReplaced) {
  const auto data = ChartData(BarsChart({{"a\xff", 1, "g"}}, "t\xc3", "u"));
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0]["labels"][0], "a\uFFFD");
  EXPECT_EQ(data[0]["title"], "t\uFFFD");
}

TEST(ReportTest, PageWithoutTheChartLibrarySaysSo) {
  const std::string html = HtmlPage("t", RunSectionHtml(FakeResult(), "run"), ChartLibrary{});
  EXPECT_NE(html.find("<p class=\"note\">charts unavailable: the chart library was not vendored "
                      "(scripts/vendor_ui.sh)</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<th>requests</th>"), std::string::npos);
  EXPECT_EQ(CountOf(html, "<script>"), 0);  // neither the library nor the builder
  EXPECT_EQ(CountOf(html, "uPlot"), 0);
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "report.html", html).ok());
  ExpectValidHtml(dir.path() / "report.html");
}

TEST(ReportTest, PageInlinesAGivenLibraryOnce) {
  const ChartLibrary lib{"var uPlot = 'LIBRARY';", ".uplot{LIBRARY-CSS}"};
  const std::string html = HtmlPage(
      "t", TimelineChart({}, "a") + PercentileChart(Histogram(), "b") + BarsChart({}, "c", "d"),
      lib);
  EXPECT_EQ(CountOf(html, "<script>var uPlot = 'LIBRARY';</script>"), 1);
  EXPECT_EQ(CountOf(html, "<style>.uplot{LIBRARY-CSS}</style>"), 1);
  EXPECT_EQ(ChartData(html).size(), 3u);
  EXPECT_EQ(html.find("charts unavailable"), std::string::npos);
}

// The vendored library is inlined as it is: it must not hold what would end its element.
TEST(ReportTest, VendoredLibraryIsSafeToInline) {
  if (!ui::ChartLibraryVendored()) GTEST_SKIP() << "no vendored chart library";
  std::string js(ui::ChartJs()), css(ui::ChartCss());
  for (std::string* s : {&js, &css}) {
    std::transform(s->begin(), s->end(), s->begin(),
                   [](unsigned char c) { return std::tolower(c); });
  }
  EXPECT_EQ(js.find("</script"), std::string::npos);
  EXPECT_EQ(js.find("<!--"), std::string::npos);
  EXPECT_EQ(css.find("</style"), std::string::npos);
  EXPECT_NE(js.find("v1.6.32"), std::string::npos);
}

TEST(ReportTest, HomeReportIdIsAStampAndASafeName) {
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1795797000));
  EXPECT_EQ(HomeReportId(when, "study"), "20261127T163000Z-study");
  EXPECT_EQ(HomeReportId(when, "my scenario.v2/../x"), "20261127T163000Z-my_scenario_v2____x");
  EXPECT_EQ(HomeReportId(when, ""), "20261127T163000Z-report");
  EXPECT_EQ(HomeReportId(when, std::string(100, 'a')), "20261127T163000Z-" + std::string(64, 'a'));
}

TEST(ReportTest, KeepReportInHomePrunesToTheNewest) {
  TempDir home;
  const auto reports = home.path() / "reports";
  for (int i = 0; i < 105; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "20200101T%06dZ-old", i);
    std::filesystem::create_directories(reports / name);
  }
  std::filesystem::create_directories(reports / "not-a-report");
  ASSERT_TRUE(WriteFileAtomic(reports / "20200101T000000Z-file", "").ok());
  auto write = [](const std::filesystem::path& dir) {
    return WriteFileAtomic(dir / "report.html", "x");
  };
  auto a = KeepReportInHome(home.path(), "same name", write);
  auto b = KeepReportInHome(home.path(), "same name", write);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(*a, *b);  // the second in the same second gets "-2"
  EXPECT_TRUE(std::filesystem::exists(*a / "report.html"));
  EXPECT_TRUE(std::filesystem::exists(*b / "report.html"));
  int dirs = 0;
  for (const auto& e : std::filesystem::directory_iterator(reports)) dirs += e.is_directory();
  EXPECT_EQ(dirs, 100 + 1);  // the newest 100 reports, and the directory that is not one
  EXPECT_TRUE(std::filesystem::exists(reports / "not-a-report"));
  EXPECT_TRUE(std::filesystem::exists(reports / "20200101T000000Z-file"));
  EXPECT_FALSE(std::filesystem::exists(reports / "20200101T000006Z-old"));
  EXPECT_TRUE(std::filesystem::exists(reports / "20200101T000007Z-old"));

  auto failed = KeepReportInHome(home.path(), "broken", [](const std::filesystem::path& dir) {
    (void)WriteFileAtomic(dir / "partial", "");
    return InvalidArgument("disk full");
  });
  EXPECT_EQ(failed.status().message(), "disk full");
  for (const auto& e : std::filesystem::directory_iterator(reports)) {
    EXPECT_EQ(e.path().filename().string().find("broken"), std::string::npos);
  }
}

TEST(ReportTest, SummaryListsCountsPercentilesAndCriteria) {
  const std::string s = FormatSummary(FakeResult());
  EXPECT_NE(s.find("requests    120"), std::string::npos) << s;
  EXPECT_NE(s.find("http=3"), std::string::npos);
  EXPECT_NE(s.find("200=117 500=3"), std::string::npos);
  EXPECT_NE(s.find("cold starts 1"), std::string::npos);
  EXPECT_NE(s.find("p99.9"), std::string::npos);
  EXPECT_NE(s.find("[FAIL] avg-rt>1ms"), std::string::npos);
  EXPECT_NE(s.find("[pass] fail>50%"), std::string::npos);
  EXPECT_NE(s.find("time compressed 60x"), std::string::npos);
}

TEST(ReportTest, RealRunProducesAValidReport) {
  mlfaas::testing::TestHttpServer server;
  auto plan = ParsePlanText(
      "execution: [{scenario: s, concurrency: 2, ramp-up: 1s, hold-for: 1s}]\n"
      "scenarios: {s: {requests: [" +
          server.url() + "]}}\n",
      "e2e.yaml", ".");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  RunOptions o;
  o.time_scale = 2;
  auto r = RunPlan(*plan, o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->total.window.hits, 0);
  EXPECT_GE(r->kpi.size(), 1u);
  TempDir dir;
  ASSERT_TRUE(WriteReportDir(dir.path(), *r, "e2e").ok());
  ExpectValidHtml(dir.path() / "report.html");
  const std::string html = Slurp(dir.path() / "report.html");
  ExpectChartPage(html);
  ExpectChartsHoldTheRun(html, *r);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "samples.csv"));
}

}  // namespace
}  // namespace mlfaas::loadtest
