// JSON forms of the registry types, shared by the registry's storage, the CLI's --json output
// and the gateway's management API. Field names are snake_case, as in FunctionConfig.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "registry/registry.h"

namespace mlfaas::registry {

// {"runtime","handler","memory_mb","timeout_s","ephemeral_storage_mb","environment":{},"reserved_concurrency":n|null,
//  "provisioned_concurrency","idle_timeout_s","model_loading","description"}
nlohmann::json ToJson(const FunctionConfig& c);
// Starts from `base` and overrides the fields present in `j` (so a partial object is a patch).
// InvalidArgument naming the field for a wrong type or an unknown field. Does not range-check:
// call ValidateConfig on the result.
StatusOr<FunctionConfig> FunctionConfigFromJson(const nlohmann::json& j,
                                                const FunctionConfig& base = FunctionConfig());

nlohmann::json ToJson(const VersionInfo& v);   // config nested under "config"
nlohmann::json ToJson(const FunctionInfo& f);  // {"name",...,"latest": VersionInfo}
nlohmann::json ToJson(const AliasInfo& a);     // canary_version null when absent

}  // namespace mlfaas::registry
