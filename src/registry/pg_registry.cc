// PgRegistry: opening, code blobs and functions ($LATEST). Versions, aliases and Resolve live in
// pg_registry_versions.cc.
#include "registry/pg_registry.h"

#include <system_error>

#include "common/fs.h"
#include "common/json.h"
#include "common/sha256.h"
#include "package/package.h"
#include "registry/config_json.h"
#include "registry/pg_schema.h"

namespace mlfaas::registry {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPgSelectFunction =
    "SELECT name, code_digest, model_digest, config, created_at, updated_at FROM functions";

StatusOr<FunctionInfo> PgFunctionRow(const PgRows& r, int i) {
  FunctionInfo f;
  f.name = r.Text(i, 0);
  f.created_at = r.Text(i, 4);
  f.updated_at = r.Text(i, 5);
  f.latest.function = f.name;
  f.latest.version = kLatest;
  f.latest.code_digest = r.Text(i, 1);
  f.latest.model_digest = r.Text(i, 2);
  f.latest.created_at = f.updated_at;
  auto j = ParseJson(r.Text(i, 3));
  if (!j.ok()) return DataLoss("stored config: " + j.status().message());
  MLFAAS_ASSIGN_OR_RETURN(f.latest.config, FunctionConfigFromJson(*j));
  return f;
}

}  // namespace

StatusOr<std::unique_ptr<PgRegistry>> PgRegistry::Open(const std::string& url,
                                                       std::unique_ptr<BlobStore> blobs,
                                                       const Clock& clock) {
  MLFAAS_ASSIGN_OR_RETURN(auto db, PgDb::Connect(url));
  MLFAAS_RETURN_IF_ERROR(PgMigrate(*db));
  return std::unique_ptr<PgRegistry>(new PgRegistry(std::move(db), std::move(blobs), clock));
}

int PgRegistry::BackendPid() {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->BackendPid();
}

Status PgRegistry::LockFunction(const std::string& name) {
  return db_->Exec("SELECT 1 FROM functions WHERE name = $1 FOR UPDATE", {name}).status();
}

Status PgRegistry::InsertCode(const StoredCode& code) {
  return db_
      ->Exec(
          "INSERT INTO code(digest, size_bytes, model_digest, has_bootstrap, created_at) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
          {code.digest, PgInt(code.size), code.model_digest, PgBool(code.has_bootstrap), Now()})
      .status();
}

StatusOr<RegistryBase::StoredCode> PgRegistry::LoadCode(const std::string& digest) {
  MLFAAS_ASSIGN_OR_RETURN(
      PgRows r,
      db_->Exec("SELECT model_digest, has_bootstrap FROM code WHERE digest = $1", {digest}));
  if (r.empty()) return DataLoss("code " + digest + " is referenced but not recorded");
  return StoredCode{digest, r.Text(0, 0), r.Bool(0, 1), 0};
}

StatusOr<FunctionInfo> PgRegistry::LoadFunction(const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(PgRows r,
                          db_->Exec(std::string(kPgSelectFunction) + " WHERE name = $1", {name}));
  if (r.empty()) return NotFound("function '" + name + "' does not exist");
  return PgFunctionRow(r, 0);
}

StatusOr<FunctionInfo> PgRegistry::CreateFunction(const std::string& name,
                                                  const std::string& package_path,
                                                  const FunctionConfig& config) {
  MLFAAS_ASSIGN_OR_RETURN(StoredCode code, StoreNewFunctionCode(name, package_path, config));
  std::lock_guard<std::mutex> lock(mu_);
  FunctionInfo f;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(InsertCode(code));
    const std::string now = Now();
    MLFAAS_ASSIGN_OR_RETURN(
        PgRows r, db_->Exec("INSERT INTO functions(name, code_digest, model_digest, config, "
                            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) "
                            "ON CONFLICT (name) DO NOTHING RETURNING name",
                            {name, code.digest, code.model_digest, ToJson(config).dump(), now}));
    if (r.empty()) return AlreadyExists("function '" + name + "' already exists");
    MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
    return Status::Ok();
  }));
  return f;
}

StatusOr<FunctionInfo> PgRegistry::UpdateCode(const std::string& name,
                                              const std::string& package_path) {
  MLFAAS_RETURN_IF_ERROR(GetFunction(name).status());
  MLFAAS_ASSIGN_OR_RETURN(StoredCode code, StoreCode(package_path));
  std::lock_guard<std::mutex> lock(mu_);
  FunctionInfo f;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(name));
    MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
    MLFAAS_RETURN_IF_ERROR(CheckCodeForRuntime(f.latest.config.runtime, !code.model_digest.empty(),
                                               code.has_bootstrap));
    MLFAAS_RETURN_IF_ERROR(InsertCode(code));
    MLFAAS_RETURN_IF_ERROR(db_->Exec("UPDATE functions SET code_digest = $2, model_digest = $3, "
                                     "updated_at = $4 WHERE name = $1",
                                     {name, code.digest, code.model_digest, Now()})
                               .status());
    MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
    return Status::Ok();
  }));
  return f;
}

StatusOr<FunctionInfo> PgRegistry::UpdateConfig(const std::string& name,
                                                const FunctionConfig& config) {
  MLFAAS_RETURN_IF_ERROR(ValidateConfig(config));
  std::lock_guard<std::mutex> lock(mu_);
  FunctionInfo f;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(name));
    MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
    MLFAAS_ASSIGN_OR_RETURN(StoredCode code, LoadCode(f.latest.code_digest));
    MLFAAS_RETURN_IF_ERROR(
        CheckCodeForRuntime(config.runtime, !code.model_digest.empty(), code.has_bootstrap));
    MLFAAS_RETURN_IF_ERROR(
        db_->Exec("UPDATE functions SET config = $2, updated_at = $3 WHERE name = $1",
                  {name, ToJson(config).dump(), Now()})
            .status());
    MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
    return Status::Ok();
  }));
  return f;
}

StatusOr<FunctionInfo> PgRegistry::GetFunction(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  FunctionInfo f;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
    return Status::Ok();
  }));
  return f;
}

StatusOr<std::vector<FunctionInfo>> PgRegistry::ListFunctions() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FunctionInfo> out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    out.clear();
    MLFAAS_ASSIGN_OR_RETURN(
        PgRows r, db_->Exec(std::string(kPgSelectFunction) + " ORDER BY name COLLATE \"C\""));
    for (int i = 0; i < r.size(); ++i) {
      MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, PgFunctionRow(r, i));
      out.push_back(std::move(f));
    }
    return Status::Ok();
  }));
  return out;
}

Status PgRegistry::DeleteFunction(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(name));
    MLFAAS_RETURN_IF_ERROR(LoadFunction(name).status());
    for (const char* sql :
         {"DELETE FROM aliases WHERE function = $1", "DELETE FROM versions WHERE function = $1",
          "DELETE FROM functions WHERE name = $1"}) {
      MLFAAS_RETURN_IF_ERROR(db_->Exec(sql, {name}).status());
    }
    return Status::Ok();
  });
}

StatusOr<std::string> PgRegistry::PackagePath(const std::string& code_digest) {
  MLFAAS_ASSIGN_OR_RETURN(fs::path p, blobs_->VerifiedPath(code_digest));
  return p.string();
}

}  // namespace mlfaas::registry
