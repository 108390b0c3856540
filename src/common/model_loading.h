// How a function loads its model (per function: `--model-loading`; in the worker:
// MLFAAS_MODEL_LOADING). The study's three strategies plus SnapStart's idea (docs/runtime.md,
// "Model-loading strategies"):
//   per-invoke  read, parse and build the predictor on every invocation (the naive baseline)
//   init        once per instance, during init (the default; "eager" is accepted as a synonym,
//               since versions published before the name changed store it)
//   lazy        on the first invocation, then kept
//   snapshot    one template per published version initializes once; each new instance is
//               forked from it, already initialized (docs/isolation.md, "Snapshots")
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mlfaas {

enum class ModelLoading { kInit, kPerInvoke, kLazy, kSnapshot };

inline constexpr const char* kModelLoadingEnv = "MLFAAS_MODEL_LOADING";
inline constexpr const char* kModelLoadingChoices = "per-invoke | init | lazy | snapshot";

// nullopt for anything but the four names and "eager".
std::optional<ModelLoading> ParseModelLoading(std::string_view name);
const char* ModelLoadingName(ModelLoading m);

}  // namespace mlfaas
