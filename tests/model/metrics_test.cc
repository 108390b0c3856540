#include "model/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace mlfaas::model {
namespace {

// Scores with ties across classes; values checked by hand (and equal to scikit-learn's
// roc_auc_score = 0.6333..., average_precision_score = 0.77833...).
const std::vector<double> kScore = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.1};
const std::vector<uint8_t> kLabels = {0, 0, 1, 1, 1, 0, 1, 1};

TEST(MetricsTest, RocAucCountsTiesAsHalf) {
  // Positive-negative pairs: 0.35:1, 0.8:3, 0.4:1+2*0.5, 0.9:3, 0.1:0.5 => 9.5 / 15.
  EXPECT_DOUBLE_EQ(RocAuc(kScore, kLabels), 9.5 / 15.0);
}

TEST(MetricsTest, AveragePrecisionAsSklearn) {
  // Thresholds 0.9, 0.8, 0.4, 0.35, 0.1: recall steps 1/5 each (0.4 group: +1/5 at P=3/5).
  const double ap =
      0.2 * 1.0 + 0.2 * 1.0 + 0.2 * (3.0 / 5.0) + 0.2 * (4.0 / 6.0) + 0.2 * (5.0 / 8.0);
  EXPECT_NEAR(AveragePrecision(kScore, kLabels), ap, 1e-15);
  EXPECT_NEAR(ap, 0.7783333333333333, 1e-12);
}

TEST(MetricsTest, ConfusionAndRatesAtThreshold) {
  BinaryMetrics m = ComputeMetrics(kScore, kLabels, 0.4);
  // >= 0.4 predicted positive: 0.4(0), 0.8(1), 0.4(1), 0.4(0), 0.9(1).
  EXPECT_EQ(m.cm.tp, 3);
  EXPECT_EQ(m.cm.fp, 2);
  EXPECT_EQ(m.cm.fn, 2);
  EXPECT_EQ(m.cm.tn, 1);
  EXPECT_EQ(m.rows, 8);
  EXPECT_EQ(m.positives, 5);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(m.precision, 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(m.recall, 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.6);
}

TEST(MetricsTest, PerfectAndDegenerate) {
  std::vector<double> s = {0.1, 0.2, 0.8, 0.9};
  std::vector<uint8_t> y = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(RocAuc(s, y), 1.0);
  EXPECT_DOUBLE_EQ(AveragePrecision(s, y), 1.0);
  std::vector<uint8_t> none = {0, 0, 0, 0};
  EXPECT_TRUE(std::isnan(RocAuc(s, none)));
  EXPECT_TRUE(std::isnan(AveragePrecision(s, none)));
  BinaryMetrics m = ComputeMetrics(s, none, 0.95);  // no predicted positives: 0, not NaN
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  nlohmann::json j = MetricsToJson(m);
  EXPECT_TRUE(j["auc"].is_null());
  EXPECT_EQ(j["confusion_matrix"]["tn"], 4);
}

}  // namespace
}  // namespace mlfaas::model
