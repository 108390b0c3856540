// Idle reaping and provisioned concurrency driven by a FakeClock: time moves only when the test
// advances it and calls Tick(), as the maintenance thread would.
#include <future>

#include "gateway/gateway_fixture.h"
#include "testing/fake_clock.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;

class ReaperTest : public GatewayFixture {
 protected:
  FakeClock clock_;
};

TEST_F(ReaperTest, IdleInstancesAreReapedAfterTheIdleTimeoutAndScaleToZero) {
  auto c = Config();
  c.idle_timeout_s = 600;
  reg_.Put("r", "$LATEST", "py", c);
  StartGateway({}, &clock_);
  ASSERT_EQ(Invoke("r", "{}").status, 200);
  auto& m = gw_->manager();
  EXPECT_EQ(m.LiveInstances(), 1);
  clock_.Advance(std::chrono::seconds(599));
  m.Tick();
  EXPECT_EQ(m.LiveInstances(), 1);
  // A warm call resets the idle timer.
  auto warm = Invoke("r", "{}");
  EXPECT_EQ(warm.header("x-mlfaas-cold-start"), "false");
  clock_.Advance(std::chrono::seconds(599));
  m.Tick();
  EXPECT_EQ(m.LiveInstances(), 1);
  clock_.Advance(std::chrono::seconds(1));
  m.Tick();
  EXPECT_TRUE(Eventually([&] { return m.LiveInstances() == 0; }));
  auto again = Invoke("r", "{}");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("x-mlfaas-cold-start"), "true");
}

TEST_F(ReaperTest, IdleTimeoutOverrideApplies) {
  reg_.Put("o", "$LATEST", "py", Config());
  gateway::GatewayOptions o;
  o.idle_timeout_s = 5;
  StartGateway(o, &clock_);
  ASSERT_EQ(Invoke("o", "{}").status, 200);
  clock_.Advance(std::chrono::seconds(5));
  gw_->manager().Tick();
  EXPECT_TRUE(Eventually([&] { return gw_->manager().LiveInstances() == 0; }));
}

TEST_F(ReaperTest, ProvisionedInstancesStartInitializedAndAreNotReaped) {
  auto c = Config();
  c.provisioned_concurrency = 2;
  c.idle_timeout_s = 10;
  reg_.Put("p", "1", "py", c);
  StartGateway({}, &clock_);
  auto v = reg_.GetVersion("p", "1");
  ASSERT_TRUE(v.ok());
  gw_->manager().EnsureProvisioned(*v);
  ASSERT_TRUE(Eventually([&] {
    auto st = Status();
    if (st["functions"].empty()) return false;
    int idle = 0;
    for (auto& i : st["functions"][0]["versions"][0]["instances"]) idle += i["state"] == "Idle";
    return idle == 2;
  }));
  auto r = Invoke("p", "{}", {}, "1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-mlfaas-cold-start"), "false");
  EXPECT_EQ(json::parse(r.body)["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"],
            "provisioned-concurrency");
  clock_.Advance(std::chrono::hours(1));
  gw_->manager().Tick();
  gw_->manager().EnsureProvisioned(*v);
  EXPECT_EQ(gw_->manager().LiveInstances(), 2);
}

// Usage for `mlfaas cost`: provisioned instances' memory x time from tick to tick, and each
// invocation's memory x billed ms (here 1 ms: the fake clock stands still while it runs), marked
// as run on a provisioned instance. Handed over once.
TEST_F(ReaperTest, ProvisionedTimeAndInvocationsAreMetered) {
  auto c = Config();
  c.provisioned_concurrency = 2;
  reg_.Put("m", "1", "py", c);
  StartGateway({}, &clock_);
  auto v = reg_.GetVersion("m", "1");
  ASSERT_TRUE(v.ok());
  auto& m = gw_->manager();
  m.EnsureProvisioned(*v);
  ASSERT_TRUE(Eventually([&] {  // both initialized (an hour later, a start would time out)
    auto st = Status();
    if (st["functions"].empty()) return false;
    int idle = 0;
    for (auto& i : st["functions"][0]["versions"][0]["instances"]) idle += i["state"] == "Idle";
    return idle == 2;
  }));
  m.Tick();  // provisioned time is counted from here
  clock_.Advance(std::chrono::hours(1));
  m.Tick();
  ASSERT_EQ(Invoke("m", "{}", {}, "1").status, 200);
  registry::UsageRecord sum;
  for (const auto& u : m.TakeUsage()) {
    EXPECT_EQ(u.function, "m");
    EXPECT_EQ(u.version, "1");
    EXPECT_EQ(u.hour % 3600, 0);
    sum.Add(u);
  }
  const int64_t mb = c.memory_mb;
  EXPECT_EQ(sum.provisioned_mb_ms, 2 * mb * 3'600'000);
  EXPECT_EQ(sum.requests, 1);
  EXPECT_EQ(sum.duration_mb_ms, mb * 1);
  EXPECT_EQ(sum.provisioned_duration_mb_ms, mb * 1);
  EXPECT_EQ(sum.snapshot_mb_ms, 0);
  EXPECT_TRUE(m.TakeUsage().empty());
}

// The invocation timeout is a timer of the gateway's clock: it fires when that clock passes the
// deadline, however long the worker has really been running.
TEST_F(ReaperTest, InvocationTimeoutFiresWhenTheClockPassesTheDeadline) {
  reg_.Put("slow", "$LATEST", "py", Config({}, /*timeout_s=*/300));
  StartGateway({}, &clock_);
  auto& m = gw_->manager();
  auto call = std::async(std::launch::async,
                         [&] { return Invoke("slow", R"({"action":"sleep","seconds":600})"); });
  // Delivered: the invocation is in flight and its timer is armed.
  ASSERT_TRUE(Eventually([&] { return m.InFlightCount() == 1 && clock_.PendingTimers() >= 1; }));
  clock_.Advance(std::chrono::seconds(299));
  EXPECT_EQ(call.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "timed out before its deadline";
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_EQ(call.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto r = call.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-amz-function-error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Sandbox.Timedout");
  EXPECT_NE(j["errorMessage"].get<std::string>().find("Task timed out after 300.00 seconds"),
            std::string::npos)
      << r.body;
}

}  // namespace
}  // namespace mlfaas::testing
