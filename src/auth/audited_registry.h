// A Registry that records every write (a deploy action) in the audit log: who (the principal
// given at construction), what, on which function, when, and how it ended. Reads pass through.
// The CLI wraps its registry in one; the HTTP control plane does the same per caller.
#pragma once

#include <string>

#include "auth/auth_store.h"
#include "registry/registry.h"

namespace mlfaas::auth {

class AuditedRegistry final : public registry::Registry {
 public:
  // `inner` and `audit` must outlive this. `source`: "cli", "http 127.0.0.1:5123", ...
  AuditedRegistry(registry::Registry& inner, AuthStore& audit, std::string principal,
                  std::string source)
      : inner_(inner),
        audit_(audit),
        principal_(std::move(principal)),
        source_(std::move(source)) {}

  StatusOr<registry::FunctionInfo> CreateFunction(const std::string& name,
                                                  const std::string& package_path,
                                                  const registry::FunctionConfig& config) override;
  StatusOr<registry::FunctionInfo> UpdateCode(const std::string& name,
                                              const std::string& package_path) override;
  StatusOr<registry::FunctionInfo> UpdateConfig(const std::string& name,
                                                const registry::FunctionConfig& config) override;
  StatusOr<registry::FunctionInfo> GetFunction(const std::string& name) override {
    return inner_.GetFunction(name);
  }
  StatusOr<std::vector<registry::FunctionInfo>> ListFunctions() override {
    return inner_.ListFunctions();
  }
  Status DeleteFunction(const std::string& name) override;
  StatusOr<registry::VersionInfo> PublishVersion(const std::string& name,
                                                 const std::string& description) override;
  StatusOr<std::vector<registry::VersionInfo>> ListVersions(const std::string& name) override {
    return inner_.ListVersions(name);
  }
  StatusOr<registry::VersionInfo> GetVersion(const std::string& name,
                                             const std::string& version) override {
    return inner_.GetVersion(name, version);
  }
  Status DeleteVersion(const std::string& name, const std::string& version) override;
  StatusOr<registry::VersionInfo> SetProvisionedConcurrency(const std::string& name,
                                                            const std::string& version,
                                                            int count) override;
  StatusOr<registry::AliasInfo> CreateAlias(const registry::AliasInfo& alias) override;
  StatusOr<registry::AliasInfo> UpdateAlias(const registry::AliasInfo& alias) override;
  StatusOr<registry::AliasInfo> GetAlias(const std::string& function,
                                         const std::string& name) override {
    return inner_.GetAlias(function, name);
  }
  StatusOr<std::vector<registry::AliasInfo>> ListAliases(const std::string& function) override {
    return inner_.ListAliases(function);
  }
  Status DeleteAlias(const std::string& function, const std::string& name) override;
  StatusOr<registry::VersionInfo> Resolve(const std::string& function, const std::string& qualifier,
                                          double uniform01) override {
    return inner_.Resolve(function, qualifier, uniform01);
  }
  StatusOr<std::string> PackagePath(const std::string& code_digest) override {
    return inner_.PackagePath(code_digest);
  }

 private:
  // Records the action with its outcome, and returns the outcome unchanged. A failure to write
  // the audit entry is reported on stderr-level logging but never changes the action's result
  // (the action has happened).
  template <typename T>
  T Note(const std::string& action, const std::string& resource, T result,
         const std::string& detail = "");

  registry::Registry& inner_;
  AuthStore& audit_;
  const std::string principal_;
  const std::string source_;
};

}  // namespace mlfaas::auth
