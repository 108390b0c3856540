// PgRegistry: published versions. Aliases and Resolve live in pg_registry_aliases.cc.
#include <string>

#include "common/json.h"
#include "registry/config_json.h"
#include "registry/pg_registry.h"

namespace mlfaas::registry {
namespace {

constexpr const char* kPgSelectVersion =
    "SELECT number, code_digest, model_digest, config, created_at, description FROM versions "
    "WHERE function = $1";

StatusOr<VersionInfo> PgVersionRow(const std::string& name, const PgRows& r, int i) {
  VersionInfo v;
  v.function = name;
  v.version = std::to_string(r.Int(i, 0));
  v.code_digest = r.Text(i, 1);
  v.model_digest = r.Text(i, 2);
  auto j = ParseJson(r.Text(i, 3));
  if (!j.ok()) return DataLoss("stored config of " + name + ":" + v.version + " is bad");
  MLFAAS_ASSIGN_OR_RETURN(v.config, FunctionConfigFromJson(*j));
  v.created_at = r.Text(i, 4);
  v.description = r.Text(i, 5);
  return v;
}

}  // namespace

StatusOr<VersionInfo> PgRegistry::LoadVersion(const std::string& name, int64_t number) {
  MLFAAS_ASSIGN_OR_RETURN(PgRows r, db_->Exec(std::string(kPgSelectVersion) + " AND number = $2",
                                              {name, PgInt(number)}));
  if (r.empty())
    return NotFound("function '" + name + "' has no version " + std::to_string(number));
  return PgVersionRow(name, r, 0);
}

StatusOr<VersionInfo> PgRegistry::PublishVersion(const std::string& name,
                                                 const std::string& description) {
  if (description.size() > 256) return InvalidArgument("description exceeds 256 characters");
  std::lock_guard<std::mutex> lock(mu_);
  VersionInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    // The row lock makes publishers of this function (any thread, process or host) take turns;
    // READ COMMITTED: once it is granted, every statement below sees the previous one's commit.
    MLFAAS_RETURN_IF_ERROR(LockFunction(name));
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
    const std::string config_json = ToJson(f.latest.config).dump();
    MLFAAS_ASSIGN_OR_RETURN(
        PgRows r,
        db_->Exec("SELECT f.next_version, v.number, v.code_digest, v.config FROM functions f "
                  "LEFT JOIN versions v ON v.function = f.name AND v.number = "
                  "(SELECT max(number) FROM versions WHERE function = f.name) WHERE f.name = $1",
                  {name}));
    if (r.empty()) return NotFound("function '" + name + "' does not exist");
    const int64_t next = r.Int(0, 0);
    if (!r.IsNull(0, 1) && r.Text(0, 2) == f.latest.code_digest && r.Text(0, 3) == config_json) {
      // Nothing changed: the newest version, as Lambda does.
      MLFAAS_ASSIGN_OR_RETURN(out, LoadVersion(name, r.Int(0, 1)));
      return Status::Ok();
    }
    MLFAAS_RETURN_IF_ERROR(
        db_->Exec("INSERT INTO versions(function, number, code_digest, model_digest, config, "
                  "description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                  {name, PgInt(next), f.latest.code_digest, f.latest.model_digest, config_json,
                   description, Now()})
            .status());
    MLFAAS_RETURN_IF_ERROR(
        db_->Exec("UPDATE functions SET next_version = $2 + 1 WHERE name = $1", {name, PgInt(next)})
            .status());
    MLFAAS_ASSIGN_OR_RETURN(out, LoadVersion(name, next));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<VersionInfo>> PgRegistry::ListVersions(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<VersionInfo> out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
    MLFAAS_ASSIGN_OR_RETURN(PgRows r,
                            db_->Exec(std::string(kPgSelectVersion) + " ORDER BY number", {name}));
    out = {f.latest};
    for (int i = 0; i < r.size(); ++i) {
      MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, PgVersionRow(name, r, i));
      out.push_back(std::move(v));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<VersionInfo> PgRegistry::GetVersion(const std::string& name, const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  VersionInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kRead, [&]() -> Status {
    MLFAAS_ASSIGN_OR_RETURN(out, LoadQualified(name, version));
    return Status::Ok();
  }));
  return out;
}

StatusOr<VersionInfo> PgRegistry::SetProvisionedConcurrency(const std::string& name,
                                                            const std::string& version, int count) {
  if (version.empty() || version == kLatest) {
    return InvalidArgument("provisioned concurrency is set on a published version, not $LATEST");
  }
  std::lock_guard<std::mutex> lock(mu_);
  VersionInfo out;
  MLFAAS_RETURN_IF_ERROR(db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(name));
    MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, LoadQualified(name, version));
    FunctionConfig config = v.config;
    config.provisioned_concurrency = count;
    MLFAAS_RETURN_IF_ERROR(ValidateConfig(config));
    MLFAAS_ASSIGN_OR_RETURN(int64_t number, ParseVersionNumber(v.version));
    MLFAAS_RETURN_IF_ERROR(
        db_->Exec("UPDATE versions SET config = $3 WHERE function = $1 AND number = $2",
                  {name, PgInt(number), ToJson(config).dump()})
            .status());
    v.config = config;
    out = std::move(v);
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<std::string>> PgRegistry::AliasesUsing(const std::string& function,
                                                            int64_t number) {
  MLFAAS_ASSIGN_OR_RETURN(
      PgRows r, db_->Exec("SELECT name FROM aliases WHERE function = $1 AND "
                          "(version = $2 OR canary_version = $2) ORDER BY name COLLATE \"C\"",
                          {function, PgInt(number)}));
  std::vector<std::string> names;
  for (int i = 0; i < r.size(); ++i) names.push_back(r.Text(i, 0));
  return names;
}

Status PgRegistry::DeleteVersion(const std::string& name, const std::string& version) {
  if (version == kLatest) {
    return InvalidArgument("cannot delete $LATEST; delete the function instead");
  }
  MLFAAS_ASSIGN_OR_RETURN(int64_t n, ParseVersionNumber(version));
  std::lock_guard<std::mutex> lock(mu_);
  return db_->InTxn(PgDb::TxnMode::kWrite, [&]() -> Status {
    MLFAAS_RETURN_IF_ERROR(LockFunction(name));
    MLFAAS_RETURN_IF_ERROR(LoadQualified(name, version).status());
    MLFAAS_ASSIGN_OR_RETURN(auto users, AliasesUsing(name, n));
    if (!users.empty()) {
      return FailedPrecondition("version " + version + " of '" + name + "' is used by alias '" +
                                users.front() + "'; update or delete the alias first");
    }
    return db_->Exec("DELETE FROM versions WHERE function = $1 AND number = $2", {name, PgInt(n)})
        .status();
  });
}

}  // namespace mlfaas::registry
