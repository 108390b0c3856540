// SqliteRegistry: the Registry over SQLite (`<home>/registry.db`) and an FsBlobStore
// (`<home>/blobs`). Schema and concurrency model: docs/registry_schema.md.
//
// Thread-safety: one SQLite connection per SqliteRegistry, guarded by a mutex, so every method
// may be called from any thread (calls are serialized within a process; Resolve is one short
// read transaction over cached prepared statements). Across processes, SQLite WAL + busy
// timeout + BEGIN IMMEDIATE for every read-modify-write make concurrent writers safe: version
// numbers come from a per-function counter bumped in the publishing transaction.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "registry/blob_store.h"
#include "registry/registry.h"
#include "registry/registry_base.h"
#include "registry/sqlite_db.h"

namespace mlfaas::registry {

class SqliteRegistry final : public RegistryBase {
 public:
  // Creates `home` if needed, opens the database and applies migrations. `clock` (for
  // created_at/updated_at stamps) must outlive the registry.
  // `blob_dir`: where the packages go ("" = <home>/blobs).
  static StatusOr<std::unique_ptr<SqliteRegistry>> Open(const std::filesystem::path& home,
                                                        const Clock& clock,
                                                        const std::filesystem::path& blob_dir = {});

  StatusOr<FunctionInfo> CreateFunction(const std::string& name, const std::string& package_path,
                                        const FunctionConfig& config) override;
  StatusOr<FunctionInfo> UpdateCode(const std::string& name,
                                    const std::string& package_path) override;
  StatusOr<FunctionInfo> UpdateConfig(const std::string& name,
                                      const FunctionConfig& config) override;
  StatusOr<FunctionInfo> GetFunction(const std::string& name) override;
  StatusOr<std::vector<FunctionInfo>> ListFunctions() override;
  Status DeleteFunction(const std::string& name) override;

  StatusOr<VersionInfo> PublishVersion(const std::string& name,
                                       const std::string& description) override;
  StatusOr<std::vector<VersionInfo>> ListVersions(const std::string& name) override;
  StatusOr<VersionInfo> GetVersion(const std::string& name, const std::string& version) override;
  Status DeleteVersion(const std::string& name, const std::string& version) override;
  StatusOr<VersionInfo> SetProvisionedConcurrency(const std::string& name,
                                                  const std::string& version, int count) override;

  StatusOr<AliasInfo> CreateAlias(const AliasInfo& alias) override;
  StatusOr<AliasInfo> UpdateAlias(const AliasInfo& alias) override;
  StatusOr<AliasInfo> GetAlias(const std::string& function, const std::string& name) override;
  StatusOr<std::vector<AliasInfo>> ListAliases(const std::string& function) override;
  Status DeleteAlias(const std::string& function, const std::string& name) override;

  StatusOr<VersionInfo> Resolve(const std::string& function, const std::string& qualifier,
                                double uniform01) override;
  StatusOr<std::string> PackagePath(const std::string& code_digest) override;

 private:
  SqliteRegistry(std::unique_ptr<Db> db, std::unique_ptr<BlobStore> blobs, const Clock& clock)
      : RegistryBase(std::move(blobs), clock), db_(std::move(db)) {}

  // The helpers below require mu_ held (and, for consistency, an open transaction).
  Status InsertCode(const StoredCode& code, int64_t size);
  StatusOr<StoredCode> LoadCode(const std::string& digest);
  StatusOr<FunctionInfo> LoadFunction(const std::string& name) override;
  StatusOr<VersionInfo> LoadVersion(const std::string& name, int64_t number) override;
  StatusOr<AliasInfo> LoadAlias(const std::string& function, const std::string& name) override;
  Status WriteAlias(const AliasInfo& a, bool create);
  StatusOr<std::vector<std::string>> AliasesUsing(const std::string& function, int64_t number);

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace mlfaas::registry
