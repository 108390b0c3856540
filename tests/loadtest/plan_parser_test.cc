#include "loadtest/plan_parser.h"

#include <gtest/gtest.h>

#include "common/fs.h"

namespace mlfaas::loadtest {
namespace {

using std::chrono::minutes;

StatusOr<Plan> Parse(const std::string& yaml, const std::vector<Override>& o = {}) {
  return ParsePlanText(yaml, "scn.yaml", ".", o);
}

std::string ErrorOf(const std::string& yaml) {
  auto p = Parse(yaml);
  return p.ok() ? "" : p.status().message();
}

constexpr const char* kScenarios = R"(
scenarios:
  s:
    requests:
    - url: http://127.0.0.1:9/x
)";

TEST(PlanParserTest, ParsesTheBundledStudyScenarios) {
  for (const char* name : {"concurrency.yaml", "keepalive.yaml"}) {
    auto plan = ParsePlanFile(std::string(MLFAAS_SOURCE_DIR) + "/bench/scenarios/" + name);
    ASSERT_TRUE(plan.ok()) << name << ": " << plan.status().ToString();
    const RequestSpec& r = plan->scenarios.at("predict").requests.at(0);
    EXPECT_EQ(r.url.port, "9000");
    EXPECT_EQ(r.url.target, "/2015-03-31/functions/kdd99-anomaly/invocations");
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.body, R"({"dst_bytes":45076,"duration":0,"src_bytes":215})");
    EXPECT_FALSE(plan->criteria.empty());
  }
  auto cc = ParsePlanFile(std::string(MLFAAS_SOURCE_DIR) + "/bench/scenarios/concurrency.yaml");
  ASSERT_EQ(cc->stages.size(), 2u);
  EXPECT_EQ(cc->stages[0].concurrency, 9);
  EXPECT_EQ(cc->stages[0].ramp_up, minutes(3));
  EXPECT_EQ(cc->stages[0].hold_for, minutes(1));
  EXPECT_EQ(cc->stages[1].concurrency, 18);
  EXPECT_EQ(cc->stages[1].ramp_up, Duration(0));
  auto ka = ParsePlanFile(std::string(MLFAAS_SOURCE_DIR) + "/bench/scenarios/keepalive.yaml");
  EXPECT_EQ(ka->stages.at(0).at,
            (std::vector<Duration>{minutes(0), minutes(6), minutes(16), minutes(31), minutes(61)}));
}

TEST(PlanParserTest, ParsesEveryRequestField) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "body.json", R"({"a":1})").ok());
  const std::string yaml = R"(
execution:
  concurrency: 4
  ramp-up: 10s
  steps: 2
  hold-for: 500ms
  iterations: 7
  throughput: 50
  delay: 1s
  scenario: s
scenarios:
  s:
    think-time: 5ms
    requests:
    - url: http://localhost:8080/a?b=c
      method: PUT
      headers: {X-One: "1", Content-Type: application/json}
      body-file: body.json
      timeout: 2s
      assert:
      - contains: ["200"]
        subject: http-code
      assert-jsonpath:
      - jsonpath: $.predictions[0].anomaly
        expected-value: false
    - http://localhost:8080/plain
reporting:
- module: final-stats
- module: passfail
  criteria: ["p99>50ms for 10s, stop as failed", "fail>1%"]
)";
  auto plan = ParsePlanText(yaml, "f.yaml", dir.path());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const Stage& st = plan->stages.at(0);
  EXPECT_EQ(st.concurrency, 4);
  EXPECT_EQ(st.steps, 2);
  EXPECT_EQ(st.iterations, 7);
  EXPECT_DOUBLE_EQ(st.throughput, 50);
  EXPECT_EQ(st.delay, std::chrono::seconds(1));
  const auto& reqs = plan->scenarios.at("s").requests;
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].url.target, "/a?b=c");
  EXPECT_EQ(reqs[0].body, R"({"a":1})");
  EXPECT_EQ(reqs[0].headers.size(), 2u);
  EXPECT_EQ(reqs[0].timeout, std::chrono::seconds(2));
  EXPECT_EQ(reqs[0].think_time, std::chrono::milliseconds(5));
  EXPECT_EQ(reqs[0].json_asserts.at(0).expected, "false");
  EXPECT_EQ(reqs[1].url.target, "/plain");
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(plan->criteria.size(), 2u);
}

