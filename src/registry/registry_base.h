// What the Registry backends (SqliteRegistry, PgRegistry) share: the rules that do not depend on
// the store (alias checks, qualifier lookups, validating and storing a package's blob, stamps).
// A backend implements the store lookups below; the shared rules call them with the backend's
// lock held and its transaction open, as the backend's own methods do.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "registry/blob_store.h"
#include "registry/registry.h"

namespace mlfaas::registry {

class RegistryBase : public Registry {
 protected:
  struct StoredCode {
    std::string digest;
    std::string model_digest;  // empty: no manifest
    bool has_bootstrap = false;
    int64_t size = 0;  // bytes of the zip
  };

  RegistryBase(std::unique_ptr<BlobStore> blobs, const Clock& clock)
      : blobs_(std::move(blobs)), clock_(clock) {}

  // Store lookups: NotFound naming the function or version.
  virtual StatusOr<FunctionInfo> LoadFunction(const std::string& name) = 0;
  virtual StatusOr<VersionInfo> LoadVersion(const std::string& name, int64_t number) = 0;
  virtual StatusOr<AliasInfo> LoadAlias(const std::string& function, const std::string& name) = 0;

  // RFC 3339 UTC with milliseconds, from the clock.
  std::string Now() const;
  // Validates the zip (package::InspectCode) and stores it as a blob. No database access.
  StatusOr<StoredCode> StoreCode(const std::string& package_path);
  // CreateFunction's checks before it writes: the name, the config, that the function does not
  // exist yet, and the package (validated, stored as a blob, fit for the runtime).
  StatusOr<StoredCode> StoreNewFunctionCode(const std::string& name,
                                            const std::string& package_path,
                                            const FunctionConfig& config);
  // "$LATEST" (or "") or a version number; NotFound for a missing function or version.
  StatusOr<VersionInfo> LoadQualified(const std::string& name, const std::string& version);
  // Resolve's lookup: `qualifier` ("" / $LATEST, a version number or an alias, whose canary is
  // picked when uniform01 < its weight) to the stored version.
  StatusOr<VersionInfo> LoadResolved(const std::string& function, const std::string& qualifier,
                                     double uniform01);
  // Validates `a` against the rules and the stored versions.
  Status CheckAlias(const AliasInfo& a);

  std::unique_ptr<BlobStore> blobs_;
  const Clock& clock_;
};

}  // namespace mlfaas::registry
