// PgRegistry: the Registry over PostgreSQL (libpq) and a BlobStore, so that several gateways
// (and `mlfaas` commands on several hosts) share one registry. Same rules, error codes and
// messages as SqliteRegistry; schema and concurrency model: docs/registry_schema.md.
//
// Thread-safety: one connection per PgRegistry, guarded by a mutex, so every method may be
// called from any thread (calls are serialized within a process). Across processes, every
// read-modify-write is one READ COMMITTED transaction that first locks the function's row
// (SELECT ... FOR UPDATE): two publishers of a function, wherever they run, take turns, and the
// second reads the counter the first committed, so a version number is never handed out twice.
// Reads are REPEATABLE READ, READ ONLY transactions (one snapshot). A broken connection is
// re-established once per call (the interrupted transaction is run again).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "registry/blob_store.h"
#include "registry/pg_db.h"
#include "registry/registry.h"
#include "registry/registry_base.h"

namespace mlfaas::registry {

class PgRegistry final : public RegistryBase {
 public:
  // Connects to `url` (postgres://...), applies migrations, stores packages in `blobs`.
  // Unavailable when the database cannot be reached. `clock` must outlive the registry.
  static StatusOr<std::unique_ptr<PgRegistry>> Open(const std::string& url,
                                                    std::unique_ptr<BlobStore> blobs,
                                                    const Clock& clock);

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

  // The server process serving this registry's connection (tests break it on purpose).
  int BackendPid();

 private:
  PgRegistry(std::unique_ptr<PgDb> db, std::unique_ptr<BlobStore> blobs, const Clock& clock)
      : RegistryBase(std::move(blobs), clock), db_(std::move(db)) {}

  // The helpers below require mu_ held and a transaction open (db_->InTxn).
  // Locks the function's row until the transaction ends (nothing if it does not exist).
  Status LockFunction(const std::string& name);
  Status InsertCode(const StoredCode& code);
  StatusOr<StoredCode> LoadCode(const std::string& digest);
  StatusOr<FunctionInfo> LoadFunction(const std::string& name) override;
  StatusOr<VersionInfo> LoadVersion(const std::string& name, int64_t number) override;
  StatusOr<AliasInfo> LoadAlias(const std::string& function, const std::string& name) override;
  Status WriteAlias(const AliasInfo& a, bool create);
  StatusOr<std::vector<std::string>> AliasesUsing(const std::string& function, int64_t number);

  std::mutex mu_;
  std::unique_ptr<PgDb> db_;  // guarded by mu_
};

}  // namespace mlfaas::registry