TEST(PlanParserTest, BadFilesSayWhereAndWhat) {
  struct Case {
    std::string yaml;
    std::string want;  // substring of the error
  } cases[] = {
      {"execution:\n- concurrency: nine\n  hold-for: 1m\n  scenario: s\n" + std::string(kScenarios),
       "scn.yaml:2:16: concurrency: expected an integer >= 1, got 'nine'"},
      {"execution:\n- concurrency: 2\n  hold-for: 1 minute\n  scenario: s\n" +
           std::string(kScenarios),
       "scn.yaml:3:13: hold-for: bad duration"},
      {"execution:\n- concurency: 2\n  scenario: s\n" + std::string(kScenarios),
       "scn.yaml:2:3: execution item: unknown key 'concurency'"},
      {"execution:\n- hold-for: 1m\n  scenario: nope\n" + std::string(kScenarios),
       "scn.yaml:3:13: scenario: expected the name of a scenario"},
      {"execution:\n- scenario: s\n" + std::string(kScenarios),
       "expected hold-for, ramp-up, iterations or at"},
      {"execution: [{scenario: s, hold-for: 1s}]\nscenarios:\n  s:\n    requests:\n    - url: "
       "https://x/\n",
       "scn.yaml:5:12: url: expected an http:// URL"},
      {"execution: [{scenario: s, at: [5m, 1m]}]\n" + std::string(kScenarios),
       "scn.yaml:1:36: at: expected offsets in increasing order"},
      {"execution: [{scenario: s, hold-for: 1s}]\n" + std::string(kScenarios) +
           "reporting:\n- module: passfail\n  criteria: [\"p99 > fast\"]\n",
       "scn.yaml:9:14: criteria: criterion 'p99 > fast'"},
      {"execution: [{scenario: s, hold-for: 1s\n", "scn.yaml:2:1: "},
      {"scenarios: {}\n", "execution: expected a list of stages"},
  };
  for (const auto& c : cases) {
    const std::string err = ErrorOf(c.yaml);
    EXPECT_NE(err.find(c.want), std::string::npos) << "want: " << c.want << "\ngot:  " << err;
  }
}

TEST(PlanParserTest, OverridesApplyBeforeValidation) {
  const std::string yaml =
      "execution:\n- concurrency: 2\n  hold-for: 1m\n  scenario: s\n" + std::string(kScenarios);
  auto plan = Parse(yaml, {{"execution.0.concurrency", "18"},
                           {"scenarios.s.requests.0.url", "http://127.0.0.1:1234/y"},
                           {"execution.0.ramp-up", "30s"}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->stages[0].concurrency, 18);
  EXPECT_EQ(plan->stages[0].ramp_up, std::chrono::seconds(30));
  EXPECT_EQ(plan->scenarios.at("s").requests[0].url.port, "1234");

  auto bad = Parse(yaml, {{"execution.5.concurrency", "1"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'5' is not an index"), std::string::npos);
  EXPECT_FALSE(ParseOverride("novalue").ok());
}

TEST(PlanParserTest, ParsesUrls) {
  auto u = ParseUrl("http://example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  EXPECT_FALSE(ParseUrl("http://:80/").ok());
  EXPECT_FALSE(ParseUrl("http://h:x/").ok());
  EXPECT_FALSE(ParseUrl("ftp://h/").ok());
}

}  // namespace
}  // namespace mlfaas::loadtest
