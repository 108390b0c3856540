// The model-kind seam: what a package manifest's "kind" names, and how the serving side builds a
// Predictor for it. Every kind shares the input side (features in order, the transform,
// the decision threshold: model::LinearModel's first fields); what differs is the scoring.
//
// `logistic_regression` is built in (the linear scorer, predictor.h). Any other kind keeps its
// own parameters in the manifest's "model" member (docs/package_format.md) and provides a
// Scorer. Adding a kind: a folder's worth of code implementing `Scorer` and a loader, plus one
// line in the table in model_kind.cc (docs/architecture.md, "Adding a model kind").
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "model/linear_model.h"
#include "model/predictor.h"

namespace mlfaas::model {

inline constexpr std::string_view kLogisticRegression = "logistic_regression";

struct ModelKind {
  std::string_view name;
  // Validates the kind's parameters (the manifest's "model" member) for `num_features` inputs
  // and builds its scorer. Null for the built-in linear kind, whose parameters are the
  // manifest's own coefficients.
  StatusOr<std::shared_ptr<const Scorer>> (*load)(const nlohmann::json& params,
                                                  size_t num_features) = nullptr;
};

// The registered kind called `name`, or null.
const ModelKind* FindModelKind(std::string_view name);
// "logistic_regression, xgboost": for error messages.
std::string ModelKindNames();

// The predictor for a manifest's model: `inputs` holds the features, transform and threshold
// (and, for logistic_regression, the coefficients); `params` the other kinds' parameters.
// InvalidArgument for an unknown kind or invalid parameters.
StatusOr<std::shared_ptr<const Predictor>> BuildPredictor(std::string_view kind, LinearModel inputs,
                                                          const nlohmann::json& params);

}  // namespace mlfaas::model
