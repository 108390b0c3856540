// SqliteRegistry: opening, code blobs and functions ($LATEST). Versions, aliases and Resolve
// live in sqlite_registry_versions.cc.
#include "registry/sqlite_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <system_error>

#include "common/fs.h"
#include "common/json.h"
#include "common/sha256.h"
#include "package/package.h"
#include "registry/config_json.h"
#include "registry/fs_blob_store.h"
#include "registry/schema.h"

namespace mlfaas::registry {
namespace fs = std::filesystem;

namespace {

constexpr int kBusyTimeoutMs = 30000;

constexpr const char* kSelectFunction =
    "SELECT code_digest, model_digest, config, created_at, updated_at FROM functions "
    "WHERE name = ?1";

StatusOr<FunctionConfig> ParseStoredConfig(const std::string& text) {
  auto j = ParseJson(text);
  if (!j.ok()) return DataLoss("stored config: " + j.status().message());
  return FunctionConfigFromJson(*j);
}

}  // namespace

Status CheckCodeForRuntime(const std::string& runtime, bool has_manifest, bool has_bootstrap) {
  if (runtime == "mlfaas" && !has_manifest) {
    return InvalidArgument("runtime 'mlfaas' needs a model package with manifest.json");
  }
  if (runtime == "provided" && !has_bootstrap) {
    return InvalidArgument("runtime 'provided' needs an executable 'bootstrap' in the package");
  }
  return Status::Ok();
}

StatusOr<int64_t> ParseVersionNumber(const std::string& s) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n < 1 || s[0] == '+') {
    return InvalidArgument("invalid version '" + s + "' (expected a number >= 1)");
  }
  return n;
}

Status PrepareHome(const fs::path& home) {
  std::error_code ec;
  const bool created = fs::create_directories(home, ec);
  if (ec) return InvalidArgument("cannot create home " + home.string() + ": " + ec.message());
  // chmod, not the umask, decides: a new home is 0700; an existing one loses every read and
  // write bit of group and others (a search bit stays: serving at relaxed isolation sets o+x,
  // docs/isolation.md). A home owned by someone else is left as it is.
  struct stat st {};
  if (::stat(home.c_str(), &st) == 0 && st.st_uid == ::geteuid()) {
    const mode_t mode = created ? 0700 : (st.st_mode & 07777 & ~mode_t{066}) | 0700;
    if ((st.st_mode & 07777) != mode && ::chmod(home.c_str(), mode) != 0) {
      return InvalidArgument("cannot make home " + home.string() +
                             " private: " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

fs::path DatabasePath(const fs::path& home) { return home / "registry.db"; }

StatusOr<std::unique_ptr<SqliteRegistry>> SqliteRegistry::Open(const fs::path& home,
                                                               const Clock& clock,
                                                               const fs::path& blob_dir) {
  MLFAAS_RETURN_IF_ERROR(PrepareHome(home));
  const fs::path blobs = blob_dir.empty() ? home / "blobs" : blob_dir;
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (ec)
    return InvalidArgument("cannot create blob directory " + blobs.string() + ": " + ec.message());
  MLFAAS_ASSIGN_OR_RETURN(auto db, Db::Open(DatabasePath(home), kBusyTimeoutMs));
  MLFAAS_RETURN_IF_ERROR(Migrate(*db));
  return std::unique_ptr<SqliteRegistry>(
      new SqliteRegistry(std::move(db), std::make_unique<FsBlobStore>(blobs), clock));
}

Status SqliteRegistry::InsertCode(const StoredCode& code, int64_t size) {
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("INSERT OR IGNORE INTO code(digest, size_bytes, model_digest, "
                            "has_bootstrap, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st->Bind(1, code.digest).Bind(2, size).Bind(3, code.model_digest);
  st->Bind(4, int64_t{code.has_bootstrap ? 1 : 0}).Bind(5, Now());
  return st->Run();
}

StatusOr<RegistryBase::StoredCode> SqliteRegistry::LoadCode(const std::string& digest) {
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("SELECT model_digest, has_bootstrap FROM code WHERE digest = ?1"));
  st->Bind(1, digest);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return DataLoss("code " + digest + " is referenced but not recorded");
  return StoredCode{digest, st->Text(0), st->Int(1) != 0, 0};
}

StatusOr<FunctionInfo> SqliteRegistry::LoadFunction(const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(kSelectFunction));
  st->Bind(1, name);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return NotFound("function '" + name + "' does not exist");
  FunctionInfo f;
  f.name = name;
  f.created_at = st->Text(3);
  f.updated_at = st->Text(4);
  f.latest.function = name;
  f.latest.version = kLatest;
  f.latest.code_digest = st->Text(0);
  f.latest.model_digest = st->Text(1);
  f.latest.created_at = f.updated_at;
  MLFAAS_ASSIGN_OR_RETURN(f.latest.config, ParseStoredConfig(st->Text(2)));
  return f;
}

StatusOr<FunctionInfo> SqliteRegistry::CreateFunction(const std::string& name,
                                                      const std::string& package_path,
                                                      const FunctionConfig& config) {
  MLFAAS_ASSIGN_OR_RETURN(StoredCode code, StoreNewFunctionCode(name, package_path, config));
  std::error_code ec;
  auto size = static_cast<int64_t>(fs::file_size(package_path, ec));
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_RETURN_IF_ERROR(InsertCode(code, ec ? 0 : size));
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("INSERT INTO functions(name, code_digest, model_digest, config, "
                              "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"));
    st->Bind(1, name).Bind(2, code.digest).Bind(3, code.model_digest);
    st->Bind(4, ToJson(config).dump()).Bind(5, Now());
    Status run = st->Run();
    if (st->constraint_failed()) return AlreadyExists("function '" + name + "' already exists");
    MLFAAS_RETURN_IF_ERROR(run);
  }
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return f;
}

StatusOr<FunctionInfo> SqliteRegistry::UpdateCode(const std::string& name,
                                                  const std::string& package_path) {
  MLFAAS_RETURN_IF_ERROR(GetFunction(name).status());
  MLFAAS_ASSIGN_OR_RETURN(StoredCode code, StoreCode(package_path));
  std::error_code ec;
  auto size = static_cast<int64_t>(fs::file_size(package_path, ec));
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
  MLFAAS_RETURN_IF_ERROR(
      CheckCodeForRuntime(f.latest.config.runtime, !code.model_digest.empty(), code.has_bootstrap));
  MLFAAS_RETURN_IF_ERROR(InsertCode(code, ec ? 0 : size));
  {
    MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE functions SET code_digest = ?2, "
                                                  "model_digest = ?3, updated_at = ?4 "
                                                  "WHERE name = ?1"));
    st->Bind(1, name).Bind(2, code.digest).Bind(3, code.model_digest).Bind(4, Now());
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return f;
}

