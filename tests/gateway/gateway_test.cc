// Integration tests: a real Gateway, real HTTP on port 0, real worker processes (python3 stdlib
// runtime clients), fake registry.
#include <signal.h>

#include <regex>
#include <thread>

#include "gateway/gateway_fixture.h"
#include "testing/subprocess.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;

class GatewayTest : public GatewayFixture {};

TEST_F(GatewayTest, ColdThenWarmWithLambdaEnvironment) {
  reg_.Put("echo", "$LATEST", "py", Config({{"TAG", "t1"}}));
  StartGateway();
  auto first = Invoke("echo", R"({"msg":"one"})");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-mlfaas-cold-start"), "true");
  EXPECT_FALSE(first.header("x-mlfaas-init-duration-ms").empty());
  EXPECT_EQ(first.header("x-amz-executed-version"), "$LATEST");
  EXPECT_EQ(first.header("x-amz-request-id").size(), 36u);
  auto j = json::parse(first.body);
  EXPECT_EQ(j["echo"]["msg"], "one");
  EXPECT_EQ(j["env"]["AWS_LAMBDA_FUNCTION_NAME"], "echo");
  EXPECT_EQ(j["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
  EXPECT_EQ(j["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], std::to_string(kTestMemoryMb));
  EXPECT_EQ(j["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
  EXPECT_EQ(j["env"]["_HANDLER"], "handler.main");
  EXPECT_EQ(j["env"]["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/echo");
  EXPECT_EQ(j["env"]["TZ"], ":UTC");
  EXPECT_EQ(j["env"]["TAG"], "t1");
  EXPECT_EQ(j["arn"], "arn:aws:lambda:us-east-1:000000000000:function:echo");

  auto second = Invoke("echo", R"({"msg":"two"})");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.header("x-mlfaas-cold-start"), "false");
  EXPECT_EQ(second.header("x-mlfaas-init-duration-ms"), "");
  EXPECT_EQ(json::parse(second.body)["instance"], j["instance"]);  // same warm instance
  auto st = Status();
  EXPECT_EQ(st["live_instances"], 1);
  EXPECT_EQ(st["functions"][0]["versions"][0]["instances"][0]["invocations"], 2);
}

TEST_F(GatewayTest, ClientContextAndTraceReachTheFunction) {
  reg_.Put("echo", "$LATEST", "py", Config());
  StartGateway();
  // {"custom":{"tenant":"a"},"env":{"locale":"en"}}, base64 as the SDKs send it.
  const std::string context = R"({"custom":{"tenant":"a"},"env":{"locale":"en"}})";
  const std::string root = "Root=1-5759e988-bd862e3fe1be46a994272793";
  auto r = Invoke(
      "echo", "{}",
      {{"X-Amz-Client-Context", "eyJjdXN0b20iOnsidGVuYW50IjoiYSJ9LCJlbnYiOnsibG9jYWxlIjoiZW4ifX0="},
       {"X-Amzn-Trace-Id", root + ";Parent=53995c3f42cd8ad8;Sampled=1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["client_context"], context);
  EXPECT_EQ(j["trace"], root + ";Parent=53995c3f42cd8ad8;Sampled=1") << "the caller's trace";

  // Without: no client context, and a new, well-formed trace per invocation.
  auto a = json::parse(Invoke("echo", "{}").body), b = json::parse(Invoke("echo", "{}").body);
  EXPECT_TRUE(a["client_context"].is_null());
  const std::regex xray("Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0");
  EXPECT_TRUE(std::regex_match(a["trace"].get<std::string>(), xray)) << a["trace"];
  EXPECT_NE(a["trace"], b["trace"]);

  // Not base64, not JSON, not an object, too long: refused before any instance sees it.
  for (const std::string& bad :
       std::vector<std::string>{"not base64!", "bm90IGpzb24=" /* not json */, "WzFd" /* [1] */,
                                std::string(3588, 'A')}) {
    auto e = Invoke("echo", "{}", {{"X-Amz-Client-Context", bad}});
    EXPECT_EQ(e.status, 400) << bad.substr(0, 20);
    EXPECT_EQ(e.header("x-amzn-errortype"), "InvalidRequestContentException") << e.body;
  }
}

TEST_F(GatewayTest, ParallelCallersGetParallelInstances) {
  reg_.Put("par", "$LATEST", "py", Config());
  StartGateway();
  constexpr int kCallers = 4;
  std::vector<std::thread> threads;
  std::vector<HttpReply> replies(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back(
        [&, i] { replies[i] = Invoke("par", R"({"action":"sleep","seconds":0.5})"); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> instances;  // log streams: one per instance (each is pid 1 of its own)
  for (auto& r : replies) {
    ASSERT_EQ(r.status, 200) << r.body;
    instances.insert(json::parse(r.body)["instance"].get<std::string>());
  }
  EXPECT_EQ(instances.size(), static_cast<size_t>(kCallers));
  EXPECT_EQ(Status()["live_instances"], kCallers);
}

TEST_F(GatewayTest, ThrottlesBeyondMaxInstancesWith429) {
  reg_.Put("busy", "$LATEST", "py", Config());
  gateway::GatewayOptions o;
  o.max_instances = 1;
  StartGateway(o);
  std::thread slow(
      [&] { EXPECT_EQ(Invoke("busy", R"({"action":"sleep","seconds":1})").status, 200); });
  ASSERT_TRUE(Eventually([&] { return Status()["in_flight"] == 1; }));
  auto r = Invoke("busy", "{}");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "TooManyRequestsException");
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find("Rate Exceeded"),
            std::string::npos);
  slow.join();
}

TEST_F(GatewayTest, ReservedConcurrencyCapsTheFunction) {
  auto c = Config();
  c.reserved_concurrency = 0;
  reg_.Put("capped", "$LATEST", "py", c);
  StartGateway();
  EXPECT_EQ(Invoke("capped", "{}").status, 429);
}

TEST_F(GatewayTest, TimeoutKillsTheInstanceAndTheNextCallWorks) {
  reg_.Put("slow", "$LATEST", "py", Config({}, /*timeout_s=*/1));
  StartGateway();
  auto r = Invoke("slow", R"({"action":"sleep","seconds":5})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-amz-function-error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Sandbox.Timedout");
  EXPECT_NE(j["errorMessage"].get<std::string>().find("Task timed out after 1.00 seconds"),
            std::string::npos);
  auto next = Invoke("slow", "{}");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-mlfaas-cold-start"), "true");  // replaced
}

TEST_F(GatewayTest, CrashFailsOnlyThatRequestWith502) {
  reg_.Put("crashy", "$LATEST", "py", Config());
  StartGateway();
  ASSERT_EQ(Invoke("crashy", "{}").status, 200);
  auto r = Invoke("crashy", R"({"action":"crash"})");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "Runtime.ExitError");
  EXPECT_NE(r.body.find("exit status 7"), std::string::npos) << r.body;
  EXPECT_EQ(Invoke("crashy", "{}").status, 200);
}

TEST_F(GatewayTest, FunctionErrorIsUnhandledWithErrorBody) {
  reg_.Put("err", "$LATEST", "py", Config());
  StartGateway();
  auto r = Invoke("err", R"({"action":"error"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-amz-function-error"), "Unhandled");
  EXPECT_EQ(json::parse(r.body)["errorType"], "InvalidInput");
}

TEST_F(GatewayTest, InitErrorBacksOffInsteadOfRespawning) {
  reg_.Put("broken", "$LATEST", "py", Config({{"MODE", "init_error"}}));
  StartGateway();
  auto r = Invoke("broken", "{}");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "Runtime.InitError");
  EXPECT_NE(r.body.find("model file missing"), std::string::npos) << r.body;
  auto again = Invoke("broken", "{}");
  EXPECT_EQ(again.status, 502);
  EXPECT_NE(again.body.find("model file missing"), std::string::npos);
  auto v = Status()["functions"][0]["versions"][0];
  EXPECT_EQ(v["cold_starts"], 1) << v.dump();  // the second call did not spawn
  EXPECT_TRUE(v.contains("init_backoff_ms"));
}

TEST_F(GatewayTest, ExitDuringInitIsAnInitError) {
  reg_.Put("dies", "$LATEST", "py", Config({{"MODE", "init_crash"}}));
  StartGateway();
  auto r = Invoke("dies", "{}");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("exit status 3"), std::string::npos) << r.body;
}

TEST_F(GatewayTest, EventIsQueuedAndDryRunOnlyValidates) {
  reg_.Put("ev", "$LATEST", "py", Config());
  StartGateway();
  auto dry = Invoke("ev", "{}", {{"X-Amz-Invocation-Type", "DryRun"}});
  EXPECT_EQ(dry.status, 204);
  EXPECT_EQ(Status()["live_instances"], 0);
  auto ev = Invoke("ev", R"({"msg":"async"})", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(ev.status, 202);
  EXPECT_TRUE(ev.body.empty());
  EXPECT_TRUE(Eventually([&] {
    auto st = Status();
    return !st["functions"].empty() && st["functions"][0]["versions"][0]["invocations"] == 1;
  }));
  EXPECT_EQ(Invoke("ev", "{}", {{"X-Amz-Invocation-Type", "Bogus"}}).status, 400);
  EXPECT_EQ(Invoke("nope", "{}", {{"X-Amz-Invocation-Type", "DryRun"}}).status, 404);
}

TEST_F(GatewayTest, QualifierRoutesToVersionsAndAliases) {
  reg_.Put("q", "$LATEST", "py", Config({{"TAG", "latest"}}));
  reg_.Put("q", "1", "py", Config({{"TAG", "v1"}}));
  reg_.Put("q", "2", "py", Config({{"TAG", "v2"}}));
  reg_.PutAlias({"q", "prod", "1", std::nullopt, 0.0, ""});
  reg_.PutAlias({"q", "canary", "1", std::string("2"), 0.5, ""});
  StartGateway();
  auto tag = [&](const std::string& qual) {
    auto r = Invoke("q", "{}", {}, qual);
    EXPECT_EQ(r.status, 200) << qual << ": " << r.body;
    return std::make_pair(json::parse(r.body)["env"]["TAG"].get<std::string>(),
                          r.header("x-amz-executed-version"));
  };
  EXPECT_EQ(tag(""), std::make_pair(std::string("latest"), std::string("$LATEST")));
  EXPECT_EQ(tag("%24LATEST"), std::make_pair(std::string("latest"), std::string("$LATEST")));
  EXPECT_EQ(tag("2"), std::make_pair(std::string("v2"), std::string("2")));
  EXPECT_EQ(tag("prod"), std::make_pair(std::string("v1"), std::string("1")));
  // "name:qualifier" in the path works too.
  auto r = Invoke("q:2", "{}");
  EXPECT_EQ(r.header("x-amz-executed-version"), "2");
  int v2 = 0;
  for (int i = 0; i < 40; ++i) v2 += tag("canary").second == "2";
  EXPECT_GT(v2, 4);  // ~20 expected; loose bounds
  EXPECT_LT(v2, 36);
  EXPECT_EQ(Invoke("q", "{}", {}, "7").status, 404);
  EXPECT_EQ(Invoke("q", "{}", {}, "nosuchalias").status, 404);
}

TEST_F(GatewayTest, BadInputsGetTypedErrors) {
  reg_.Put("bad", "$LATEST", "py", Config());
  StartGateway();
  auto nf = Invoke("missing", "{}");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.header("x-amzn-errortype"), "ResourceNotFoundException");
  EXPECT_EQ(json::parse(nf.body)["Type"], "User");
  auto bad = Invoke("bad", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.header("x-amzn-errortype"), "InvalidRequestContentException");
  auto big = Invoke("bad", "\"" + std::string(7 << 20, 'a') + "\"");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.header("x-amzn-errortype"), "RequestTooLargeException");
  HttpClient c(gw_->port());
  EXPECT_EQ(c.Get(Path("bad")).status, 405);
  EXPECT_EQ(c.Get("/nowhere").status, 404);
  EXPECT_EQ(Status()["live_instances"], 0);  // nothing reached a worker
}

TEST_F(GatewayTest, LogTailCarriesWorkerLinesAndReport) {
  reg_.Put("logs", "$LATEST", "py", Config());
  StartGateway();
  auto r = Invoke("logs", R"({"msg":"hello-tail"})", {{"X-Amz-Log-Type", "Tail"}});
  ASSERT_EQ(r.status, 200);
  std::string tail = Unbase64(r.header("x-amz-log-result"));
  EXPECT_NE(tail.find("START RequestId: " + r.header("x-amz-request-id")), std::string::npos);
  EXPECT_NE(tail.find("hello-tail"), std::string::npos) << tail;
  EXPECT_NE(tail.find("REPORT RequestId: "), std::string::npos) << tail;
  EXPECT_NE(tail.find("Memory Size: " + std::to_string(kTestMemoryMb) + " MB"), std::string::npos)
      << tail;
  EXPECT_NE(tail.find("Init Duration: "), std::string::npos) << tail;  // cold start
  EXPECT_TRUE(Invoke("logs", "{}").header("x-amz-log-result").empty());
}

TEST_F(GatewayTest, MetricsCountInvocationsColdStartsErrorsThrottlesAndLatency) {
  reg_.Put("m", "$LATEST", "py", Config());
  auto capped = Config();
  capped.reserved_concurrency = 0;
  reg_.Put("capped", "$LATEST", "py", capped);
  StartGateway();
  Invoke("m", "{}");
  Invoke("m", "{}");
  EXPECT_EQ(Invoke("m", R"({"action":"error","msg":"boom"})").status, 200);  // a function error
  EXPECT_EQ(Invoke("missing", "{}").status, 404);
  EXPECT_EQ(Invoke("capped", "{}").status, 429);
  HttpClient c(gw_->port());
  // One invocation running: the concurrency gauge sees it.
  std::thread slow(
      [&] { EXPECT_EQ(Invoke("m", R"({"action":"sleep","seconds":0.3})").status, 200); });
  EXPECT_TRUE(Eventually([&] {
    return c.Get("/metrics").body.find(R"(mlfaas_concurrent_executions{function="m"} 1)") !=
           std::string::npos;
  }));
  slow.join();
  // An exchange is recorded once its response is written: a client may read the answer first.
  HttpReply m;
  EXPECT_TRUE(Eventually([&] {
    m = c.Get("/metrics");
    return m.body.find(R"(mlfaas_request_duration_seconds_count{route="invoke",code="200"} 4)") !=
           std::string::npos;
  }));
  ASSERT_EQ(m.status, 200);
  const std::string labels = R"(function="m",version="$LATEST")";
  for (const std::string& line : std::vector<std::string>{
           R"(mlfaas_invocations_total{)" + labels + R"(,outcome="success"} 3)",
           R"(mlfaas_invocations_total{)" + labels + R"(,outcome="function_error"} 1)",
           R"(mlfaas_errors_total{)" + labels + R"(,type="Unhandled"} 1)",
           std::string(R"(mlfaas_throttles_total{function="capped",version="$LATEST"} 1)"),
           R"(mlfaas_cold_starts_total{)" + labels + R"(} 1)",
           R"(mlfaas_init_duration_seconds_count{)" + labels + R"(} 1)",
           R"(mlfaas_init_duration_seconds_bucket{)" + labels + R"(,le="+Inf"} 1)",
           R"(mlfaas_invocation_duration_seconds_count{)" + labels + R"(} 4)",
           R"(mlfaas_instances{)" + labels + R"(,state="Idle"} 1)",
           std::string(R"(mlfaas_concurrent_executions{function="m"} 0)"),
           // Every exchange is timed by route: the four invocations answered 200, the unknown
           // function's 404, the throttle's 429 (the /metrics reads count too, under operator).
           std::string(R"(mlfaas_request_duration_seconds_count{route="invoke",code="200"} 4)"),
           std::string(R"(mlfaas_request_duration_seconds_count{route="invoke",code="404"} 1)"),
           std::string(R"(mlfaas_request_duration_seconds_count{route="invoke",code="429"} 1)"),
       }) {
    EXPECT_NE(m.body.find(line + "\n"), std::string::npos) << line << "\n" << m.body;
  }
  EXPECT_NE(m.body.find(R"(mlfaas_gigabyte_seconds_total{)" + labels + "} "), std::string::npos);
  EXPECT_NE(m.body.find(R"(mlfaas_request_duration_seconds_count{route="operator",code="200"})"),
            std::string::npos);
  // Prometheus's own checker accepts the exposition (scripts/deps.sh installs promtool).
  auto check = RunCommand({"promtool", "check", "metrics"}, {}, std::chrono::seconds(60), m.body);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(GatewayTest, ShutdownWaitsForInFlightAndLeavesNoWorkers) {
  reg_.Put("sd", "$LATEST", "py", Config());
  StartGateway();
  ASSERT_EQ(Invoke("sd", "{}").status, 200);  // one idle instance
  std::vector<int> pids;
  HttpReply slow;
  std::thread t([&] { slow = Invoke("sd", R"({"action":"sleep","seconds":0.5})"); });
  ASSERT_TRUE(Eventually([&] { return Status()["in_flight"] == 1; }));
  const json st = Status();
  for (auto& f : st["functions"])
    for (auto& v : f["versions"])
      for (auto& i : v["instances"]) pids.push_back(i["pid"].get<int>());
  gw_->Shutdown();
  t.join();
  EXPECT_EQ(slow.status, 200) << slow.body;  // finished within the grace period
  ASSERT_FALSE(pids.empty());
  for (int pid : pids) EXPECT_NE(kill(pid, 0), 0) << "worker " << pid << " still exists";
}

// ---- Several invocations per instance (max_concurrency_per_instance N > 1) ----------------

class MultiConcurrencyTest : public GatewayFixture {
 protected:
  static registry::FunctionConfig ConfigN(int n, int timeout_s = 3) {
    auto c = Config({}, timeout_s);
    c.max_concurrency_per_instance = n;
    return c;
  }
  std::vector<HttpReply> Together(const std::string& fn, const std::vector<std::string>& payloads) {
    std::vector<HttpReply> replies(payloads.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < payloads.size(); ++i) {
      threads.emplace_back([&, i] { replies[i] = Invoke(fn, payloads[i]); });
    }
    for (auto& t : threads) t.join();
    return replies;
  }
  static std::map<std::string, int> PerInstance(const std::vector<HttpReply>& replies) {
    std::map<std::string, int> out;
    for (const auto& r : replies) {
      if (r.status == 200) ++out[json::parse(r.body)["instance"].get<std::string>()];
    }
    return out;
  }
};

TEST_F(MultiConcurrencyTest, AnInstanceRunsUpToNAtOnceThenANewOneStarts) {
  reg_.Put("multi", "$LATEST", "py", ConfigN(4));
  StartGateway();
  // Six at once, each longer than the cold start: four share the first instance (they wait for
  // its init inside it), the fifth finds it saturated and starts a second one.
  const std::vector<std::string> sleeps(6, R"({"action":"sleep","seconds":0.8})");
  auto replies = Together("multi", sleeps);
  for (auto& r : replies) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["env"]["AWS_LAMBDA_MAX_CONCURRENCY"], "4");
  }
  std::vector<int> counts;
  for (auto& [instance, n] : PerInstance(replies)) counts.push_back(n);
  std::sort(counts.begin(), counts.end());
  EXPECT_EQ(counts, (std::vector<int>{2, 4}));
  const json st = Status();
  EXPECT_EQ(st["live_instances"], 2);
  EXPECT_EQ(st["functions"][0]["versions"][0]["instances"][0]["max_concurrency"], 4);
  // Warm now: a call goes to an idle instance, no cold start.
  auto warm = Invoke("multi", "{}");
  ASSERT_EQ(warm.status, 200);
  EXPECT_EQ(warm.header("x-mlfaas-cold-start"), "false");
}

TEST_F(MultiConcurrencyTest, LimitsThrottleInsteadOfQueueing) {
  // One instance of N = 2 at most: the third concurrent call is refused, never queued.
  reg_.Put("two", "$LATEST", "py", ConfigN(2));
  gateway::GatewayOptions o;
  o.max_instances = 1;
  StartGateway(o);
  ASSERT_EQ(Invoke("two", "{}").status, 200);  // warm
  std::vector<HttpReply> slow(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back(
        [&, i] { slow[i] = Invoke("two", R"({"action":"sleep","seconds":0.6})"); });
  }
  ASSERT_TRUE(Eventually([&] { return Status()["in_flight"] == 2; }));
  auto third = Invoke("two", "{}");
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_EQ(third.header("x-amzn-errortype"), "TooManyRequestsException");
  for (auto& t : threads) t.join();
  for (auto& r : slow) EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(PerInstance(slow).size(), 1u);

  // Reserved concurrency counts invocations: 3 of N = 4 on one instance, the 4th call refused.
  auto c = ConfigN(4);
  c.reserved_concurrency = 3;
  reg_.Put("capped", "$LATEST", "py", c);
  ASSERT_EQ(Invoke("capped", "{}").status, 200);
  threads.clear();
  std::vector<HttpReply> held(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back(
        [&, i] { held[i] = Invoke("capped", R"({"action":"sleep","seconds":0.6})"); });
  }
  ASSERT_TRUE(Eventually([&] { return Status()["in_flight"] == 3; }));
  auto over = Invoke("capped", "{}");
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_NE(over.body.find("reserved concurrency"), std::string::npos) << over.body;
  for (auto& t : threads) t.join();
  for (auto& r : held) EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(MultiConcurrencyTest, AnExpiredInvocationFailsAloneAndTheInstanceIsRecycled) {
  reg_.Put("mixed", "$LATEST", "py", ConfigN(2, /*timeout_s=*/1));
  StartGateway();
  ASSERT_EQ(Invoke("mixed", "{}").status, 200);  // warm: both calls share this instance
  HttpReply stuck, fine;
  std::thread a([&] { stuck = Invoke("mixed", R"({"action":"sleep","seconds":5})"); });
  ASSERT_TRUE(Eventually([&] { return Status()["in_flight"] == 1; }));
  // Sent 0.5 s after the first (a pause, not a synchronization: the assertions below hold
  // whatever the timing): still running when the first times out at 1 s, done before its own
  // deadline.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::thread b([&] { fine = Invoke("mixed", R"({"action":"sleep","seconds":0.7})"); });
  a.join();
  b.join();
  ASSERT_EQ(stuck.status, 200) << stuck.body;
  EXPECT_EQ(json::parse(stuck.body)["errorType"], "Sandbox.Timedout") << stuck.body;
  ASSERT_EQ(fine.status, 200) << fine.body;
  EXPECT_EQ(fine.header("x-amz-function-error"), "") << fine.body;  // not failed with it
  // The instance took no new work after the timeout and was stopped once `fine` finished.
  ASSERT_TRUE(Eventually([&] { return Status()["live_instances"] == 0; }));
  auto next = Invoke("mixed", "{}");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("x-mlfaas-cold-start"), "true");
}

}  // namespace
}  // namespace mlfaas::testing
