// `mlfaas bench` through the real binary: exit codes, errors, report files.
#include <gtest/gtest.h>

#include "common/fs.h"
#include "loadtest/test_http_server.h"
#include "testing/subprocess.h"

namespace mlfaas::loadtest {
namespace {

using mlfaas::testing::RunCommand;
using mlfaas::testing::TestHttpServer;

const std::string kScenarioDir = std::string(MLFAAS_SOURCE_DIR) + "/bench/scenarios/";

TEST(BenchCliTest, RunsAScenarioAndWritesTheReport) {
  TestHttpServer server;
  TempDir dir;
  auto res = RunCommand({MLFAAS_BIN, "bench", "run", kScenarioDir + "concurrency.yaml", "-o",
                         "scenarios.predict.requests.0.url=" + server.url(), "--time-scale", "600",
                         "--report-dir", (dir.path() / "r").string(), "--samples"});
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("time compressed 600x"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("[pass] avg-rt>200ms"), std::string::npos) << res.out;
  for (const char* f : {"kpi.csv", "samples.csv", "junit.xml", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "r" / f)) << f;
  }
  EXPECT_GT(server.requests(), 0);
}

TEST(BenchCliTest, FailedCriterionExitsOne) {
  TestHttpServer server;
  auto res = RunCommand({MLFAAS_BIN, "bench", "run", kScenarioDir + "keepalive.yaml", "-o",
                         "scenarios.predict.requests.0.url=" + server.url(), "-o",
                         "reporting.0.criteria=[\"hits<100, continue as failed\"]", "--time-scale",
                         "6000"});
  EXPECT_EQ(res.exit_code, 1) << res.out << res.err;
  EXPECT_NE(res.out.find("[FAIL] hits<100"), std::string::npos) << res.out;
  EXPECT_NE(res.err.find("criteria failed"), std::string::npos) << res.err;
  EXPECT_EQ(server.requests(), 5);
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
  auto res = RunCommand({MLFAAS_BIN, "bench", "study", "--endpoint", server.url(), "--time-scale",
                         "3000", "--report-dir", dir.path().string()});
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("mlfaas vs the reference study"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("peak hits/s: study 77"), std::string::npos) << res.out;
  const std::string html = mlfaas::testing::Slurp(dir.path() / "report.html");
  EXPECT_NE(html.find("compressed 3000x"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "keepalive" / "kpi.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "concurrency" / "junit.xml"));
  EXPECT_EQ(RunCommand({"xmllint", "--noout", (dir.path() / "report.html").string()}).exit_code, 0);
}

}  // namespace
}  // namespace mlfaas::loadtest
