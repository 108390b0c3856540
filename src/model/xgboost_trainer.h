// Training gradient-boosted trees through libxgboost (Debian libxgboost-dev), for
// `mlfaas train --algo xgboost`. Only the CLI links this (library mlfaas_model_xgboost): the
// worker scores the saved model with mlfaas's own evaluator (tree_model.h), never libxgboost.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "model/dataset.h"
#include "model/linear_model.h"
#include "model/metrics.h"
#include "model/split.h"

namespace mlfaas::model {

struct XgboostTrainOptions {
  Transform transform = Transform::kLog01;  // applied to the features before training
  double test_size = 0.2;
  uint64_t seed = 0;
  double threshold = 0.5;
  int rounds = 100;  // boosting rounds (trees); --param n_estimators=N or num_boost_round=N
  // xgboost parameters (max_depth, eta, subsample, ...), passed as given; objective defaults
  // to binary:logistic and nthread to 2 (fixed, so the model does not depend on the machine).
  std::map<std::string, std::string> params;
  // As TrainOptions::split: explicit train/test rows instead of the stratified split. Not owned.
  const Split* split = nullptr;
};

struct XgboostTrainResult {
  std::string model_json;  // the booster in xgboost's JSON format (Booster.save_model)
  BinaryMetrics test_metrics;
  size_t train_rows = 0;
  size_t test_rows = 0;
  std::map<std::string, std::string> params;  // as given to xgboost, defaults included
  int rounds = 0;
  double fit_seconds = 0;
  double eval_seconds = 0;
};

// The same stratified split as Train (split.h), the transform, `rounds` boosting rounds on the
// training split, then the metrics of the saved model on the test split, scored by mlfaas's own
// evaluator (what serving will return). InvalidArgument for a dataset without labels, unknown
// or bad parameters (xgboost's message), or an objective the evaluator cannot serve.
StatusOr<XgboostTrainResult> TrainXgboost(const Dataset& data, const XgboostTrainOptions& options);

// "1.7.4": the libxgboost this was linked with.
std::string XgboostVersion();

}  // namespace mlfaas::model
