// A registry::Registry over a gateway's Lambda control plane (API 2015-03-31 and its mlfaas
// extras, docs/api.md "Remote CLI"): what `mlfaas --remote URL function|version|alias ...` runs
// against, so each command has one implementation for the home directory and for a gateway.
//
// Every record comes back from the "Mlfaas" fields of the answers (registry::ToJson of the
// gateway's own records), so output is the same as a local command's; the Lambda-shaped fields
// around them are for AWS SDKs and are not read. Errors are the gateway's, mapped back to the
// codes a local registry returns (GatewayClient). The gateway validates and audits every write.
//
// Differences from the local registry, which do not change what a command prints:
//  - UpdateConfig is up to five requests (the function read; its Lambda fields; the removal of
//    the concurrency cap; the mlfaas settings as tags; the function read back), sending only the
//    parts that change, not one transaction: when one fails the earlier ones stay applied, and
//    the command reports the failure.
//  - CreateFunction and UpdateCode read the package whole and send it base64-encoded in the
//    request (as Lambda's Code.ZipFile), so a package can be at most kMaxPackageBytes.
//  - PackagePath is Unimplemented: blobs stay on the gateway's machine.
//
// Thread-compatible: the gateway client is not shared between threads.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/gateway_client.h"
#include "registry/registry.h"

namespace mlfaas::cli {

// The largest package the gateway takes in a request (Lambda's limit on a direct upload; base64
// makes it about 67 MB of the gateway's 70 MB request limit). Larger ones are refused before
// anything is sent.
inline constexpr size_t kMaxPackageBytes = size_t{50} << 20;

class RemoteRegistry final : public registry::Registry {
 public:
  // `gateway` must outlive this.
  explicit RemoteRegistry(const GatewayClient& gateway) : gateway_(gateway) {}

  StatusOr<registry::FunctionInfo> CreateFunction(const std::string& name,
                                                  const std::string& package_path,
                                                  const registry::FunctionConfig& config) override;
  StatusOr<registry::FunctionInfo> UpdateCode(const std::string& name,
                                              const std::string& package_path) override;
  StatusOr<registry::FunctionInfo> UpdateConfig(const std::string& name,
                                                const registry::FunctionConfig& config) override;
  StatusOr<registry::FunctionInfo> GetFunction(const std::string& name) override;
  StatusOr<std::vector<registry::FunctionInfo>> ListFunctions() override;
  Status DeleteFunction(const std::string& name) override;

  StatusOr<registry::VersionInfo> PublishVersion(const std::string& name,
                                                 const std::string& description) override;
  StatusOr<std::vector<registry::VersionInfo>> ListVersions(const std::string& name) override;
  StatusOr<registry::VersionInfo> GetVersion(const std::string& name,
                                             const std::string& version) override;
  Status DeleteVersion(const std::string& name, const std::string& version) override;

  StatusOr<registry::AliasInfo> CreateAlias(const registry::AliasInfo& alias) override;
  StatusOr<registry::AliasInfo> UpdateAlias(const registry::AliasInfo& alias) override;
  StatusOr<registry::AliasInfo> GetAlias(const std::string& function,
                                         const std::string& name) override;
  StatusOr<std::vector<registry::AliasInfo>> ListAliases(const std::string& function) override;
  Status DeleteAlias(const std::string& function, const std::string& name) override;

  // GetVersion for "", $LATEST and numbers; GetAlias then GetVersion for an alias.
  StatusOr<registry::VersionInfo> Resolve(const std::string& function, const std::string& qualifier,
                                          double uniform01) override;
  StatusOr<std::string> PackagePath(const std::string& code_digest) override;

 private:
  StatusOr<registry::FunctionInfo> FunctionAfterWrite(const std::string& name,
                                                      const nlohmann::json& answer);

  const GatewayClient& gateway_;
};

}  // namespace mlfaas::cli
