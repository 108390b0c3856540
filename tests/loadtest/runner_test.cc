// End-to-end: the runner against an in-test HTTP server on 127.0.0.1:0.
#include "loadtest/runner.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "loadtest/plan_parser.h"
#include "loadtest/test_http_server.h"

namespace mlfaas::loadtest {
namespace {

using testing::TestHttpServer;

Plan MustParse(const std::string& yaml) {
  auto p = ParsePlanText(yaml, "t.yaml", ".");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Plan{};
}

std::string Yaml(const std::string& url, const std::string& stage, const std::string& extra = "") {
  return "execution:\n- scenario: s\n" + stage +
         "scenarios:\n  s:\n    requests:\n    - url: " + url +
         "\n      method: POST\n      body: {\"duration\": 0}\n" + extra;
}

int64_t Errors(const RunResult& r, ErrorKind k) { return r.total.errors[static_cast<size_t>(k)]; }

TEST(RunnerTest, ClosedLoopKeepsOneConnectionPerUser) {
  TestHttpServer server;
  const Plan plan = MustParse(Yaml(server.url(), "  concurrency: 3\n  iterations: 20\n"));
  RunOptions o;
  o.keep_samples = true;
  auto r = RunPlan(plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->total.window.hits, 60);
  EXPECT_EQ(r->total.window.failures, 0);
  EXPECT_EQ(r->total.statuses.at(200), 60);
  EXPECT_EQ(r->total.cold_starts, 3);  // first response on each connection
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(server.requests(), 60);
  EXPECT_EQ(r->samples.size(), 60u);
  int64_t kpi_hits = 0;
  for (const KpiRow& k : r->kpi) kpi_hits += k.hits;
  EXPECT_EQ(kpi_hits, 60);
  EXPECT_FALSE(r->failed);
}

TEST(RunnerTest, TimelineSendsOneRequestPerOffsetWithTimeScale) {
  TestHttpServer server;
  // 0, 1 and 2 scenario minutes at 600x: 0, 100 and 200 ms real.
  const Plan plan = MustParse(Yaml(server.url(), "  at: [0m, 1m, 2m]\n"));
  RunOptions o;
  o.time_scale = 600;
  o.keep_samples = true;
  auto r = RunPlan(plan, o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->samples.size(), 3u);
  EXPECT_EQ(server.requests(), 3);
  // Timers never fire early: each call goes out at least 100 ms after the previous one's offset.
  EXPECT_GE(r->samples[1].done_ns - r->samples[1].latency_ns, 100'000'000);
  EXPECT_GE(r->samples[2].done_ns - r->samples[2].latency_ns, 200'000'000);
  EXPECT_DOUBLE_EQ(r->time_scale, 600);
}

TEST(RunnerTest, OpenLoopSendsEveryIntendedRequest) {
  TestHttpServer server;
  // 100/s for 0.3 s: intended send times 0, 10, ..., 290 ms = 30 requests.
  const Plan plan =
      MustParse(Yaml(server.url(), "  concurrency: 2\n  rate: 100\n  hold-for: 300ms\n"));
  auto r = RunPlan(plan, RunOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total.window.hits, 30);
  EXPECT_EQ(server.requests(), 30);
}

TEST(RunnerTest, CountsHttpErrorsAndFailedAssertions) {
  TestHttpServer failing({.status = 503, .body = "{}", .cold_first = false});
  auto r = RunPlan(MustParse(Yaml(failing.url(), "  iterations: 4\n")), RunOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Errors(*r, ErrorKind::kHttp), 4);
  EXPECT_EQ(r->total.statuses.at(503), 4);

  TestHttpServer ok;
  const std::string asserts =
      "      assert-jsonpath:\n      - jsonpath: $.predictions[0].anomaly\n        expected-value: "
      "true\n";
  r = RunPlan(MustParse(Yaml(ok.url(), "  iterations: 3\n", asserts)), RunOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Errors(*r, ErrorKind::kAssertion), 3);
  EXPECT_EQ(r->total.window.failures, 3);
}

TEST(RunnerTest, CountsConnectionErrors) {
  int port = 0;
  {
    TestHttpServer gone;  // take a free port, then close it
    port = gone.port();
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = RunPlan(MustParse(Yaml(url, "  iterations: 2\n")), RunOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Errors(*r, ErrorKind::kConnect), 2);
  EXPECT_EQ(r->total.window.hits, 2);
}

// A server that claims a 50 GB body and sends a few bytes with its header: a protocol error for
// that request, never an allocation of the claimed size (Boost 1.74's eager read let it through).
TEST(RunnerTest, AResponseClaimingAHugeBodyIsAProtocolError) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const int port = acceptor.local_endpoint().port();
  std::thread server([&] {
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket s(ioc);
    acceptor.accept(s, ec);
    if (ec) return;
    boost::asio::streambuf request;
    boost::asio::read_until(s, request, "\r\n\r\n", ec);
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 50000000000\r\n\r\n{\"a\":1}";
    boost::asio::write(s, boost::asio::buffer(answer), ec);
    s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  });
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = RunPlan(MustParse(Yaml(url, "  iterations: 1\n")), RunOptions{});
  server.join();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Errors(*r, ErrorKind::kProtocol), 1);
}

TEST(RunnerTest, StopCriterionEndsTheRunEarly) {
  TestHttpServer server;
  const std::string crit =
      "reporting:\n- module: passfail\n  criteria: [\"hits>0 for 1s, stop as failed\"]\n";
  auto r = RunPlan(MustParse(Yaml(server.url(), "  concurrency: 2\n  hold-for: 60s\n", crit)),
                   RunOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped_early);
  EXPECT_TRUE(r->failed);
  EXPECT_LT(r->elapsed_s, 30);  // far from the 60 s hold: the criterion ended it
  ASSERT_EQ(r->criteria.size(), 1u);
  EXPECT_TRUE(r->criteria[0].triggered);
}

TEST(RunnerTest, RejectsUnresolvableHostsAndBadOptions) {
  const Plan plan = MustParse(Yaml("http://no-such-host.invalid/x", "  iterations: 1\n"));
  EXPECT_FALSE(RunPlan(plan, RunOptions{}).ok());
  RunOptions bad;
  bad.time_scale = 0;
  EXPECT_EQ(RunPlan(plan, bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlfaas::loadtest
