#include "loadtest/criteria.h"

#include <gtest/gtest.h>

namespace mlfaas::loadtest {
namespace {

Window MakeWindow(int64_t hits, int64_t failures, double latency_ms) {
  Window w;
  for (int64_t i = 0; i < hits; ++i) w.latency.Record(static_cast<int64_t>(latency_ms * 1e6));
  w.hits = hits;
  w.failures = failures;
  return w;
}

TEST(CriteriaTest, ParsesTaurusForms) {
  auto c = ParseCriterion("p99>50ms for 10s, stop as failed");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->subject, Criterion::Subject::kPercentile);
  EXPECT_DOUBLE_EQ(c->percentile, 99);
  EXPECT_EQ(c->cmp, Criterion::Cmp::kGt);
  EXPECT_DOUBLE_EQ(c->threshold, 50);
  EXPECT_EQ(c->logic, Criterion::Logic::kFor);
  EXPECT_EQ(c->timeframe_s, 10);
  EXPECT_TRUE(c->stop);
  EXPECT_TRUE(c->fail);

  c = ParseCriterion("avg-rt>=1.5s within 1m, continue as non-failed");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->subject, Criterion::Subject::kAvgRt);
  EXPECT_DOUBLE_EQ(c->threshold, 1500);
  EXPECT_EQ(c->logic, Criterion::Logic::kWithin);
  EXPECT_EQ(c->timeframe_s, 60);
  EXPECT_FALSE(c->stop);
  EXPECT_FALSE(c->fail);

  c = ParseCriterion("fail>5%");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->percent);
  EXPECT_EQ(c->logic, Criterion::Logic::kTotal);

  c = ParseCriterion("p99.9<200");
  ASSERT_TRUE(c.ok());
  EXPECT_DOUBLE_EQ(c->percentile, 99.9);
  EXPECT_EQ(c->cmp, Criterion::Cmp::kLt);
}

TEST(CriteriaTest, RejectsBadCriteriaWithAReason) {
  for (const char* bad : {"p99 50ms", "latency>5ms", "hits>5ms", "avg-rt>5%", "p99>5ms for 0s",
                          "p99>5ms for ten", "p99>5ms, stop", "p99>5ms, halt as failed"}) {
    auto c = ParseCriterion(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_NE(c.status().message().find(bad), std::string::npos) << c.status().message();
    }
  }
}

TEST(CriteriaTest, ForNeedsConsecutiveSeconds) {
  CriteriaEvaluator ev({*ParseCriterion("avg-rt>100ms for 3s, stop as failed")});
  EXPECT_FALSE(ev.OnSecond(0, MakeWindow(10, 0, 150)));
  EXPECT_FALSE(ev.OnSecond(1, MakeWindow(10, 0, 150)));
  EXPECT_FALSE(ev.OnSecond(2, MakeWindow(10, 0, 50)));  // streak broken
  EXPECT_FALSE(ev.OnSecond(3, MakeWindow(10, 0, 150)));
  EXPECT_FALSE(ev.OnSecond(4, MakeWindow(10, 0, 150)));
  EXPECT_TRUE(ev.OnSecond(5, MakeWindow(10, 0, 150)));  // stop requested
  EXPECT_TRUE(ev.Failed());
  EXPECT_DOUBLE_EQ(ev.results()[0].at_seconds, 6);
}

TEST(CriteriaTest, WithinAggregatesTheWindow) {
  CriteriaEvaluator ev({*ParseCriterion("fail>=50% within 2s, continue as failed")});
  EXPECT_FALSE(ev.OnSecond(0, MakeWindow(10, 9, 1)));  // window not full yet
  EXPECT_FALSE(ev.OnSecond(1, MakeWindow(30, 2, 1)));  // 11/40 = 27.5 %
  EXPECT_FALSE(ev.OnSecond(2, MakeWindow(10, 9, 1)));  // 11/40, continue: no stop
  EXPECT_TRUE(ev.results()[0].triggered == false);
  EXPECT_FALSE(ev.OnSecond(3, MakeWindow(10, 9, 1)));  // 18/20 = 90 % -> triggers, continue
  EXPECT_TRUE(ev.results()[0].triggered);
  EXPECT_TRUE(ev.Failed());
}

TEST(CriteriaTest, TotalIsCheckedAtTheEnd) {
  CriteriaEvaluator ev(
      {*ParseCriterion("p99>50ms"), *ParseCriterion("hits<5, continue as non-failed")});
  Window total = MakeWindow(100, 0, 10);
  total.latency.Record(80'000'000);  // one slow request: p99 is still 10 ms
  ev.Finish(total);
  EXPECT_FALSE(ev.results()[0].triggered);
  EXPECT_FALSE(ev.results()[1].triggered);
  EXPECT_FALSE(ev.Failed());

  CriteriaEvaluator ev2({*ParseCriterion("max-rt>50ms")});
  ev2.Finish(total);
  EXPECT_TRUE(ev2.Failed());
  EXPECT_NEAR(ev2.results()[0].value, 80, 0.5);
}

}  // namespace
}  // namespace mlfaas::loadtest
