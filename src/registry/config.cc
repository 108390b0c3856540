// FunctionConfig validation, name rules and JSON conversion.
#include <array>
#include <string_view>

#include "common/model_loading.h"
#include "registry/config_json.h"
#include "registry/registry.h"

namespace mlfaas::registry {
namespace {

using nlohmann::json;

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Names Lambda reserves for the runtime (AWS docs, "Defined runtime environment variables");
// a function may not set them.
constexpr std::array<std::string_view, 18> kReservedEnv = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

Status ValidateEnvName(const std::string& k) {
  for (auto r : kReservedEnv) {
    if (k == r) return InvalidArgument("environment: variable name '" + k + "' is reserved");
  }
  bool ok = !k.empty() && ((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z'));
  for (char c : k) ok = ok && (IsNameChar(c) && c != '-');
  if (!ok) {
    return InvalidArgument("environment: invalid variable name '" + k +
                           "' (must match [A-Za-z][A-Za-z0-9_]*)");
  }
  return Status::Ok();
}

Status CheckRange(const char* field, int v, int lo, int hi) {
  if (v >= lo && v <= hi) return Status::Ok();
  return InvalidArgument(std::string(field) + " must be between " + std::to_string(lo) + " and " +
                         std::to_string(hi) + ", got " + std::to_string(v));
}

}  // namespace

bool IsValidFunctionName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

bool IsValidAliasName(const std::string& name) {
  return IsValidFunctionName(name) && !AllDigits(name);
}

Status ValidateConfig(const FunctionConfig& c) {
  if (c.runtime != "mlfaas" && c.runtime != "provided") {
    return InvalidArgument("runtime must be 'mlfaas' or 'provided', got '" + c.runtime + "'");
  }
  if (c.handler.empty() || c.handler.size() > 128 ||
      c.handler.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("handler must be 1-128 characters without whitespace");
  }
  MLFAAS_RETURN_IF_ERROR(CheckRange("memory_mb", c.memory_mb, 128, 10240));
  MLFAAS_RETURN_IF_ERROR(CheckRange("timeout_s", c.timeout_s, 1, 900));
  MLFAAS_RETURN_IF_ERROR(CheckRange("ephemeral_storage_mb", c.ephemeral_storage_mb, 512, 10240));
  size_t env_bytes = 0;
  for (const auto& [k, v] : c.environment) {
    MLFAAS_RETURN_IF_ERROR(ValidateEnvName(k));
    env_bytes += k.size() + v.size();
  }
  if (env_bytes > 4096) return InvalidArgument("environment exceeds 4 KB in total");
  if (c.reserved_concurrency && *c.reserved_concurrency < 0) {
    return InvalidArgument("reserved_concurrency must be >= 0");
  }
  if (c.provisioned_concurrency < 0) return InvalidArgument("provisioned_concurrency must be >= 0");
  if (c.reserved_concurrency && c.provisioned_concurrency > *c.reserved_concurrency) {
    return InvalidArgument("provisioned_concurrency (" + std::to_string(c.provisioned_concurrency) +
                           ") must not exceed reserved_concurrency (" +
                           std::to_string(*c.reserved_concurrency) + ")");
  }
  if (c.idle_timeout_s < 1) return InvalidArgument("idle_timeout_s must be >= 1");
  MLFAAS_RETURN_IF_ERROR(
      CheckRange("max_concurrency_per_instance", c.max_concurrency_per_instance, 1, 1600));
  if (!ParseModelLoading(c.model_loading)) {
    return InvalidArgument(std::string("model_loading must be one of ") + kModelLoadingChoices +
                           ", got '" + c.model_loading + "'");
  }
  if (c.description.size() > 256) return InvalidArgument("description exceeds 256 characters");
  if (c.retrain_every_s != 0) {
    MLFAAS_RETURN_IF_ERROR(CheckRange("retrain_every_s", c.retrain_every_s, 60, 31'536'000));
  }
  if (c.retrain_after_labels != 0) {
    MLFAAS_RETURN_IF_ERROR(
        CheckRange("retrain_after_labels", c.retrain_after_labels, 1, 1'000'000));
  }
  return Status::Ok();
}

json ToJson(const FunctionConfig& c) {
  return json{{"runtime", c.runtime},
              {"handler", c.handler},
              {"memory_mb", c.memory_mb},
              {"timeout_s", c.timeout_s},
              {"ephemeral_storage_mb", c.ephemeral_storage_mb},
              {"environment", c.environment},
              {"reserved_concurrency",
               c.reserved_concurrency ? json(*c.reserved_concurrency) : json(nullptr)},
              {"provisioned_concurrency", c.provisioned_concurrency},
              {"idle_timeout_s", c.idle_timeout_s},
              {"max_concurrency_per_instance", c.max_concurrency_per_instance},
              {"model_loading", c.model_loading},
              {"description", c.description},
              {"retrain_every_s", c.retrain_every_s},
              {"retrain_after_labels", c.retrain_after_labels}};
}

namespace {

Status ReadField(const json& v, const std::string& k, FunctionConfig& c) {
  auto want_int = [&](int& out) -> Status {
    if (!v.is_number_integer()) return InvalidArgument(k + " must be an integer");
    out = v.get<int>();
    return Status::Ok();
  };
  auto want_str = [&](std::string& out) -> Status {
    if (!v.is_string()) return InvalidArgument(k + " must be a string");
    out = v.get<std::string>();
    return Status::Ok();
  };
  if (k == "runtime") return want_str(c.runtime);
  if (k == "handler") return want_str(c.handler);
  if (k == "model_loading") return want_str(c.model_loading);
  if (k == "description") return want_str(c.description);
  if (k == "memory_mb") return want_int(c.memory_mb);
  if (k == "timeout_s") return want_int(c.timeout_s);
  if (k == "ephemeral_storage_mb") return want_int(c.ephemeral_storage_mb);
  if (k == "provisioned_concurrency") return want_int(c.provisioned_concurrency);
  if (k == "idle_timeout_s") return want_int(c.idle_timeout_s);
  if (k == "max_concurrency_per_instance") return want_int(c.max_concurrency_per_instance);
  if (k == "retrain_every_s") return want_int(c.retrain_every_s);
  if (k == "retrain_after_labels") return want_int(c.retrain_after_labels);
  if (k == "reserved_concurrency") {
    if (v.is_null()) {
      c.reserved_concurrency.reset();
      return Status::Ok();
    }
    int n = 0;
    MLFAAS_RETURN_IF_ERROR(want_int(n));
    c.reserved_concurrency = n;
    return Status::Ok();
  }
  if (k == "environment") {
    if (!v.is_object()) return InvalidArgument("environment must be an object");
    c.environment.clear();
    for (const auto& [ek, ev] : v.items()) {
      if (!ev.is_string()) return InvalidArgument("environment." + ek + " must be a string");
      c.environment[ek] = ev.get<std::string>();
    }
    return Status::Ok();
  }
  return InvalidArgument("unknown config field '" + k + "'");
}

}  // namespace

StatusOr<FunctionConfig> FunctionConfigFromJson(const json& j, const FunctionConfig& base) {
  if (!j.is_object()) return InvalidArgument("function config must be a JSON object");
  FunctionConfig c = base;
  for (const auto& [k, v] : j.items()) MLFAAS_RETURN_IF_ERROR(ReadField(v, k, c));
  return c;
}

json ToJson(const VersionInfo& v) {
  return json{{"function", v.function},       {"version", v.version},
              {"code_digest", v.code_digest}, {"model_digest", v.model_digest},
              {"description", v.description}, {"config", ToJson(v.config)},
              {"created_at", v.created_at}};
}

json ToJson(const FunctionInfo& f) {
  return json{{"name", f.name},
              {"created_at", f.created_at},
              {"updated_at", f.updated_at},
              {"latest", ToJson(f.latest)}};
}

json ToJson(const AliasInfo& a) {
  return json{{"function", a.function},
              {"name", a.name},
              {"version", a.version},
              {"canary_version", a.canary_version ? json(*a.canary_version) : json(nullptr)},
              {"canary_weight", a.canary_weight},
              {"description", a.description}};
}

namespace {

// Reads field `key` of object `j` into `out` when present (required: also when absent, an error).
// `where` prefixes the field's name in messages ("latest." for a nested record).
Status ReadString(const json& j, const char* key, const std::string& where, bool required,
                  std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) {
    return required ? InvalidArgument(where + key + " is missing") : Status::Ok();
  }
  if (!it->is_string()) return InvalidArgument(where + key + " must be a string");
  out = it->get<std::string>();
  return Status::Ok();
}

StatusOr<VersionInfo> VersionInfoAt(const json& j, const std::string& where) {
  if (!j.is_object()) {
    return InvalidArgument((where.empty() ? "version" : where.substr(0, where.size() - 1)) +
                           " must be a JSON object");
  }
  VersionInfo v;
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "function", where, true, v.function));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "version", where, true, v.version));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "code_digest", where, false, v.code_digest));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "model_digest", where, false, v.model_digest));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "description", where, false, v.description));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "created_at", where, false, v.created_at));
  auto config = j.find("config");
  if (config == j.end()) return InvalidArgument(where + "config is missing");
  auto c = FunctionConfigFromJson(*config);
  if (!c.ok()) return c.status().WithPrefix(where + "config");
  v.config = std::move(c).value();
  return v;
}

}  // namespace

