// `mlfaas export lambda`: an AWS SAM template for one function version and its aliases, and the
// provided.al2023 deployment zip. docs/deploy/aws-lambda.md has the mapping and its limits.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"
#include "deploy/export_input.h"

namespace mlfaas::deploy {

// Logical IDs and names in the template (stable, so successive exports update one stack).
inline constexpr const char* kSamFunctionId = "Function";
inline constexpr const char* kSamCapacityProviderId = "CapacityProvider";
inline constexpr const char* kSamCodeUri = "function.zip";

// The template.yaml text. An mlfaas version N exported as a number gets an AWS::Lambda::Version
// "VersionN" (retained on delete); aliases pointing at other versions take that version's Lambda
// number from the parameter "LambdaVersionOfVN".
StatusOr<Generated> SamTemplate(const ExportInput& in);

// Writes a provided.al2023 zip at `zip_path` (which must not exist): `bootstrap` (mode 0755,
// read from `bootstrap_path`) and `manifest.json` (`manifest_json`, mode 0644) at the root,
// with fixed timestamps.
Status WriteLambdaZip(const std::filesystem::path& zip_path,
                      const std::filesystem::path& bootstrap_path,
                      const std::string& manifest_json);

}  // namespace mlfaas::deploy
