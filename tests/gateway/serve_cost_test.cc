// Metered usage as `mlfaas cost` reports it, against a real `mlfaas serve`: over the same
// invocations, the REPORT lines of the function log, /metrics and `mlfaas cost --json` agree
// (integer MB-ms), and the usage survives a clean stop and a restart.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/serve_fixture.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kMemoryMb = 256;

struct ReportSums {
  int64_t count = 0;
  int64_t mb_ms = 0;  // sum of Memory Size x Billed Duration
};

class ServeCostTest : public ServeFixture {
 protected:
  // The REPORT lines of `fn`'s log files (JSON lines with a "text" field).
  ReportSums Reports(const std::string& fn) {
    ReportSums s;
    const std::regex re(R"(Billed Duration: (\d+) ms\tMemory Size: (\d+) MB)");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Home() / "logs" / fn, ec)) {
      if (e.path().extension() != ".log") continue;
      std::istringstream in(Slurp(e.path().string()));
      for (std::string line; std::getline(in, line);) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) continue;
        const std::string text = j["text"].get<std::string>();
        if (!text.starts_with("REPORT ")) continue;
        std::smatch m;
        if (!std::regex_search(text, m, re)) {
          ADD_FAILURE() << "REPORT line without billed duration: " << text;
          continue;
        }
        ++s.count;
        s.mb_ms += std::stoll(m[1]) * std::stoll(m[2]);
      }
    }
    return s;
  }

  // The value of the /metrics sample `series` (name and labels as printed), -1 if absent.
  static double Sample(const std::string& metrics, const std::string& series) {
    std::istringstream in(metrics);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
  }

  json CostJson(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"cost", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Mlfaas(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // Invokes `n` times (sleeping 1..n*7 ms) and returns what /metrics says then:
  // {success invocations, GB-seconds} for echo:$LATEST.
  std::pair<double, double> InvokeAndScrape(uint16_t port, int n) {
    HttpClient http(port);
    for (int i = 1; i <= n; ++i) {
      auto r = http.Post(InvokePath("echo"), json{{"ms", i * 7}}.dump());
      EXPECT_EQ(r.status, 200) << r.body;
    }
    const std::string m = http.Get("/metrics").body;
    const std::string labels = R"({function="echo",version="$LATEST")";
    return {Sample(m, "mlfaas_invocations_total" + labels + R"(,outcome="success"})"),
            Sample(m, "mlfaas_gigabyte_seconds_total" + labels + "}")};
  }
};

TEST_F(ServeCostTest, ReportLinesMetricsAndCostAgreeAcrossARestart) {
  Create("echo", PyRuntime("    import time\n    time.sleep(ev['ms'] / 1000)\n    return ev"),
         kMemoryMb);

  // First run: 3 invocations, then a clean stop.
  uint16_t port = Serve();
  ASSERT_NE(port, 0);
  auto [count1, gbs1] = InvokeAndScrape(port, 3);
  ASSERT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(30)), 0);
  const ReportSums r1 = Reports("echo");
  ASSERT_EQ(r1.count, 3);
  EXPECT_EQ(r1.mb_ms % kMemoryMb, 0);
  EXPECT_EQ(count1, 3);
  EXPECT_NEAR(gbs1, r1.mb_ms / 1024.0 / 1000.0, 1e-6);  // /metrics prints 6 decimals

  json c1 = CostJson({"echo"});
  ASSERT_TRUE(c1.is_object());
  EXPECT_EQ(c1["total"]["requests"], 3);
  EXPECT_EQ(c1["total"]["duration_mb_ms"], r1.mb_ms);
  ASSERT_EQ(c1["versions"].size(), 1u);
  EXPECT_EQ(c1["versions"][0]["function"], "echo");
  EXPECT_EQ(c1["versions"][0]["version"], "$LATEST");

  // Second run on the same home: /metrics starts over, the stored usage does not.
  port = Serve();
  ASSERT_NE(port, 0);
  auto [count2, gbs2] = InvokeAndScrape(port, 2);
  EXPECT_EQ(count2, 2);
  // Flushed by the maintenance thread while serving (every tick), not only at the stop.
  bool flushed = false;
  for (int i = 0; i < 200 && !flushed; ++i) {
    json c = CostJson({"echo"});
    flushed = c.is_object() && c["total"]["requests"] == 5;
    if (!flushed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(flushed);
  ASSERT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(30)), 0);
  const ReportSums all = Reports("echo");
  ASSERT_EQ(all.count, 5);
  EXPECT_NEAR(gbs2, (all.mb_ms - r1.mb_ms) / 1024.0 / 1000.0, 1e-6);

  json c2 = CostJson();
  ASSERT_TRUE(c2.is_object());
  EXPECT_EQ(c2["arch"], "x86");
  EXPECT_EQ(c2["total"]["requests"], all.count);
  EXPECT_EQ(c2["total"]["duration_mb_ms"], all.mb_ms);
  EXPECT_EQ(c2["total"]["provisioned_mb_ms"], 0);
  EXPECT_EQ(c2["total"]["snapshot_mb_ms"], 0);
  EXPECT_DOUBLE_EQ(c2["total"]["gb_seconds"].get<double>(), all.mb_ms / 1024.0 / 1000.0);
  EXPECT_DOUBLE_EQ(c2["total"]["usd"]["total"].get<double>(),
                   all.count * 0.20 / 1e6 + all.mb_ms / 1024.0 / 1000.0 * 0.0000166667);
  json arm = CostJson({"--arch", "arm", "--since", "1h"});
  ASSERT_TRUE(arm.is_object());
  EXPECT_EQ(arm["total"]["duration_mb_ms"], all.mb_ms);
  EXPECT_DOUBLE_EQ(arm["total"]["usd"]["duration"].get<double>(),
                   all.mb_ms / 1024.0 / 1000.0 * 0.0000133334);

  // The table form ends with the total.
  auto text = Mlfaas({"cost"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("echo"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\ntotal "), std::string::npos) << text.out;
}

TEST_F(ServeCostTest, BadInputIsOneLineOnStderr) {
  Create("echo", PyRuntime("    return ev"), kMemoryMb);
  auto none = CostJson({"echo"});  // an existing function without usage costs nothing
  ASSERT_TRUE(none.is_object());
  EXPECT_EQ(none["total"]["requests"], 0);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"cost", "nosuch"}, {"cost", "--since", "yesterday"}, {"cost", "--arch", "mips"}}) {
    auto r = Mlfaas(args);
    EXPECT_EQ(r.exit_code, 1) << args.back();
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("mlfaas: ")) << r.err;
  }
}

}  // namespace
}  // namespace mlfaas::testing