StatusOr<VersionInfo> VersionInfoFromJson(const json& j) { return VersionInfoAt(j, ""); }

StatusOr<FunctionInfo> FunctionInfoFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("function must be a JSON object");
  FunctionInfo f;
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "name", "", true, f.name));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "created_at", "", false, f.created_at));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "updated_at", "", false, f.updated_at));
  auto latest = j.find("latest");
  if (latest == j.end()) return InvalidArgument("latest is missing");
  MLFAAS_ASSIGN_OR_RETURN(f.latest, VersionInfoAt(*latest, "latest."));
  return f;
}

StatusOr<AliasInfo> AliasInfoFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("alias must be a JSON object");
  AliasInfo a;
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "function", "", true, a.function));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "name", "", true, a.name));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "version", "", true, a.version));
  MLFAAS_RETURN_IF_ERROR(ReadString(j, "description", "", false, a.description));
  if (auto it = j.find("canary_version"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return InvalidArgument("canary_version must be a string or null");
    a.canary_version = it->get<std::string>();
  }
  if (auto it = j.find("canary_weight"); it != j.end()) {
    if (!it->is_number()) return InvalidArgument("canary_weight must be a number");
    a.canary_weight = it->get<double>();
  }
  return a;
}

nlohmann::json MlfaasTags(const FunctionConfig& c) {
  nlohmann::json tags = {
      {"mlfaas:idle-timeout", std::to_string(c.idle_timeout_s)},
      {"mlfaas:model-loading", c.model_loading},
      {"mlfaas:provisioned-concurrency", std::to_string(c.provisioned_concurrency)}};
  if (c.reserved_concurrency) {
    tags["mlfaas:reserved-concurrency"] = std::to_string(*c.reserved_concurrency);
  }
  if (c.max_concurrency_per_instance != 1) {
    tags["mlfaas:max-concurrency-per-instance"] = std::to_string(c.max_concurrency_per_instance);
  }
  return tags;
}

}  // namespace mlfaas::registry
