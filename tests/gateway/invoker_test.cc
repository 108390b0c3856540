// ResolverCache: weighted aliases draw the canary share through the Random seam.
#include "gateway/invoke/invoker.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"
#include "testing/fake_random.h"
#include "testing/fake_registry.h"

namespace mlfaas::gateway {
namespace {

class ResolverCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_.Put("f", "1", "d1", {});
    reg_.Put("f", "2", "d2", {});
    reg_.PutAlias({"f", "live", "1", std::string("2"), 0.25, ""});
  }
  std::string Draw(double u) {
    random_.NextUniform(u);
    auto v = cache_.Resolve("f", "live");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? (*v)->version : "";
  }

  testing::FakeRegistry reg_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  ResolverCache cache_{reg_, clock_, random_, std::chrono::seconds(1)};
};

TEST_F(ResolverCacheTest, TheCanaryServesExactlyTheDrawsBelowItsWeight) {
  EXPECT_EQ(Draw(0.0), "2");
  EXPECT_EQ(Draw(0.2499), "2");
  EXPECT_EQ(Draw(0.25), "1");
  EXPECT_EQ(Draw(0.9999), "1");
  EXPECT_EQ(random_.draws(), 4);  // one draw per call, cached or not
}

TEST_F(ResolverCacheTest, VersionQualifiersAndPlainAliasesDrawNothing) {
  reg_.PutAlias({"f", "stable", "1", std::nullopt, 0, ""});
  for (const char* q : {"1", "2", "stable"}) {
    auto v = cache_.Resolve("f", q);
    ASSERT_TRUE(v.ok()) << q << ": " << v.status().ToString();
  }
  EXPECT_EQ(random_.draws(), 0);
}

}  // namespace
}  // namespace mlfaas::gateway
