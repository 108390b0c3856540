// `mlfaas bench study --matrix` through the real binary: a quick matrix on a real private
// gateway (its own temp home, port 0), and the flag errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "common/fs.h"
#include "loadtest/report_html.h"
#include "testing/subprocess.h"
#include "testing/system_python.h"

namespace mlfaas::loadtest {
namespace {

using mlfaas::testing::RunCommand;

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string f;
  while (std::getline(in, f, ',')) out.push_back(f);
  return out;
}

TEST(MatrixCliTest, QuickMatrixMeasuresEveryCell) {
  TempDir dir;
  TempDir home;
  const auto t0 = std::chrono::steady_clock::now();
  // Two cells (each a second of load, and a Python cold start): the matrix's machinery is the
  // same for every cell; the strategies themselves are tested where they are implemented.
  auto res = RunCommand(
      {MLFAAS_BIN, "bench", "study", "--matrix", "--quick", "--memory", "256", "--runtimes",
       "builtin,python", "--strategies", "snapshot", "--report-dir", dir.path().string()},
      // Its bundle scripts run python3 from PATH: Debian's.
      mlfaas::testing::WithSystemPython({{"MLFAAS_HOME", home.path().string()}}));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err;
  std::cout << "quick matrix took " << secs << " s\n";
  for (const char* row : {"| 256 MB | built-in | snapshot |", "| 256 MB | Python | snapshot |"}) {
    EXPECT_NE(res.out.find(row), std::string::npos) << row << "\n" << res.out;
  }
  EXPECT_NE(res.err.find("[2/2] 256 MB · Python · snapshot: quick"), std::string::npos) << res.err;
  EXPECT_NE(res.out.find("Speed-up 256 -> 1769 MB"), std::string::npos) << res.out;

  // The CSV: every cell sane.
  std::stringstream csv(mlfaas::testing::Slurp((dir.path() / "matrix.csv").string()));
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  const auto header = SplitCsv(line);
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  int cells = 0;
  std::vector<double> avg_ms;
  while (std::getline(csv, line) && !line.empty()) {
    const auto f = SplitCsv(line);
    ASSERT_GE(f.size(), col("cost_source")) << line;
    ++cells;
    avg_ms.push_back(std::stod(f[col("avg_ms")]));
    EXPECT_GT(std::stod(f[col("hits_per_s")]), 0) << line;
    EXPECT_GE(std::stoi(f[col("cold_starts")]), 1) << line;
    EXPECT_GT(std::stod(f[col("cold_p50_ms")]), 0) << line;
    EXPECT_GT(std::stoi(f[col("max_memory_mb")]), 0) << line;
    EXPECT_GT(std::stod(f[col("init_p50_ms")]), 0) << line;
    EXPECT_GE(std::stod(f[col("cost_per_million_usd")]), 0.20) << line;
    EXPECT_LT(std::stod(f[col("cost_per_million_usd")]), 1.0) << line;
    EXPECT_EQ(f[col("errors")], "0") << line;
  }
  EXPECT_EQ(cells, 2);
  // Then the CPU points: slower at 256 MB than at 1769 MB.
  ASSERT_TRUE(std::getline(csv, line));
  ASSERT_TRUE(std::getline(csv, line));
  const double d256 = std::stod(SplitCsv(line).at(3));
  ASSERT_TRUE(std::getline(csv, line));
  const double d1769 = std::stod(SplitCsv(line).at(3));
  EXPECT_GT(d256, d1769) << "256 MB has 0.145 of a vCPU";
  for (const char* f : {"matrix.md", "matrix.csv", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / f)) << f;
  }
  testing::ExpectValidHtml(dir.path() / "report.html");
  const std::string html = mlfaas::testing::Slurp((dir.path() / "report.html").string());
  testing::ExpectChartPage(html);
  // Five bar charts of the cells, then the CPU one; the first is the cells' average latency.
  const auto bars = testing::ChartData(html, "bars");
  ASSERT_EQ(bars.size(), 6u);
  EXPECT_EQ(bars[0]["labels"], nlohmann::json::parse(R"(["256 MB · built-in · snapshot",
                                                         "256 MB · Python · snapshot"])"));
  EXPECT_EQ(bars[0]["groups"], nlohmann::json::parse(R"(["built-in", "Python"])"));
  ASSERT_EQ(bars[0]["values"].size(), avg_ms.size());
  for (size_t i = 0; i < avg_ms.size(); ++i) {
    EXPECT_NEAR(bars[0]["values"][i].get<double>(), avg_ms[i], 0.0005) << i;  // CSV: %.3f
  }
  EXPECT_EQ(bars[5]["labels"], nlohmann::json::parse(R"(["256 MB", "1769 MB"])"));
  EXPECT_NEAR(bars[5]["values"][0].get<double>(), d256, 0.0005);
  // And kept under the home.
  std::vector<std::filesystem::path> kept;
  for (const auto& e : std::filesystem::directory_iterator(home.path() / "reports")) {
    kept.push_back(e.path());
  }
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_TRUE(kept[0].filename().string().ends_with("Z-study-matrix")) << kept[0];
  for (const char* f : {"matrix.md", "matrix.csv", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(kept[0] / f)) << f;
  }
}

TEST(MatrixCliTest, BadFlagsExitOneWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {"--matrix", "--memory", "64"},
      {"--matrix", "--runtimes", "cobol"},
      {"--matrix", "--strategies", "eager"},
      {"--matrix", "--endpoint", "http://127.0.0.1:9/"},
      {"--matrix", "--time-scale", "0"},
      {"--matrix", "--keepalive-time-scale", "5000"},
      {"--quick"},
      {"--memory", "256"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {MLFAAS_BIN, "bench", "study"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto res = RunCommand(argv);
    EXPECT_EQ(res.exit_code, 1) << args[1] << res.out << res.err;
    EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << res.err;
  }
}

}  // namespace
}  // namespace mlfaas::loadtest
