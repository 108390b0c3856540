// `mlfaas bench` through the real binary: exit codes, errors, report files.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "common/fs.h"
#include "loadtest/report_html.h"
#include "loadtest/test_http_server.h"
#include "testing/subprocess.h"

namespace mlfaas::loadtest {
namespace {

using mlfaas::testing::RunCommand;
using mlfaas::testing::Slurp;
using mlfaas::testing::TestHttpServer;
using testing::ChartData;

const std::string kScenarioDir = std::string(MLFAAS_SOURCE_DIR) + "/bench/scenarios/";

// The report directories under <home>/reports, by name.
std::vector<std::filesystem::path> HomeReports(const std::filesystem::path& home) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(home / "reports", ec)) {
    if (e.is_directory()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The hits column of a kpi.csv.
std::vector<int64_t> KpiHits(const std::filesystem::path& csv) {
  std::istringstream in(Slurp(csv));
  std::string line;
  std::getline(in, line);  // header: time_s,users,hits,...
  std::vector<int64_t> hits;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f;
    for (int i = 0; i < 3; ++i) std::getline(fields, f, ',');
    hits.push_back(std::stoll(f));
  }
  return hits;
}

// The page's timeline charts' hits, one vector per chart.
std::vector<std::vector<int64_t>> TimelineHits(const std::string& html) {
  std::vector<std::vector<int64_t>> out;
  for (const nlohmann::json& t : ChartData(html, "timeline")) {
    out.push_back(t.at("hits").get<std::vector<int64_t>>());
  }
  return out;
}

TEST(BenchCliTest, RunsAScenarioAndWritesTheReport) {
  TestHttpServer server;
  TempDir dir;
  TempDir home;
  auto res = RunCommand({MLFAAS_BIN, "bench", "run", kScenarioDir + "concurrency.yaml", "-o",
                         "scenarios.predict.requests.0.url=" + server.url(), "--time-scale", "600",
                         "--report-dir", (dir.path() / "r").string(), "--samples"},
                        {{"MLFAAS_HOME", home.path().string()}});
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("time compressed 600x"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("[pass] avg-rt>200ms"), std::string::npos) << res.out;
  for (const char* f : {"kpi.csv", "samples.csv", "junit.xml", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "r" / f)) << f;
  }
  EXPECT_NE(res.out.find("report: " + (dir.path() / "r" / "report.html").string() + "\n"),
            std::string::npos)
      << res.out;
  EXPECT_GT(server.requests(), 0);

  const std::filesystem::path page = dir.path() / "r" / "report.html";
  testing::ExpectValidHtml(page);
  const std::string html = Slurp(page);
  testing::ExpectChartPage(html);
  const auto hits = TimelineHits(html);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], KpiHits(dir.path() / "r" / "kpi.csv"));
  EXPECT_FALSE(hits[0].empty());
  EXPECT_EQ(ChartData(html, "percentile").size(), 1u);
  // The same report is kept under the home.
  const auto kept = HomeReports(home.path());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(Slurp(kept[0] / "kpi.csv"), Slurp(dir.path() / "r" / "kpi.csv"));
}

TEST(BenchCliTest, EveryRunLeavesOneReportInTheHome) {
  TestHttpServer server;
  TempDir home;
  auto res = RunCommand({MLFAAS_BIN, "bench", "run", kScenarioDir + "concurrency.yaml", "-o",
                         "scenarios.predict.requests.0.url=" + server.url(), "--time-scale", "600"},
                        {{"MLFAAS_HOME", home.path().string()}});
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err;
  int pages = 0;
  for (const auto& dir : HomeReports(home.path()))
    pages += std::filesystem::exists(dir / "report.html");
  EXPECT_EQ(pages, 1);
  const auto kept = HomeReports(home.path());
  ASSERT_EQ(kept.size(), 1u);
  const std::string id = kept[0].filename().string();
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9]{8}T[0-9]{6}Z-concurrency"))) << id;
  EXPECT_NE(res.out.find("report: " + (kept[0] / "report.html").string() + "\n"), std::string::npos)
      << res.out;
  for (const char* f : {"kpi.csv", "junit.xml"}) {
    EXPECT_TRUE(std::filesystem::exists(kept[0] / f)) << f;
  }
  EXPECT_FALSE(std::filesystem::exists(kept[0] / "samples.csv"));
  const std::string html = Slurp(kept[0] / "report.html");
  testing::ExpectChartPage(html);
  const auto hits = TimelineHits(html);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], KpiHits(kept[0] / "kpi.csv"));
}

