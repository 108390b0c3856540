#include "model/xgboost_kind.h"

#include "common/json.h"
#include "model/tree_model.h"

namespace mlfaas::model {
namespace {

class TreeScorer final : public Scorer {
 public:
  explicit TreeScorer(TreeEnsemble ensemble) : ensemble_(std::move(ensemble)) {}
  void ScoreTransformed(std::span<const double> rows, size_t /*num_features*/,
                        std::span<double> out) const override {
    Predict(ensemble_, rows, out.size(), out);
  }

 private:
  TreeEnsemble ensemble_;
};

}  // namespace

StatusOr<std::shared_ptr<const Scorer>> LoadXgboostKind(const nlohmann::json& params,
                                                        size_t num_features) {
  if (!params.is_object()) return InvalidArgument("model must be an object");
  const nlohmann::json* format = JsonField(params, "format");
  if (!format || *format != "xgboost-json") {
    return InvalidArgument("model.format must be \"xgboost-json\"");
  }
  const nlohmann::json* booster = JsonField(params, "booster");
  if (!booster || !booster->is_object()) {
    return InvalidArgument("model.booster must be the xgboost model (a JSON object)");
  }
  auto ensemble = ParseXgboostJson(DumpJson(*booster), num_features);
  if (!ensemble.ok()) return ensemble.status().WithPrefix("model.booster");
  if (!ensemble->outputs_probability()) {
    return InvalidArgument("model.booster: objective " +
                           std::string(TreeObjectiveName(ensemble->objective)) +
                           " gives margins, not probabilities (use binary:logistic)");
  }
  std::shared_ptr<const Scorer> scorer =
      std::make_shared<const TreeScorer>(std::move(ensemble).value());
  return scorer;
}

StatusOr<nlohmann::json> XgboostParams(const std::string& booster_json) {
  auto booster = ParseJson(booster_json);
  if (!booster.ok() || !booster->is_object()) {
    return InvalidArgument("the xgboost model is not a JSON object");
  }
  return nlohmann::json{{"format", "xgboost-json"}, {"booster", std::move(booster).value()}};
}

}  // namespace mlfaas::model
