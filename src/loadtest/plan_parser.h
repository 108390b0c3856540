// Reads a Taurus-style YAML scenario file into a validated Plan.
//
// Errors name the place and what was expected: "scn.yaml:4:18: concurrency: expected a
// positive integer, got 'nine'". Thread-compatible (no shared state).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "loadtest/plan.h"

namespace mlfaas::loadtest {

// `-o key=value` overrides, applied to the YAML tree before validation. Keys are dotted paths;
// numbers index sequences: "execution.0.concurrency=18", "scenarios.predict.requests.0.url=...".
// The value is parsed as YAML ("18" is a number, "[1, 2]" a list).
struct Override {
  std::string path;
  std::string value;
};
StatusOr<Override> ParseOverride(std::string_view key_equals_value);

// `source` names the text in errors; `base_dir` resolves `body-file`.
StatusOr<Plan> ParsePlanText(std::string_view yaml, const std::string& source,
                             const std::filesystem::path& base_dir,
                             const std::vector<Override>& overrides = {});

StatusOr<Plan> ParsePlanFile(const std::filesystem::path& path,
                             const std::vector<Override>& overrides = {});

}  // namespace mlfaas::loadtest
