// PgRegistry: aliases and Resolve (the request-path lookup).
#include <string>

#include "registry/pg_registry.h"

namespace mlfaas::registry {
namespace {

constexpr const char* kPgSelectAlias =
    "SELECT name, version, canary_version, canary_weight, description FROM aliases "
    "WHERE function = $1";

AliasInfo PgAliasRow(const std::string& function, const PgRows& r, int i) {
  AliasInfo a;
  a.function = function;
  a.name = r.Text(i, 0);
  a.version = std::to_string(r.Int(i, 1));
  if (!r.IsNull(i, 2)) a.canary_version = std::to_string(r.Int(i, 2));
  a.canary_weight = r.Real(i, 3);
  a.description = r.Text(i, 4);
  return a;
}

}  // namespace

StatusOr<AliasInfo> PgRegistry::LoadAlias(const std::string& function, const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(
      PgRows r, db_->Exec(std::string(kPgSelectAlias) + " AND name = $2", {function, name}));
  if (r.empty()) {
    MLFAAS_RETURN_IF_ERROR(LoadFunction(function).status());
    return NotFound("function '" + function + "' has no alias '" + name + "'");
  }
  return PgAliasRow(function, r, 0);
}

Status PgRegistry::WriteAlias(const AliasInfo& a, bool create) {
  const char* sql =
      create ? "INSERT INTO aliases(function, name, version, canary_version, canary_weight, "
               "description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
               "ON CONFLICT (function, name) DO NOTHING RETURNING name"
             : "UPDATE aliases SET version = $3, canary_version = $4, canary_weight = $5, "
               "description = $6, updated_at = $7 WHERE function = $1 AND name = $2 "
               "RETURNING name";
  PgParam canary;
  if (a.canary_version) canary = PgInt(std::stoll(*a.canary_version));
  MLFAAS_ASSIGN_OR_RETURN(PgRows r,
                          db_->Exec(sql, {a.function, a.name, PgInt(std::stoll(a.version)), canary,
                                          PgReal(a.canary_weight), a.description, Now()}));
  if (create && r.empty()) {
    return AlreadyExists("alias '" + a.name + "' of function '" + a.function + "' already exists");
  }
  return Status::Ok();
}

StatusOr<AliasInfo> PgRegistry::CreateAlias(const AliasInfo& alias) {
  std::lock_guard<std::mutex> lock(mu_);
  AliasInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(alias.function));
    MLFAAS_RETURN_IF_ERROR(CheckAlias(alias));
    if (LoadAlias(alias.function, alias.name).ok()) {
      return AlreadyExists("alias '" + alias.name + "' of function '" + alias.function +
                           "' already exists");
    }
    MLFAAS_RETURN_IF_ERROR(WriteAlias(alias, /*create=*/true));
    MLFAAS_ASSIGN_OR_RETURN(out, LoadAlias(alias.function, alias.name));
    return Status::Ok();
  }));
  return out;
}

StatusOr<AliasInfo> PgRegistry::UpdateAlias(const AliasInfo& alias) {
  std::lock_guard<std::mutex> lock(mu_);
  AliasInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(alias.function));
    MLFAAS_RETURN_IF_ERROR(LoadAlias(alias.function, alias.name).status());
    MLFAAS_RETURN_IF_ERROR(CheckAlias(alias));
    MLFAAS_RETURN_IF_ERROR(WriteAlias(alias, /*create=*/false));
    MLFAAS_ASSIGN_OR_RETURN(out, LoadAlias(alias.function, alias.name));
    return Status::Ok();
  }));
  return out;
}

StatusOr<AliasInfo> PgRegistry::GetAlias(const std::string& function, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  AliasInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    MLFAAS_ASSIGN_OR_RETURN(out, LoadAlias(function, name));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<AliasInfo>> PgRegistry::ListAliases(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AliasInfo> out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LoadFunction(function).status());
    MLFAAS_ASSIGN_OR_RETURN(
        PgRows r,
        db_->Exec(std::string(kPgSelectAlias) + " ORDER BY name COLLATE \"C\"", {function}));
    out.clear();
    for (int i = 0; i < r.size(); ++i) out.push_back(PgAliasRow(function, r, i));
    return Status::Ok();
  }));
  return out;
}

Status PgRegistry::DeleteAlias(const std::string& function, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(function));
    MLFAAS_RETURN_IF_ERROR(LoadAlias(function, name).status());
    return db_->Exec("DELETE FROM aliases WHERE function = $1 AND name = $2", {function, name})
        .status();
  });
}

StatusOr<VersionInfo> PgRegistry::Resolve(const std::string& function, const std::string& qualifier,
                                          double uniform01) {
  std::lock_guard<std::mutex> lock(mu_);
  VersionInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    MLFAAS_ASSIGN_OR_RETURN(out, LoadResolved(function, qualifier, uniform01));
    return Status::Ok();
  }));
  return out;
}

}  // namespace mlfaas::registry
