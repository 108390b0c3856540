// Binary classification metrics (as scikit-learn defines them).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>

namespace mlfaas::model {

struct ConfusionMatrix {
  int64_t tn = 0, fp = 0, fn = 0, tp = 0;
};

struct BinaryMetrics {
  ConfusionMatrix cm;
  double threshold = 0.5;  // predicted positive iff score >= threshold
  int64_t rows = 0;
  int64_t positives = 0;
  double accuracy = 0, precision = 0, recall = 0, f1 = 0;  // 0 when undefined (no predictions)
  double auc = 0;                // ROC-AUC; NaN when only one class is present
  double average_precision = 0;  // PR-AUC as sklearn's average_precision_score; NaN if no positive
};

ConfusionMatrix Confusion(std::span<const double> score, std::span<const uint8_t> y,
                          double threshold);
// ROC-AUC by sorting; tied scores count as half (trapezoid over tie groups).
double RocAuc(std::span<const double> score, std::span<const uint8_t> y);
// sum_k (R_k - R_{k-1}) * P_k over distinct score thresholds, descending.
double AveragePrecision(std::span<const double> score, std::span<const uint8_t> y);

// Preconditions: score.size() == y.size().
BinaryMetrics ComputeMetrics(std::span<const double> score, std::span<const uint8_t> y,
                             double threshold);

// {"auc","average_precision","pr_auc","f1","precision","recall","accuracy","threshold",
//  "rows","positives","confusion_matrix":{"tn","fp","fn","tp"}}; NaN becomes null.
nlohmann::json MetricsToJson(const BinaryMetrics& m);

}  // namespace mlfaas::model