TEST(BenchCliTest, FailedCriterionExitsOne) {
  TestHttpServer server;
  TempDir home;
  auto res = RunCommand(
      {MLFAAS_BIN, "bench", "run", kScenarioDir + "keepalive.yaml", "-o",
       "scenarios.predict.requests.0.url=" + server.url(), "-o",
       "reporting.0.criteria=[\"hits<100, continue as failed\"]", "--time-scale", "6000"},
      {{"MLFAAS_HOME", home.path().string()}});
  EXPECT_EQ(res.exit_code, 1) << res.out << res.err;
  EXPECT_NE(res.out.find("[FAIL] hits<100"), std::string::npos) << res.out;
  EXPECT_NE(res.err.find("criteria failed"), std::string::npos) << res.err;
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(HomeReports(home.path()).size(), 1u) << "a failed run's report is kept too";
}

TEST(BenchCliTest, BadScenarioFileExitsOneWithPosition) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "bad.yaml",
                              "execution:\n- concurrency: 0\n  hold-for: 1s\n  scenario: s\n")
                  .ok());
  auto res = RunCommand({MLFAAS_BIN, "bench", "run", (dir.path() / "bad.yaml").string()});
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_NE(res.err.find("bad.yaml:"), std::string::npos) << res.err;
  EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << res.err;

  res = RunCommand({MLFAAS_BIN, "bench", "run", (dir.path() / "missing.yaml").string()});
  EXPECT_EQ(res.exit_code, 1);
  res = RunCommand({MLFAAS_BIN, "bench", "run", kScenarioDir + "keepalive.yaml", "-o", "oops"});
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_NE(res.err.find("expected key=value"), std::string::npos) << res.err;
}

TEST(BenchCliTest, StudyAgainstAnEndpointWritesTheComparison) {
  TestHttpServer server;
  TempDir dir;
  TempDir home;
  auto res = RunCommand({MLFAAS_BIN, "bench", "study", "--endpoint", server.url(), "--time-scale",
                         "3000", "--report-dir", dir.path().string()},
                        {{"MLFAAS_HOME", home.path().string()}});
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("mlfaas vs the reference study"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("peak hits/s: study 77"), std::string::npos) << res.out;
  const std::string html = Slurp(dir.path() / "report.html");
  EXPECT_NE(html.find("compressed 3000x"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "keepalive" / "kpi.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "concurrency" / "junit.xml"));
  testing::ExpectValidHtml(dir.path() / "report.html");
  testing::ExpectChartPage(html);
  // Concurrency first, then keep-alive; each with its percentile chart.
  const auto hits = TimelineHits(html);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], KpiHits(dir.path() / "concurrency" / "kpi.csv"));
  EXPECT_EQ(hits[1], KpiHits(dir.path() / "keepalive" / "kpi.csv"));
  EXPECT_EQ(ChartData(html, "percentile").size(), 2u);
  const auto kept = HomeReports(home.path());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_TRUE(kept[0].filename().string().ends_with("Z-study")) << kept[0];
  EXPECT_TRUE(std::filesystem::exists(kept[0] / "report.html"));
  EXPECT_TRUE(std::filesystem::exists(kept[0] / "keepalive" / "kpi.csv"));
  EXPECT_TRUE(std::filesystem::exists(kept[0] / "concurrency" / "junit.xml"));
}

}  // namespace
}  // namespace mlfaas::loadtest