StatusOr<FunctionInfo> SqliteRegistry::UpdateConfig(const std::string& name,
                                                    const FunctionConfig& config) {
  MLFAAS_RETURN_IF_ERROR(ValidateConfig(config));
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(name));
  MLFAAS_ASSIGN_OR_RETURN(StoredCode code, LoadCode(f.latest.code_digest));
  MLFAAS_RETURN_IF_ERROR(
      CheckCodeForRuntime(config.runtime, !code.model_digest.empty(), code.has_bootstrap));
  {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st, db_->Prepare("UPDATE functions SET config = ?2, updated_at = ?3 WHERE name = ?1"));
    st->Bind(1, name).Bind(2, ToJson(config).dump()).Bind(3, Now());
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  MLFAAS_ASSIGN_OR_RETURN(f, LoadFunction(name));
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return f;
}

StatusOr<FunctionInfo> SqliteRegistry::GetFunction(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadFunction(name);
}

StatusOr<std::vector<FunctionInfo>> SqliteRegistry::ListFunctions() {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  std::vector<std::string> names;
  {
    MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT name FROM functions ORDER BY name"));
    for (;;) {
      MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      names.push_back(st->Text(0));
    }
  }
  std::vector<FunctionInfo> out;
  for (const auto& n : names) {
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, LoadFunction(n));
    out.push_back(std::move(f));
  }
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Status SqliteRegistry::DeleteFunction(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_RETURN_IF_ERROR(LoadFunction(name).status());
  for (const char* sql :
       {"DELETE FROM aliases WHERE function = ?1", "DELETE FROM versions WHERE function = ?1",
        "DELETE FROM functions WHERE name = ?1"}) {
    MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(sql));
    st->Bind(1, name);
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  return txn->Commit();
}

StatusOr<std::string> SqliteRegistry::PackagePath(const std::string& code_digest) {
  MLFAAS_ASSIGN_OR_RETURN(fs::path p, blobs_->VerifiedPath(code_digest));
  return p.string();
}

}  // namespace mlfaas::registry
