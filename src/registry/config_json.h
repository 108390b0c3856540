// JSON forms of the registry types, shared by the registry's storage, the CLI's --json output
// and the gateway's management API. Field names are snake_case, as in FunctionConfig.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "registry/registry.h"

namespace mlfaas::registry {

// {"runtime","handler","memory_mb","timeout_s","ephemeral_storage_mb","environment":{},"reserved_concurrency":n|null,
//  "provisioned_concurrency","idle_timeout_s","max_concurrency_per_instance","model_loading",
//  "description","retrain_every_s","retrain_after_labels"}
nlohmann::json ToJson(const FunctionConfig& c);
// Starts from `base` and overrides the fields present in `j` (so a partial object is a patch).
// InvalidArgument naming the field for a wrong type or an unknown field. Does not range-check:
// call ValidateConfig on the result.
StatusOr<FunctionConfig> FunctionConfigFromJson(const nlohmann::json& j,
                                                const FunctionConfig& base = FunctionConfig());

nlohmann::json ToJson(const VersionInfo& v);   // config nested under "config"
nlohmann::json ToJson(const FunctionInfo& f);  // {"name",...,"latest": VersionInfo}
nlohmann::json ToJson(const AliasInfo& a);

// The settings the Lambda API has no field for, as the control plane's function tags (string
// values, as Lambda's are): mlfaas:idle-timeout, mlfaas:model-loading,
// mlfaas:provisioned-concurrency, mlfaas:reserved-concurrency when there is a cap, and
// mlfaas:max-concurrency-per-instance when it is not 1.
nlohmann::json MlfaasTags(const FunctionConfig& c);  // canary_version null when absent

// The inverses of the three above, for records that come back from a gateway's API (the "Mlfaas"
// fields of its answers). The identifying fields are required (function and version; name and
// latest; function, name and version), the others default when absent; fields not known here are
// ignored, except inside "config" (FunctionConfigFromJson). InvalidArgument naming the field
// ("latest.created_at must be a string", "latest.config: memory_mb must be an integer") for a
// missing or mistyped one. No range checks.
StatusOr<VersionInfo> VersionInfoFromJson(const nlohmann::json& j);
StatusOr<FunctionInfo> FunctionInfoFromJson(const nlohmann::json& j);
StatusOr<AliasInfo> AliasInfoFromJson(const nlohmann::json& j);

}  // namespace mlfaas::registry
