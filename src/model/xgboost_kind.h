// The `xgboost` model kind (model_kind.h): the manifest's "model" member is
//   {"format": "xgboost-json", "booster": <the model as xgboost's Booster.save_model writes it>}
// and scoring is mlfaas's own tree evaluator (tree_model.h).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "model/predictor.h"

namespace mlfaas::model {

inline constexpr std::string_view kXgboost = "xgboost";

// The kind's loader: validates `params` for `num_features` inputs and builds the scorer.
StatusOr<std::shared_ptr<const Scorer>> LoadXgboostKind(const nlohmann::json& params,
                                                        size_t num_features);

// The "model" member for a booster saved as JSON text; InvalidArgument if it is not JSON.
StatusOr<nlohmann::json> XgboostParams(const std::string& booster_json);

}  // namespace mlfaas::model
