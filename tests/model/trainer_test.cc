#include "model/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "model/csv_reader.h"
#include "model/split.h"

namespace mlfaas::model {
namespace {

TEST(TrainerTest, StandardizerIsPopulationStd) {
  std::vector<double> mean, scale;
  FitStandardizer({1, 5, 3, 5, 5, 5}, 2, &mean, &scale);
  EXPECT_DOUBLE_EQ(mean[0], 3);
  EXPECT_DOUBLE_EQ(scale[0], std::sqrt(8.0 / 3.0));
  EXPECT_DOUBLE_EQ(mean[1], 5);
  EXPECT_DOUBLE_EQ(scale[1], 1.0);  // constant column
}

TEST(TrainerTest, RejectsUnlabeledData) {
  Dataset ds;
  ds.features = {"a"};
  ds.x = {1, 2};
  EXPECT_EQ(Train(ds, {}).status().message(), "training data has no label column");
}

// The quality bar on the shipped data: 80/20 stratified, seed 0 (sklearn: AUC 0.9977, F1 0.9955).
TEST(TrainerTest, MeetsQualityBarOnShippedData) {
  CsvOptions csv;
  csv.features = {"duration", "src_bytes", "dst_bytes"};
  csv.label = "label";
  csv.transform = Transform::kLog01;
  auto ds = ReadCsv(MLFAAS_DATA_FILE, csv);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  // The split is scikit-learn's (values printed by train_test_split(..., random_state=0)).
  auto split = StratifiedSplit(ds->y, 0.2, 0);
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->test.size(), 113500u);
  EXPECT_EQ(std::vector<size_t>(split->test.begin(), split->test.begin() + 8),
            (std::vector<size_t>{1, 3, 4, 22, 27, 30, 42, 43}));
  EXPECT_EQ(std::accumulate(split->test.begin(), split->test.end(), size_t{0}), 32195329402u);

  TrainOptions o;
  o.solver.threads = 2;
  auto r = Train(*ds, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->train_rows + r->test_rows, 567498u);
  EXPECT_EQ(r->test_rows, 113500u);           // ceil(0.2 * 567498), as scikit-learn
  EXPECT_EQ(r->test_metrics.positives, 442);  // stratified: 2211 * 0.2
  EXPECT_TRUE(r->fit.converged);
  EXPECT_GE(r->test_metrics.auc, 0.997);
  EXPECT_GE(r->test_metrics.f1, 0.99);
  const ConfusionMatrix& cm = r->test_metrics.cm;
  EXPECT_EQ(cm.tn + cm.fp + cm.fn + cm.tp, static_cast<int64_t>(r->test_rows));
  // Deterministic: training again gives bit-identical coefficients.
  auto again = Train(*ds, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->model.coef, r->model.coef);
  EXPECT_EQ(again->model.intercept, r->model.intercept);
}

}  // namespace
}  // namespace mlfaas::model
