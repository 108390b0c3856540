// The training pipeline: stratified split -> transform -> standardize (fitted on the training
// split only) -> L2 logistic regression -> metrics on the test split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/dataset.h"
#include "model/linear_model.h"
#include "model/logistic_regression.h"
#include "model/metrics.h"
#include "model/split.h"

namespace mlfaas::model {

struct TrainOptions {
  Transform transform = Transform::kLog01;
  double test_size = 0.2;
  uint64_t seed = 0;
  LogisticOptions solver;  // C, class weighting, tolerance, threads
  double threshold = 0.5;
  // When set, these rows instead of StratifiedSplit(test_size, seed): `mlfaas retrain` trains
  // on its own union of datasets and feedback and evaluates on its held-out set. Not owned.
  const Split* split = nullptr;
};

struct TrainResult {
  LinearModel model;
  LogisticFit fit;
  BinaryMetrics test_metrics;  // on the held-out split
  size_t train_rows = 0;
  size_t test_rows = 0;
  double prepare_seconds = 0;  // split + transform + standardize
  double fit_seconds = 0;      // solver only
  double eval_seconds = 0;     // scoring + metrics on the test split
};

// Precondition: data has a label. InvalidArgument when it does not, or for bad options.
StatusOr<TrainResult> Train(const Dataset& data, const TrainOptions& options);

// Population mean and standard deviation per column of row-major x (d columns); a zero
// standard deviation becomes 1 (as scikit-learn's StandardScaler).
void FitStandardizer(const std::vector<double>& x, size_t d, std::vector<double>* mean,
                     std::vector<double>* scale);

}  // namespace mlfaas::model
