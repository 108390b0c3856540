// Metered usage as `mlfaas cost` reports it, against a real `mlfaas serve`: over the same
// invocations, the REPORT lines of the function log, /metrics, GET /v1/cost (right after the
// invocations, before any tick), `mlfaas --remote URL cost` and `mlfaas cost --json` agree
// (integer MB-ms), and the usage survives a clean stop and a restart.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "gateway/serve_fixture.h"
#include "registry/usage_store.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace http = boost::beast::http;

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

  // `mlfaas --home <elsewhere> --remote URL cost ARGS...`, signed with `key` when given.
  CommandResult RemoteCost(const std::string& url, std::vector<std::string> args,
                           const Creds* key = nullptr) {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", (tmp_.path() / "elsewhere").string(),
                               "--remote", url, "cost"});
    std::map<std::string, std::string> env;
    if (key) env = {{"MLFAAS_ACCESS_KEY_ID", key->id}, {"MLFAAS_SECRET_ACCESS_KEY", key->secret}};
    return RunCommand(args, env, std::chrono::seconds(60));
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
  // Right away (before the maintenance tick writes it): the route counts all 3 invocations; an
  // open gateway reports every function. --remote prints what the home prints after the stop.
  HttpClient http(port);
  auto route = http.Get("/v1/cost?function=echo");
  ASSERT_EQ(route.status, 200) << route.body;
  EXPECT_EQ(route.header("content-type"), "application/json");
  const json route_echo = json::parse(route.body, nullptr, false);
  const json route_all = json::parse(http.Get("/v1/cost").body, nullptr, false);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const std::string since = std::to_string(SystemClock::Get().EpochMillis() - 3'600'000);
  const std::vector<std::vector<std::string>> forms = {
      {"--json"}, {}, {"echo", "--json", "--arch", "arm", "--since", since}};
  std::vector<CommandResult> remote;
  for (const auto& args : forms) remote.push_back(RemoteCost(url, args));
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
  EXPECT_EQ(route_echo, c1);  // exactly the JSON of `mlfaas cost --json echo`
  EXPECT_EQ(route_echo["total"]["requests"], r1.count);
  EXPECT_EQ(route_echo["total"]["duration_mb_ms"], r1.mb_ms);
  for (size_t i = 0; i < forms.size(); ++i) {
    std::vector<std::string> args = forms[i];
    args.insert(args.begin(), "cost");
    auto local = Mlfaas(args);
    EXPECT_EQ(remote[i].exit_code, 0) << remote[i].err;
    EXPECT_EQ(remote[i].out, local.out) << i;
    EXPECT_FALSE(local.out.empty());
    if (i == 0) {
      EXPECT_EQ(route_all, json::parse(local.out, nullptr, false));
    }
  }
  EXPECT_FALSE(fs::exists(tmp_.path() / "elsewhere" / "registry.db")) << "--remote opened a home";

  // Second run on the same home: /metrics starts over, the stored usage does not. Its
  // maintenance tick, which flushes the usage, every 100 ms (awaited below).
  port = Serve({"--tick-ms", "100"});
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

// Bad input: `mlfaas cost` prints one line on stderr; GET /v1/cost (on a gateway with keys,
// where the read scope decides which functions a caller sees) answers a Lambda-shaped 400, 403
// or 404; --remote words its errors as the home does.
TEST_F(ServeCostTest, BadInputIsOneLineOnStderrOrALambdaError) {
  Create("echo", PyRuntime("    return ev"), kMemoryMb);
  auto none = CostJson({"echo"});  // an existing function without usage costs nothing
  ASSERT_TRUE(none.is_object());
  EXPECT_EQ(none["total"]["requests"], 0);
  const std::vector<std::vector<std::string>> bad = {
      {"nosuch"}, {"--since", "yesterday"}, {"--arch", "mips"}};
  std::vector<CommandResult> local;
  for (const auto& args : bad) {
    std::vector<std::string> full = args;
    full.insert(full.begin(), "cost");
    const auto& r = local.emplace_back(Mlfaas(full));
    EXPECT_EQ(r.exit_code, 1) << args.back();
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("mlfaas: ")) << r.err;
  }

  const Creds root = NewKey("root", {"*:*"});
  const Creds reader = NewKey("reader", {"read:echo"});
  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  HttpClient http(port);
  auto get = [&](const std::string& target, const Creds& k) {
    return http.Request(http::verb::get, target, "", {{"Authorization", k.bearer()}});
  };
  {  // Usage of two functions (invocations are ServeCostTest's first test; a deleted function's
     // usage is still reported).
    auto store = registry::UsageStore::Open(Home());
    ASSERT_TRUE(store.ok()) << store.status().message();
    const int64_t hour = registry::UsageHour(SystemClock::Get().EpochMillis());
    ASSERT_TRUE((*store)
                    ->Add({{"echo", "$LATEST", hour, 2, 2 * kMemoryMb},
                           {"other", "1", hour, 3, 3 * kMemoryMb}})
                    .ok());
  }

  auto functions = [](const json& report) {
    std::vector<std::string> out;
    for (const auto& v : report["versions"]) out.push_back(v["function"]);
    return out;
  };
  auto all = get("/v1/cost", root);
  ASSERT_EQ(all.status, 200) << all.body;
  const json all_json = json::parse(all.body);
  EXPECT_EQ(functions(all_json), (std::vector<std::string>{"echo", "other"}));
  EXPECT_EQ(all_json["total"]["requests"], 5);
  auto mine = get("/v1/cost", reader);
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json mine_json = json::parse(mine.body);
  EXPECT_EQ(functions(mine_json), std::vector<std::string>{"echo"});
  EXPECT_EQ(mine_json["total"]["requests"], 2);
  json echo_row = all_json["versions"][0];
  echo_row.erase("function");
  echo_row.erase("version");
  EXPECT_EQ(mine_json["total"], echo_row);
  auto denied = get("/v1/cost?function=other", reader);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.header("x-amzn-errortype"), "AccessDeniedException");
  EXPECT_EQ(http.Get("/v1/cost").status, 401);
  auto missing = get("/v1/cost?function=nosuch", root);
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(missing.header("x-amzn-errortype"), "ResourceNotFoundException");
  for (const char* q : {"since=yesterday", "arch=mips", "function=bad.name", "function=%zz"}) {
    auto r = get(std::string("/v1/cost?") + q, root);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    const json e = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(e.contains("message") && e["message"].is_string()) << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"), "InvalidParameterValueException") << q;
  }
  EXPECT_EQ(
      http.Request(http::verb::post, "/v1/cost", "", {{"Authorization", root.bearer()}}).status,
      405);

  // --remote: the reader's view; errors as the home words them (one line, exit 1).
  auto remote = RemoteCost(url, {"--json"}, &reader);
  EXPECT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_EQ(json::parse(remote.out, nullptr, false), mine_json);
  for (size_t i = 0; i < bad.size(); ++i) {
    auto r = RemoteCost(url, bad[i], &root);
    EXPECT_EQ(r.exit_code, 1) << bad[i][0];
    EXPECT_EQ(r.err, local[i].err) << bad[i][0];
  }
  auto remote_denied = RemoteCost(url, {"other"}, &reader);
  EXPECT_EQ(remote_denied.exit_code, 1);
  EXPECT_NE(remote_denied.err.find("not authorized"), std::string::npos) << remote_denied.err;
}

}  // namespace
}  // namespace mlfaas::testing
