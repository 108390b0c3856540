// A trained binary linear classifier together with the preprocessing it expects.
// Everything the serving side needs to score a raw row, nothing it has to guess.
#pragma once

#include <string>
#include <vector>

namespace mlfaas::model {

enum class Transform {
  kNone,   // x
  kLog01,  // log(x + 0.1); requires x >= 0
};

// "none" | "log0.1"
const char* TransformName(Transform t);
bool ParseTransform(const std::string& name, Transform* out);

struct LinearModel {
  // Ordered feature names; raw rows are given in this order.
  std::vector<std::string> features;
  Transform transform = Transform::kLog01;
  // Standardization fitted on the training split: z = (t(x) - mean) / scale. Same size as features.
  std::vector<double> mean;
  std::vector<double> scale;
  // Logistic regression on standardized features: p = sigmoid(coef . z + intercept).
  std::vector<double> coef;
  double intercept = 0.0;
  // A row is an anomaly iff p >= threshold.
  double threshold = 0.5;
};

}  // namespace mlfaas::model
