// SqliteRegistry: published versions, aliases and Resolve.
#include <string>

#include "common/json.h"
#include "registry/config_json.h"
#include "registry/sqlite_registry.h"

namespace mlfaas::registry {
namespace {

constexpr const char* kSelectVersion =
    "SELECT code_digest, model_digest, config, created_at, description FROM versions "
    "WHERE function = ?1 AND number = ?2";

std::string NoVersion(const std::string& name, const std::string& v) {
  return "function '" + name + "' has no version " + v;
}

}  // namespace

StatusOr<VersionInfo> SqliteRegistry::LoadVersion(const std::string& name, int64_t number) {
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(kSelectVersion));
  st->Bind(1, name).Bind(2, number);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return NotFound(NoVersion(name, std::to_string(number)));
  VersionInfo v;
  v.function = name;
  v.version = std::to_string(number);
  v.code_digest = st->Text(0);
  v.model_digest = st->Text(1);
  auto j = ParseJson(st->Text(2));
  if (!j.ok()) return DataLoss("stored config of " + name + ":" + v.version + " is bad");
  MLFAAS_ASSIGN_OR_RETURN(v.config, FunctionConfigFromJson(*j));
  v.created_at = st->Text(3);
  v.description = st->Text(4);
  return v;
}

StatusOr<VersionInfo> SqliteRegistry::PublishVersion(const std::string& name,
                                                     const std::string& description) {
  if (description.size() > 256) return InvalidArgument("description exceeds 256 characters");
  std::lock_guard<std::mutex> lock(mu_);
  // IMMEDIATE: take the write lock before reading next_version, so no two publishers (threads
  // or processes) can read the same counter.
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
  std::string config_json = ToJson(f.latest.config).dump();
  int64_t next = 0;
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st,
        db_->Prepare(
            "SELECT f.next_version, v.number, v.code_digest, v.config FROM functions f "
            "LEFT JOIN versions v ON v.function = f.name AND v.number = "
            "(SELECT MAX(number) FROM versions WHERE function = f.name) WHERE f.name = ?1"));
    st->Bind(1, name);
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return NotFound("function '" + name + "' does not exist");
    next = st->Int(0);
    if (!st->IsNull(1) && st->Text(2) == f.latest.code_digest && st->Text(3) == config_json) {
      int64_t newest = st->Int(1);
      st.reset();
      return LoadVersion(name, newest);  // nothing changed: the newest version, as Lambda does
    }
  }
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("INSERT INTO versions(function, number, code_digest, model_digest, "
                              "config, description, created_at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    st->Bind(1, name).Bind(2, next).Bind(3, f.latest.code_digest).Bind(4, f.latest.model_digest);
    st->Bind(5, config_json).Bind(6, description).Bind(7, Now());
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("UPDATE functions SET next_version = ?2 + 1 WHERE name = ?1"));
    st->Bind(1, name).Bind(2, next);
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, LoadVersion(name, next));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return v;
}

StatusOr<std::vector<VersionInfo>> SqliteRegistry::ListVersions(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
  std::vector<int64_t> numbers;
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("SELECT number FROM versions WHERE function = ?1 ORDER BY number"));
    st->Bind(1, name);
    for (;;) {
      MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      numbers.push_back(st->Int(0));
    }
  }
  std::vector<VersionInfo> out{f.latest};
  for (int64_t n : numbers) {
    MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, LoadVersion(name, n));
    out.push_back(std::move(v));
  }
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return out;
}

StatusOr<VersionInfo> SqliteRegistry::GetVersion(const std::string& name,
                                                 const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, LoadQualified(name, version));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return v;
}

StatusOr<VersionInfo> SqliteRegistry::SetProvisionedConcurrency(const std::string& name,
                                                                const std::string& version,
                                                                int count) {
  if (version.empty() || version == kLatest) {
    return InvalidArgument("provisioned concurrency is set on a published version, not $LATEST");
  }
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, LoadQualified(name, version));
  FunctionConfig config = v.config;
  config.provisioned_concurrency = count;
  MLFAAS_RETURN_IF_ERROR(ValidateConfig(config));
  MLFAAS_ASSIGN_OR_RETURN(int64_t number, ParseVersionNumber(v.version));
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("UPDATE versions SET config = ?3 WHERE function = ?1 AND number = ?2"));
  st->Bind(1, name).Bind(2, number);
  st->Bind(3, ToJson(config).dump());
  MLFAAS_RETURN_IF_ERROR(st->Run());
  st.reset();
  v.config = config;
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return v;
}

StatusOr<std::vector<std::string>> SqliteRegistry::AliasesUsing(const std::string& function,
                                                                int64_t number) {
  MLFAAS_ASSIGN_OR_RETURN(
      auto st,
      db_->Prepare(
          "SELECT name FROM aliases WHERE function = ?1 AND (version = ?2 OR canary_version = ?2) "
          "ORDER BY name"));
  st->Bind(1, function).Bind(2, number);
  std::vector<std::string> names;
  for (;;) {
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return names;
    names.push_back(st->Text(0));
  }
}

Status SqliteRegistry::DeleteVersion(const std::string& name, const std::string& version) {
  if (version == kLatest) {
    return InvalidArgument("cannot delete $LATEST; delete the function instead");
  }
  MLFAAS_ASSIGN_OR_RETURN(int64_t n, ParseVersionNumber(version));
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_RETURN_IF_ERROR(LoadQualified(name, version).status());
  MLFAAS_ASSIGN_OR_RETURN(auto users, AliasesUsing(name, n));
  if (!users.empty()) {
    return FailedPrecondition("version " + version + " of '" + name + "' is used by alias '" +
                              users.front() + "'; update or delete the alias first");
  }
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("DELETE FROM versions WHERE function = ?1 AND number = ?2"));
    st->Bind(1, name).Bind(2, n);
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  return txn->Commit();
}

}  // namespace mlfaas::registry
