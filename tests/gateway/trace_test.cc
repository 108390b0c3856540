#include "gateway/base/trace.h"

#include <gtest/gtest.h>

#include <regex>

#include "testing/fake_random.h"

namespace mlfaas::gateway {
namespace {

const std::regex kXRay("Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]");

TEST(TraceTest, NewTracesAreWellFormedXRayHeadersStampedWithTheTime) {
  testing::FakeRandom random;
  const std::string t = NewTraceHeader(1'764'115'200'123, random);  // 2025-11-26T00:00:00.123Z
  EXPECT_TRUE(std::regex_match(t, kXRay)) << t;
  EXPECT_EQ(t.substr(0, 16), "Root=1-69264300-");  // 1764115200 s = 0x69264300
  EXPECT_NE(NewTraceHeader(1'764'115'200'123, random), t) << "two traces, one id";
}

TEST(TraceTest, ACallersWellFormedHeaderIsPropagated) {
  const std::string root = "Root=1-5759e988-bd862e3fe1be46a994272793";
  EXPECT_EQ(CallerTraceHeader(root + ";Parent=53995c3f42cd8ad8;Sampled=1"),
            root + ";Parent=53995c3f42cd8ad8;Sampled=1");
  EXPECT_EQ(CallerTraceHeader(root), root + ";Sampled=0");
  // Order, spaces and unknown fields do not matter; a bad Parent is dropped.
  EXPECT_EQ(CallerTraceHeader("Self=1-abc; Sampled=1 ;" + root + ";Parent=xyz"),
            root + ";Sampled=1");
}

TEST(TraceTest, AnythingElseStartsANewTrace) {
  for (const char* bad :
       {"", "Root=", "Root=1-5759e988-bd862e3fe1be46a99427279",  // 23 hex
        "Root=2-5759e988-bd862e3fe1be46a994272793",
        "Root=1-5759E988-bd862e3fe1be46a994272793",  // upper case
        "Root=1-5759e988_bd862e3fe1be46a994272793", "Root=1-5759e988-bd862e3fe1be46a99427279\n"}) {
    EXPECT_FALSE(CallerTraceHeader(bad)) << bad;
  }
  EXPECT_FALSE(
      CallerTraceHeader("Root=1-5759e988-bd862e3fe1be46a994272793;" + std::string(300, 'x')));
}

}  // namespace
}  // namespace mlfaas::gateway
