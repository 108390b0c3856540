#include "loadtest/report.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "loadtest/charts.h"
#include "loadtest/plan_parser.h"
#include "loadtest/runner.h"
#include "loadtest/test_http_server.h"
#include "testing/subprocess.h"

namespace mlfaas::loadtest {
namespace {

using mlfaas::testing::RunCommand;
using mlfaas::testing::Slurp;

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

TEST(ReportTest, WritesAllFilesAndValidXml) {
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
  ExpectWellFormedXml(dir.path() / "report.html");

  const std::string html = Slurp(dir.path() / "report.html");
  EXPECT_NE(html.find("Time compressed 60x"), std::string::npos);
  EXPECT_NE(html.find("test &lt;report&gt;"), std::string::npos);
  EXPECT_NE(html.find("hits/s (right)"), std::string::npos);
  EXPECT_NE(html.find("99.99%"), std::string::npos);
}

TEST(ReportTest, SvgChartsAreValidStandaloneDocuments) {
  TempDir dir;
  const RunResult r = FakeResult();
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "t.svg", TimelineSvg(r.kpi, "timeline & users")).ok());
  ASSERT_TRUE(
      WriteFileAtomic(dir.path() / "p.svg", PercentileSvg(r.total.window.latency, "pct")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "empty.svg", TimelineSvg({}, "empty")).ok());
  for (const char* f : {"t.svg", "p.svg", "empty.svg"}) ExpectWellFormedXml(dir.path() / f);
  EXPECT_EQ(TimelineSvg(r.kpi, "x").find("nan"), std::string::npos);
  EXPECT_EQ(TimelineSvg({}, "x").find("nan"), std::string::npos);
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
  ExpectWellFormedXml(dir.path() / "report.html");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "samples.csv"));
}

}  // namespace
}  // namespace mlfaas::loadtest
