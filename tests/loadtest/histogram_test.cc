#include "loadtest/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace mlfaas::loadtest {
namespace {

// Exact percentile with the same rank rule (nearest rank, ceil).
int64_t ExactPercentile(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t rank =
      std::max<size_t>(1, static_cast<size_t>(std::ceil(p / 100.0 * v.size() - 1e-9)));
  return v[rank - 1];
}

TEST(HistogramTest, PercentilesWithinOnePercentOfExact) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> lat(std::log(2e6), 1.2);  // ~2 ms median, long tail
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<int64_t>(lat(rng));
    values.push_back(v);
    h.Record(v);
  }
  for (double p : {0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(ExactPercentile(values, p));
    const double got = static_cast<double>(h.Percentile(p));
    EXPECT_LE(std::fabs(got - exact) / exact, 0.01)
        << "p" << p << " exact " << exact << " got " << got;
  }
  EXPECT_EQ(h.count(), 200000);
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
}

TEST(HistogramTest, MeanAndStddevAreExact) {
  Histogram h;
  for (int64_t v : {100, 200, 300, 400}) h.Record(v * 1000003);
  EXPECT_DOUBLE_EQ(h.mean(), 250.0 * 1000003);
  EXPECT_NEAR(h.stddev(), 111.803398875 * 1000003, 1.0);
}

TEST(HistogramTest, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 ? a : b).Record(i * 7919);
    all.Record(i * 7919);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {10.0, 50.0, 99.0}) EXPECT_EQ(a.Percentile(p), all.Percentile(p));
}

TEST(HistogramTest, BucketsCoverEveryValueWithBoundedWidth) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{127}, int64_t{128}, int64_t{255}, int64_t{256},
                    int64_t{123456789}, int64_t{1} << 40}) {
    const int idx = Histogram::BucketIndex(v);
    EXPECT_LE(Histogram::BucketLow(idx), v);
    EXPECT_LT(v, Histogram::BucketLow(idx) + Histogram::BucketWidth(idx));
    if (v >= 128) {
      EXPECT_LE(Histogram::BucketWidth(idx) * 128, Histogram::BucketLow(idx));
    }
  }
}

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.Percentile(99), 0);
  EXPECT_EQ(h.mean(), 0);
  EXPECT_EQ(h.max(), 0);
}

}  // namespace
}  // namespace mlfaas::loadtest
