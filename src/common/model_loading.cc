#include "common/model_loading.h"

namespace mlfaas {

std::optional<ModelLoading> ParseModelLoading(std::string_view name) {
  if (name == "init" || name == "eager") return ModelLoading::kInit;
  if (name == "per-invoke") return ModelLoading::kPerInvoke;
  if (name == "lazy") return ModelLoading::kLazy;
  if (name == "snapshot") return ModelLoading::kSnapshot;
  return std::nullopt;
}

const char* ModelLoadingName(ModelLoading m) {
  switch (m) {
    case ModelLoading::kInit:
      return "init";
    case ModelLoading::kPerInvoke:
      return "per-invoke";
    case ModelLoading::kLazy:
      return "lazy";
    case ModelLoading::kSnapshot:
      return "snapshot";
  }
  return "init";
}

}  // namespace mlfaas
