// Idle reaping and provisioned concurrency driven by a FakeClock: time moves only when the test
// advances it and calls Tick(), as the maintenance thread would.
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

}  // namespace
}  // namespace mlfaas::testing
