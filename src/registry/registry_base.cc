#include "registry/registry_base.h"

#include "common/fs.h"
#include "common/sha256.h"
#include "package/package.h"

namespace mlfaas::registry {

std::string RegistryBase::Now() const { return Rfc3339Millis(clock_.EpochMillis()); }

StatusOr<RegistryBase::StoredCode> RegistryBase::StoreCode(const std::string& package_path) {
  MLFAAS_ASSIGN_OR_RETURN(package::CodeInfo info, package::InspectCode(package_path));
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(package_path));
  if (Sha256Hex(bytes) != info.sha256) {
    return Unavailable("package " + package_path + " changed while it was being read");
  }
  MLFAAS_ASSIGN_OR_RETURN(std::string digest, blobs_->Put(bytes));
  StoredCode code;
  code.digest = digest;
  code.model_digest = info.manifest ? info.manifest->digest : "";
  code.has_bootstrap = info.has_bootstrap;
  code.size = static_cast<int64_t>(bytes.size());
  return code;
}

StatusOr<RegistryBase::StoredCode> RegistryBase::StoreNewFunctionCode(
    const std::string& name, const std::string& package_path, const FunctionConfig& config) {
  if (!IsValidFunctionName(name)) {
    return InvalidArgument("invalid function name '" + name + "' (must match [A-Za-z0-9_-]{1,64})");
  }
  MLFAAS_RETURN_IF_ERROR(ValidateConfig(config));
  if (GetFunction(name).ok()) return AlreadyExists("function '" + name + "' already exists");
  MLFAAS_ASSIGN_OR_RETURN(StoredCode code, StoreCode(package_path));
  MLFAAS_RETURN_IF_ERROR(
      CheckCodeForRuntime(config.runtime, !code.model_digest.empty(), code.has_bootstrap));
  return code;
}

StatusOr<VersionInfo> RegistryBase::LoadQualified(const std::string& name,
                                                  const std::string& version) {
  if (version.empty() || version == kLatest) {
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
    return f.latest;
  }
  MLFAAS_ASSIGN_OR_RETURN(int64_t n, ParseVersionNumber(version));
  auto v = LoadVersion(name, n);
  if (v.status().code() == StatusCode::kNotFound)
    MLFAAS_RETURN_IF_ERROR(LoadFunction(name).status());
  return v;
}

StatusOr<VersionInfo> RegistryBase::LoadResolved(const std::string& function,
                                                 const std::string& qualifier, double uniform01) {
  std::string version = qualifier;
  if (!qualifier.empty() && qualifier != kLatest && !ParseVersionNumber(qualifier).ok()) {
    if (!IsValidAliasName(qualifier)) {
      return InvalidArgument("invalid qualifier '" + qualifier +
                             "' (expected $LATEST, a version number or an alias)");
    }
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, LoadAlias(function, qualifier));
    const bool canary = a.canary_version && uniform01 < a.canary_weight;
    version = canary ? *a.canary_version : a.version;
  }
  return LoadQualified(function, version);
}

Status RegistryBase::CheckAlias(const AliasInfo& a) {
  if (!IsValidAliasName(a.name)) {
    return InvalidArgument("invalid alias name '" + a.name +
                           "' (must match [A-Za-z0-9_-]{1,64} and not be a number)");
  }
  if (a.description.size() > 256) return InvalidArgument("description exceeds 256 characters");
  MLFAAS_RETURN_IF_ERROR(LoadFunction(a.function).status());
  auto check_version = [&](const std::string& v, const char* what) -> Status {
    if (v == kLatest || v.empty()) {
      return InvalidArgument(std::string(what) + " must be a published version, not $LATEST");
    }
    MLFAAS_ASSIGN_OR_RETURN(int64_t n, ParseVersionNumber(v));
    Status st = LoadVersion(a.function, n).status();
    return st.ok() ? st : st.WithPrefix(std::string("alias ") + what);
  };
  MLFAAS_RETURN_IF_ERROR(check_version(a.version, "version"));
  if (!(a.canary_weight >= 0.0 && a.canary_weight <= 1.0)) {
    return InvalidArgument("canary weight must be between 0 and 1");
  }
  if (!a.canary_version) {
    if (a.canary_weight != 0.0) return InvalidArgument("canary weight needs a canary version");
    return Status::Ok();
  }
  MLFAAS_RETURN_IF_ERROR(check_version(*a.canary_version, "canary version"));
  if (std::stoll(*a.canary_version) == std::stoll(a.version)) {
    return InvalidArgument("canary version must differ from the alias version " + a.version);
  }
  return Status::Ok();
}

}  // namespace mlfaas::registry
