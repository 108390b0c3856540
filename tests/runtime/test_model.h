// A small, valid model package for runtime tests (three KDD99 features, log transform).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "package/manifest.h"

namespace mlfaas::testing {

package::Manifest TestManifest();

// Writes TestManifest() as a package zip and extracts it into `task_root` (which must exist),
// exactly as the gateway prepares an instance. Aborts the test on failure (gtest ASSERT).
void WriteTaskRoot(const std::filesystem::path& task_root);

// Same events for every worker test: valid single rows, a batch, and every kind of bad input.
std::vector<std::string> TestEvents();

// Two successful results agree: same model block, same anomaly flags, probabilities within 1e-9
// (gtest EXPECTs; `a` and `b` are the workers' result objects).
void ExpectSamePredictions(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace mlfaas::testing
