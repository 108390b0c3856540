// SqliteRegistry: aliases and Resolve (the request-path lookup).
#include <string>

#include "registry/sqlite_registry.h"

namespace mlfaas::registry {
namespace {

constexpr const char* kSelectAlias =
    "SELECT version, canary_version, canary_weight, description FROM aliases "
    "WHERE function = ?1 AND name = ?2";

}  // namespace

StatusOr<AliasInfo> SqliteRegistry::LoadAlias(const std::string& function,
                                              const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(kSelectAlias));
  st->Bind(1, function).Bind(2, name);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) {
    st.reset();
    MLFAAS_RETURN_IF_ERROR(LoadFunction(function).status());
    return NotFound("function '" + function + "' has no alias '" + name + "'");
  }
  AliasInfo a;
  a.function = function;
  a.name = name;
  a.version = std::to_string(st->Int(0));
  if (!st->IsNull(1)) a.canary_version = std::to_string(st->Int(1));
  a.canary_weight = st->Real(2);
  a.description = st->Text(3);
  return a;
}

Status SqliteRegistry::WriteAlias(const AliasInfo& a, bool create) {
  const char* sql =
      create ? "INSERT INTO aliases(function, name, version, canary_version, canary_weight, "
               "description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
             : "UPDATE aliases SET version = ?3, canary_version = ?4, canary_weight = ?5, "
               "description = ?6, updated_at = ?7 WHERE function = ?1 AND name = ?2";
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(sql));
  std::optional<int64_t> canary;
  if (a.canary_version) canary = std::stoll(*a.canary_version);
  st->Bind(1, a.function).Bind(2, a.name).Bind(3, int64_t{std::stoll(a.version)});
  st->Bind(4, canary).Bind(5, a.canary_weight).Bind(6, a.description).Bind(7, Now());
  Status run = st->Run();
  if (create && st->constraint_failed()) {
    return AlreadyExists("alias '" + a.name + "' of function '" + a.function + "' already exists");
  }
  return run;
}

StatusOr<AliasInfo> SqliteRegistry::CreateAlias(const AliasInfo& alias) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_RETURN_IF_ERROR(CheckAlias(alias));
  if (LoadAlias(alias.function, alias.name).ok()) {
    return AlreadyExists("alias '" + alias.name + "' of function '" + alias.function +
                         "' already exists");
  }
  MLFAAS_RETURN_IF_ERROR(WriteAlias(alias, /*create=*/true));
  MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, LoadAlias(alias.function, alias.name));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return a;
}

StatusOr<AliasInfo> SqliteRegistry::UpdateAlias(const AliasInfo& alias) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_RETURN_IF_ERROR(LoadAlias(alias.function, alias.name).status());
  MLFAAS_RETURN_IF_ERROR(CheckAlias(alias));
  MLFAAS_RETURN_IF_ERROR(WriteAlias(alias, /*create=*/false));
  MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, LoadAlias(alias.function, alias.name));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return a;
}

StatusOr<AliasInfo> SqliteRegistry::GetAlias(const std::string& function, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, LoadAlias(function, name));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return a;
}

StatusOr<std::vector<AliasInfo>> SqliteRegistry::ListAliases(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  MLFAAS_RETURN_IF_ERROR(LoadFunction(function).status());
  std::vector<std::string> names;
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("SELECT name FROM aliases WHERE function = ?1 ORDER BY name"));
    st->Bind(1, function);
    for (;;) {
      MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      names.push_back(st->Text(0));
    }
  }
  std::vector<AliasInfo> out;
  for (const auto& n : names) {
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, LoadAlias(function, n));
    out.push_back(std::move(a));
  }
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Status SqliteRegistry::DeleteAlias(const std::string& function, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_RETURN_IF_ERROR(LoadAlias(function, name).status());
  {
    MLFAAS_ASSIGN_OR_RETURN(auto st,
                            db_->Prepare("DELETE FROM aliases WHERE function = ?1 AND name = ?2"));
    st->Bind(1, function).Bind(2, name);
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  return txn->Commit();
}

StatusOr<VersionInfo> SqliteRegistry::Resolve(const std::string& function,
                                              const std::string& qualifier, double uniform01) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, LoadResolved(function, qualifier, uniform01));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return v;
}

}  // namespace mlfaas::registry
