#include "auth/audited_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace mlfaas::auth {
namespace {

Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

std::string Fn(const std::string& name) { return "function:" + name; }

}  // namespace

template <typename T>
T AuditedRegistry::Note(const std::string& action, const std::string& resource, T result,
                        const std::string& detail) {
  const Status st = StatusOf(result);
  AuditEntry e;
  e.principal = principal_;
  e.source = source_;
  e.action = action;
  e.resource = resource;
  e.result = st.ok() ? "ok" : "error";
  e.detail = st.ok() ? detail : st.message();
  if (Status recorded = audit_.Record(std::move(e)); !recorded.ok()) {
    spdlog::error("audit log: cannot record {} on {}: {}", action, resource, recorded.message());
  }
  return result;
}

StatusOr<registry::FunctionInfo> AuditedRegistry::CreateFunction(
    const std::string& name, const std::string& package_path,
    const registry::FunctionConfig& config) {
  auto r = inner_.CreateFunction(name, package_path, config);
  std::string detail = r.ok() ? "code " + r->latest.code_digest.substr(0, 12) : "";
  return Note("CreateFunction", Fn(name), std::move(r), detail);
}

StatusOr<registry::FunctionInfo> AuditedRegistry::UpdateCode(const std::string& name,
                                                             const std::string& package_path) {
  auto r = inner_.UpdateCode(name, package_path);
  std::string detail = r.ok() ? "code " + r->latest.code_digest.substr(0, 12) : "";
  return Note("UpdateFunctionCode", Fn(name), std::move(r), detail);
}

StatusOr<registry::FunctionInfo> AuditedRegistry::UpdateConfig(
    const std::string& name, const registry::FunctionConfig& config) {
  return Note("UpdateFunctionConfiguration", Fn(name), inner_.UpdateConfig(name, config));
}

Status AuditedRegistry::DeleteFunction(const std::string& name) {
  return Note("DeleteFunction", Fn(name), inner_.DeleteFunction(name));
}

StatusOr<registry::VersionInfo> AuditedRegistry::PublishVersion(const std::string& name,
                                                                const std::string& description) {
  auto r = inner_.PublishVersion(name, description);
  std::string detail = r.ok() ? "version " + r->version : "";
  return Note("PublishVersion", Fn(name), std::move(r), detail);
}

Status AuditedRegistry::DeleteVersion(const std::string& name, const std::string& version) {
  return Note("DeleteVersion", Fn(name) + ":" + version, inner_.DeleteVersion(name, version));
}

StatusOr<registry::VersionInfo> AuditedRegistry::SetProvisionedConcurrency(
    const std::string& name, const std::string& version, int count) {
  return Note("PutProvisionedConcurrencyConfig", Fn(name) + ":" + version,
              inner_.SetProvisionedConcurrency(name, version, count),
              "provisioned " + std::to_string(count));
}

namespace {
std::string AliasDetail(const registry::AliasInfo& a) {
  std::string d = "version " + a.version;
  if (a.canary_version) d += fmt::format(", canary {} at {:g}", *a.canary_version, a.canary_weight);
  return d;
}
}  // namespace

StatusOr<registry::AliasInfo> AuditedRegistry::CreateAlias(const registry::AliasInfo& alias) {
  return Note("CreateAlias", Fn(alias.function) + ":" + alias.name, inner_.CreateAlias(alias),
              AliasDetail(alias));
}

StatusOr<registry::AliasInfo> AuditedRegistry::UpdateAlias(const registry::AliasInfo& alias) {
  return Note("UpdateAlias", Fn(alias.function) + ":" + alias.name, inner_.UpdateAlias(alias),
              AliasDetail(alias));
}

Status AuditedRegistry::DeleteAlias(const std::string& function, const std::string& name) {
  return Note("DeleteAlias", Fn(function) + ":" + name, inner_.DeleteAlias(function, name));
}

}  // namespace mlfaas::auth
