#include "gateway/pool/instance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "gateway/base/report.h"
#include "testing/fake_random.h"

namespace mlfaas::gateway {
namespace {

using S = InstanceState;

TEST(InstanceTest, LifecycleTransitionsFollowTheDocumentedGraph) {
  const S all[] = {S::kStarting, S::kIdle, S::kBusy, S::kDraining, S::kStopped, S::kFailed};
  // Allowed edges; everything else is rejected.
  const std::pair<S, S> allowed[] = {
      {S::kStarting, S::kIdle},     {S::kIdle, S::kBusy},       {S::kBusy, S::kIdle},
      {S::kStarting, S::kDraining}, {S::kIdle, S::kDraining},   {S::kBusy, S::kDraining},
      {S::kDraining, S::kStopped},  {S::kStarting, S::kFailed}, {S::kIdle, S::kFailed},
      {S::kBusy, S::kFailed},       {S::kDraining, S::kFailed},
  };
  for (S from : all) {
    for (S to : all) {
      bool want = false;
      for (auto& [a, b] : allowed) want |= (a == from && b == to);
      EXPECT_EQ(IsValidTransition(from, to), want)
          << InstanceStateName(from) << " -> " << InstanceStateName(to);
    }
  }
}

TEST(InstanceTest, StartsInStartingAndWalksTheHappyPath) {
  Instance inst(7, nullptr);
  EXPECT_EQ(inst.state(), S::kStarting);
  inst.TransitionTo(S::kIdle);
  inst.TransitionTo(S::kBusy);
  inst.TransitionTo(S::kIdle);
  inst.TransitionTo(S::kDraining);
  inst.TransitionTo(S::kStopped);
  EXPECT_EQ(inst.state(), S::kStopped);
  EXPECT_STREQ(InstanceStateName(inst.state()), "Stopped");
}

TEST(ReportTest, ReportLineMatchesLambdaFormat) {
  ReportFields f;
  f.request_id = "abc";
  f.duration_ms = 2.231;
  f.memory_mb = 512;
  f.max_memory_used_mb = 21;
  EXPECT_EQ(ReportLine(f),
            "REPORT RequestId: abc\tDuration: 2.23 ms\tBilled Duration: 3 ms\tMemory Size: 512 "
            "MB\tMax Memory Used: 21 MB");
  f.init_duration_ms = 4.1;
  EXPECT_NE(ReportLine(f).find("\tInit Duration: 4.10 ms"), std::string::npos);
}

TEST(ReportTest, LinesCarryTheirFieldsAndDurationsRoundAsPrintf) {
  EXPECT_EQ(StartLine("id-1", "$LATEST"), "START RequestId: id-1 Version: $LATEST");
  EXPECT_EQ(EndLine("id-1"), "END RequestId: id-1");
  // Halfway cases (0.125 is exact in binary, 2.675 is not), zero, large and tiny values: the
  // same digits as C's "%.2f".
  std::mt19937_64 rng(7);
  std::vector<double> values = {0,        0.005, 0.125,   0.375,       1.005, 2.675,
                                1234.565, 1e-9,  999.995, 1e6 + 0.125, 9.999, 3e15 + 0.5};
  for (int i = 0; i < 2000; ++i) {
    values.push_back(std::ldexp(static_cast<double>(rng() >> 11), -60 + static_cast<int>(i % 60)));
  }
  for (double v : values) {
    ReportFields f;
    f.request_id = "r";
    f.duration_ms = v;
    f.memory_mb = 128;
    f.max_memory_used_mb = 7;
    f.init_duration_ms = v;
    char want[512];
    std::snprintf(want, sizeof want,
                  "REPORT RequestId: r\tDuration: %.2f ms\tBilled Duration: %lld ms\tMemory Size: "
                  "128 MB\tMax Memory Used: 7 MB\tInit Duration: %.2f ms",
                  v, static_cast<long long>(BilledMillis(v)), v);
    ASSERT_EQ(ReportLine(f), want) << v;
  }
}

TEST(ReportTest, BillingRoundsUpToWholeMilliseconds) {
  EXPECT_EQ(BilledMillis(0.01), 1);
  EXPECT_EQ(BilledMillis(2.0), 2);
  EXPECT_EQ(BilledMillis(2.0001), 3);
  EXPECT_DOUBLE_EQ(GbSeconds(1024, 1000), 1.0);
  EXPECT_NEAR(CostUsd(1024, 1000), 0.0000166667 + 0.2e-6, 1e-12);
}

TEST(ReportTest, RequestIdsAreUuidShapedAndUnique) {
  std::string a = NewRequestId(SystemRandom::Get()), b = NewRequestId(SystemRandom::Get());
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, b);
  EXPECT_NE(
      LogStreamName(1'700'000'000'000, "$LATEST", SystemRandom::Get()).find("2023/11/14/[$LATEST]"),
      std::string::npos);
}

TEST(ReportTest, RequestIdsAndStreamNamesComeFromTheRandomSeam) {
  testing::FakeRandom random;
  random.NextBits(0);
  random.NextBits(0);
  // All-zero bits: only the version (4) and variant (10) bits are set.
  EXPECT_EQ(NewRequestId(random), "00000000-0000-4000-8000-000000000000");
  // Every digit in its place: the first draw gives the first 16 digits, most significant first.
  random.NextBits(0x0123456789abcdefULL);
  random.NextBits(0xfedcba9876543210ULL);
  EXPECT_EQ(NewRequestId(random), "01234567-89ab-4def-bedc-ba9876543210");
  random.NextBits(0xab);
  random.NextBits(0xcd);
  EXPECT_EQ(LogStreamName(1'700'000'000'000, "7", random),
            "2023/11/14/[7]00000000000000ab00000000000000cd");
  EXPECT_EQ(random.draws(), 6);
}

}  // namespace
}  // namespace mlfaas::gateway
