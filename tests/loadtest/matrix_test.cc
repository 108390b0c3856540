// The pure parts of `bench study --matrix`: cells, flag lists, REPORT lines, prices, rendering.
#include "loadtest/matrix.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "loadtest/stats.h"

namespace mlfaas::loadtest {
namespace {

int Count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(MatrixTest, DefaultMatrixHasTwentyOneCellsAndSkipsJavaSnapshot) {
  const CellPlan plan = EnumerateCells(MatrixSpec{});
  EXPECT_EQ(plan.cells.size(), 24u);  // 3 sizes x (3 + 3 + 2)
  ASSERT_EQ(plan.skipped.size(), 3u);
  for (const SkippedCell& s : plan.skipped) {
    EXPECT_EQ(s.cell.runtime, MatrixRuntime::kJava);
    EXPECT_EQ(s.cell.strategy, "snapshot");
    EXPECT_NE(s.reason.find("acts as init"), std::string::npos) << s.reason;
  }
  EXPECT_EQ(plan.cells.front().FunctionName(), "m256-builtin-per-invoke");
  EXPECT_EQ(plan.cells.back().FunctionName(), "m1024-java-init");
  EXPECT_EQ(plan.cells[5].Label(), "256 MB · Python · snapshot");
  std::vector<std::string> names;
  for (const MatrixCell& c : plan.cells) names.push_back(c.FunctionName());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "names are unique";
}

TEST(MatrixTest, EnumerationFollowsTheFlagsInOrder) {
  MatrixSpec spec;
  spec.memory_mb = {512};
  spec.runtimes = {MatrixRuntime::kPython, MatrixRuntime::kJava};
  spec.strategies = {"snapshot", "lazy"};
  const CellPlan plan = EnumerateCells(spec);
  ASSERT_EQ(plan.cells.size(), 3u);
  EXPECT_EQ(plan.cells[0].FunctionName(), "m512-python-snapshot");
  EXPECT_EQ(plan.cells[1].FunctionName(), "m512-python-lazy");
  EXPECT_EQ(plan.cells[2].FunctionName(), "m512-java-lazy");
  EXPECT_EQ(plan.skipped.size(), 1u);
}

TEST(MatrixTest, ParsesFlagListsAndNamesTheBadItem) {
  EXPECT_EQ(*ParseMemoryList("256, 512,256"), (std::vector<int>{256, 512}));
  EXPECT_EQ(*ParseRuntimeList("java,builtin"),
            (std::vector<MatrixRuntime>{MatrixRuntime::kJava, MatrixRuntime::kBuiltin}));
  EXPECT_EQ(*ParseStrategyList("init,per-invoke"),
            (std::vector<std::string>{"init", "per-invoke"}));
  for (const char* bad : {"", "64", "256,", "12x", "99999"}) {
    auto r = ParseMemoryList(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--memory"), std::string::npos);
  }
  EXPECT_NE(ParseRuntimeList("python,cobol").status().message().find("'cobol'"), std::string::npos);
  EXPECT_NE(ParseStrategyList("eager").status().message().find("--strategies: 'eager'"),
            std::string::npos);
}

TEST(MatrixTest, ParsesReportLines) {
  auto cold = ParseReportLine(
      "REPORT RequestId: 6f1c\tDuration: 2.23 ms\tBilled Duration: 3 ms\tMemory Size: 512 "
      "MB\tMax Memory Used: 21 MB\tInit Duration: 4.10 ms");
  ASSERT_TRUE(cold);
  EXPECT_DOUBLE_EQ(cold->duration_ms, 2.23);
  EXPECT_EQ(cold->billed_ms, 3);
  EXPECT_EQ(cold->memory_size_mb, 512);
  EXPECT_EQ(cold->max_memory_used_mb, 21);
  ASSERT_TRUE(cold->init_ms);
  EXPECT_DOUBLE_EQ(*cold->init_ms, 4.10);
  auto warm = ParseReportLine(
      "REPORT RequestId: x\tDuration: 0.11 ms\tBilled Duration: 1 ms\tMemory Size: 256 "
      "MB\tMax Memory Used: 4 MB");
  ASSERT_TRUE(warm);
  EXPECT_FALSE(warm->init_ms);
  EXPECT_DOUBLE_EQ(warm->duration_ms, 0.11);
  EXPECT_FALSE(ParseReportLine("START RequestId: x Version: $LATEST"));
  EXPECT_FALSE(ParseReportLine("REPORT RequestId: x\tDuration: 1 ms"));
  EXPECT_FALSE(ParseReportLine(
      "REPORT RequestId: x\tDuration: fast\tBilled Duration: 1 ms\tMemory Size: 256 "
      "MB\tMax Memory Used: 4 MB"));
}

TEST(MatrixTest, CostPerMillionIsDurationTimesMemoryPlusRequests) {
  const LambdaPrices& x86 = PricesFor(Arch::kX86);
  // A million 1 ms invocations at 1024 MB: 1,000 GB-s and 1M requests.
  EXPECT_NEAR(CostPerMillion(1'000'000, 1024LL * 1'000'000, x86), 0.0166667 + 0.20, 1e-9);
  // Per million, whatever the count: 10 invocations of 100 ms at 512 MB.
  EXPECT_NEAR(CostPerMillion(10, 10 * 100 * 512, x86), 0.20 + 1e6 * 0.05 * 0.0000166667, 1e-9);
  EXPECT_EQ(CostPerMillion(0, 0, x86), 0);
}

TEST(MatrixTest, SumsAMetricOverOneFunctionsLabelSets) {
  const std::string text =
      "# TYPE mlfaas_gigabyte_seconds_total counter\n"
      "mlfaas_gigabyte_seconds_total{function=\"f\",version=\"$LATEST\"} 1.5\n"
      "mlfaas_gigabyte_seconds_total{function=\"f\",version=\"2\"} 0.5\n"
      "mlfaas_gigabyte_seconds_total{function=\"ff\",version=\"2\"} 9\n"
      "mlfaas_gigabyte_seconds_total_other{function=\"f\"} 7\n";
  EXPECT_DOUBLE_EQ(SumMetric(text, "mlfaas_gigabyte_seconds_total", "f"), 2.0);
  EXPECT_DOUBLE_EQ(SumMetric(text, "mlfaas_gigabyte_seconds_total", "g"), 0);
}

TEST(MatrixTest, SpeedupIsComparedWithCpuInProportionToMemory) {
  std::vector<CpuPoint> cpu = {{1769, 5, 100, 101, 1}, {256, 5, 650, 652, 0.1447}};
  auto s = SpeedupOf(cpu);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->from_mb, 256);
  EXPECT_EQ(s->to_mb, 1769);
  EXPECT_DOUBLE_EQ(s->measured, 6.5);
  EXPECT_NEAR(s->expected, 1769.0 / 256, 1e-9);
  EXPECT_FALSE(SpeedupOf({cpu[0]}));
}

MatrixResult SampleResult() {
  MatrixResult r;
  r.keepalive_scale = 240;
  r.concurrency_scale = 10;
  const CellPlan plan = EnumerateCells(MatrixSpec{});
  r.skipped = plan.skipped;
  for (const MatrixCell& cell : plan.cells) {
    CellResult c;
    c.cell = cell;
    c.requests = 1000;
    c.avg_ms = 2.5;
    c.max_ms = 1500;
    c.hits_per_s = 40;
    c.cold_starts = 20;
    c.cold_p50_ms = 120;
    c.cold_max_ms = 1500;
    c.init_p50_ms = 100;
    c.max_memory_mb = 31;
    c.cost_per_million = 0.2042;
    c.cost_source = cell.runtime == MatrixRuntime::kBuiltin ? "metrics" : "REPORT";
    c.keepalive = "C W W W C";
    r.cells.push_back(c);
  }
  r.cpu = {{256, 5, 690, 700, 0.1447}, {1769, 5, 100, 102, 1}};
  return r;
}

TEST(MatrixTest, MarkdownHasEveryCellTheStudyTheSkippedAndTheCpuSection) {
  const std::string md = MatrixMarkdown(SampleResult());
  EXPECT_EQ(Count(md, "\n| 256 MB |"), 8 + 1);  // and the CPU row
  EXPECT_EQ(Count(md, "\n| 1024 MB | Java | init |"), 1);
  EXPECT_NE(md.find("| 256 MB | Python | init | 2.50 ms | 1.50 s | 40.0 | 20 | 120 ms | 1.50 s | "
                    "100 ms | 31 MB | $0.2042 | 0 | C W W W C | mean 33.4 hits/s"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("$0.2042* |"), std::string::npos) << "metrics-priced cells are marked";
  EXPECT_NE(md.find("time compressed 240x"), std::string::npos);
  EXPECT_EQ(Count(md, "- 256 MB · Java · snapshot: "), 1);
  EXPECT_NE(md.find("Speed-up 256 -> 1769 MB: 6.90x (CPU in proportion to memory: 6.91x)"),
            std::string::npos)
      << md;
  // Every table row has as many cells as the header.
  const int header_bars = Count(md.substr(0, md.find('\n', md.find("| memory"))), "|");
  size_t at = md.find("\n| 256 MB");
  EXPECT_EQ(Count(md.substr(at + 1, md.find('\n', at + 1) - at - 1), "|"), header_bars);
}

TEST(MatrixTest, CsvHasOneLinePerCellThenTheCpuPoints) {
  const std::string csv = MatrixCsv(SampleResult());
  EXPECT_EQ(csv.rfind("memory_mb,runtime,strategy,", 0), 0u);
  EXPECT_EQ(Count(csv, "\n256,python,"), 3);
  EXPECT_NE(csv.find("\n1769,1.0000,5,100.000,102.000\n"), std::string::npos) << csv;
  EXPECT_EQ(Count(csv, "\n"), 1 + 24 + 1 + 1 + 2);
}

TEST(MatrixTest, HtmlHoldsTheTableAndTheCharts) {
  const std::string html = MatrixHtml(SampleResult());
  EXPECT_NE(html.find("<th>cold p50</th>"), std::string::npos);
  // Five bar charts per cell and the CPU one (their data: report_test.cc, matrix_cli_test.cc).
  EXPECT_EQ(Count(html, "\"kind\":\"bars\""), 6);
  EXPECT_NE(html.find("512 MB · Python · snapshot"), std::string::npos);
}

TEST(StatsTest, ColdStartsHaveTheirOwnLatencyHistogram) {
  SecondStats s;
  s.Add({.latency_ns = 1'000'000});
  s.Add({.latency_ns = 300'000'000, .cold_start = true});
  SecondStats t;
  t.Add({.latency_ns = 500'000'000, .cold_start = true});
  s.Merge(t);
  EXPECT_EQ(s.cold_starts, 2);
  EXPECT_EQ(s.cold_latency.count(), 2);
  EXPECT_EQ(s.cold_latency.max(), 500'000'000);
  EXPECT_EQ(s.window.latency.count(), 3);
}

}  // namespace
}  // namespace mlfaas::loadtest
