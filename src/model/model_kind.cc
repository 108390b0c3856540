#include "model/model_kind.h"

#include <array>

#include "model/xgboost_kind.h"

namespace mlfaas::model {
namespace {

// The registration: one line per kind.
constexpr std::array<ModelKind, 2> kKinds = {{
    {kLogisticRegression, nullptr},
    {kXgboost, LoadXgboostKind},
}};

}  // namespace

const ModelKind* FindModelKind(std::string_view name) {
  for (const ModelKind& k : kKinds) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string ModelKindNames() {
  std::string out;
  for (const ModelKind& k : kKinds) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

StatusOr<std::shared_ptr<const Predictor>> BuildPredictor(std::string_view kind, LinearModel inputs,
                                                          const nlohmann::json& params) {
  const ModelKind* k = FindModelKind(kind);
  if (!k) {
    return InvalidArgument("unknown model kind '" + std::string(kind) +
                           "' (kinds: " + ModelKindNames() + ")");
  }
  if (!k->load) {
    MLFAAS_RETURN_IF_ERROR(Predictor::Validate(inputs));
    return std::make_shared<const Predictor>(std::move(inputs));
  }
  MLFAAS_RETURN_IF_ERROR(Predictor::ValidateInputs(inputs));
  MLFAAS_ASSIGN_OR_RETURN(std::shared_ptr<const Scorer> scorer,
                          k->load(params, inputs.features.size()));
  return std::make_shared<const Predictor>(std::move(inputs), std::move(scorer));
}

}  // namespace mlfaas::model
