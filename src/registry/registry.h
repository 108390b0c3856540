// The registry: functions, immutable versions, aliases (the Lambda console + S3 analogue).
// Implementations: SqliteRegistry (sqlite_registry.h, the embedded default) and PgRegistry
// (pg_registry.h, shared by several gateways), each over a BlobStore (an FsBlobStore today).
//
// Thread-safety: implementations are safe to use from many threads and many processes at once
// (transactions in the database); version numbers are never handed out twice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace mlfaas::registry {

inline constexpr const char* kLatest = "$LATEST";

struct FunctionConfig {
  std::string runtime = "mlfaas";  // "mlfaas" (built-in) | "provided" (package's bootstrap)
  std::string handler = "predict";
  int memory_mb = 512;             // 128..10240
  int timeout_s = 3;               // 1..900
  int ephemeral_storage_mb = 512;  // /tmp, 512..10240 (strict isolation: a tmpfs of this size)
  std::map<std::string, std::string> environment;
  std::optional<int> reserved_concurrency;  // cap on concurrent instances; nullopt = none
  int provisioned_concurrency = 0;          // instances kept initialized (per published version)
  int idle_timeout_s = 600;                 // idle instances reaped after this
  // Invocations one instance runs at once (Lambda Managed Instances'
  // PerExecutionEnvironmentMaxConcurrency), 1..1600; the worker gets it as
  // AWS_LAMBDA_MAX_CONCURRENCY. 1: Lambda's default model, one invocation per instance.
  int max_concurrency_per_instance = 1;
  // common/model_loading.h: per-invoke | init | lazy | snapshot ("eager": init, as stored by
  // versions published before the name changed)
  std::string model_loading = "init";
  std::string description;
  // Automatic retraining (docs/retraining.md), read from $LATEST by the gateway's scheduler:
  // run `mlfaas retrain` every this many seconds (0: never; 60..31536000), and/or once this many
  // labelled feedback rows arrived since the last run (0: never; 1..1000000).
  int retrain_every_s = 0;
  int retrain_after_labels = 0;
};

// Validates ranges and names; InvalidArgument naming the field.
Status ValidateConfig(const FunctionConfig& c);
// "Runtime 'mlfaas' needs a manifest; 'provided' needs an executable bootstrap."
Status CheckCodeForRuntime(const std::string& runtime, bool has_manifest, bool has_bootstrap);
// Parses a published version number ("1", "2", ...); InvalidArgument otherwise.
StatusOr<int64_t> ParseVersionNumber(const std::string& s);
// Function and alias names: [A-Za-z0-9_-]{1,64}; alias names must not be all digits.
bool IsValidFunctionName(const std::string& name);
bool IsValidAliasName(const std::string& name);

struct VersionInfo {
  std::string function;
  std::string version;       // "$LATEST" or "1", "2", ...
  std::string code_digest;   // sha256 of the package zip bytes (blob key)
  std::string model_digest;  // manifest digest, empty for packages without a manifest
  FunctionConfig config;
  std::string created_at;   // RFC 3339 UTC
  std::string description;  // given at publish time; empty for $LATEST
};

struct FunctionInfo {
  std::string name;
  VersionInfo latest;  // the $LATEST draft
  std::string created_at;
  std::string updated_at;
};

struct AliasInfo {
  std::string function;
  std::string name;
  std::string version;  // primary version (never $LATEST-less: must exist)
  std::optional<std::string> canary_version;
  double canary_weight = 0.0;  // 0..1 share routed to canary_version
  std::string description;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Stores the package blob (validated: a manifest package, or a zip with an executable
  // `bootstrap` for runtime "provided") and creates the function with $LATEST.
  virtual StatusOr<FunctionInfo> CreateFunction(const std::string& name,
                                                const std::string& package_path,
                                                const FunctionConfig& config) = 0;
  virtual StatusOr<FunctionInfo> UpdateCode(const std::string& name,
                                            const std::string& package_path) = 0;
  virtual StatusOr<FunctionInfo> UpdateConfig(const std::string& name,
                                              const FunctionConfig& config) = 0;
  virtual StatusOr<FunctionInfo> GetFunction(const std::string& name) = 0;
  virtual StatusOr<std::vector<FunctionInfo>> ListFunctions() = 0;
  // Deletes the function, its versions and aliases (blobs are kept for other references).
  virtual Status DeleteFunction(const std::string& name) = 0;

  // Snapshots $LATEST as the next version; if nothing changed since the newest version,
  // returns that version instead (as Lambda does).
  virtual StatusOr<VersionInfo> PublishVersion(const std::string& name,
                                               const std::string& description) = 0;
  virtual StatusOr<std::vector<VersionInfo>> ListVersions(const std::string& name) = 0;
  // version: "$LATEST" or a number.
  virtual StatusOr<VersionInfo> GetVersion(const std::string& name, const std::string& version) = 0;
  // FailedPrecondition when an alias points at it.
  virtual Status DeleteVersion(const std::string& name, const std::string& version) = 0;

  virtual StatusOr<AliasInfo> CreateAlias(const AliasInfo& alias) = 0;
  virtual StatusOr<AliasInfo> UpdateAlias(const AliasInfo& alias) = 0;
  virtual StatusOr<AliasInfo> GetAlias(const std::string& function, const std::string& name) = 0;
  virtual StatusOr<std::vector<AliasInfo>> ListAliases(const std::string& function) = 0;
  virtual Status DeleteAlias(const std::string& function, const std::string& name) = 0;

  // Resolves an invoke qualifier (empty = $LATEST, "$LATEST", a version number or an alias) to
  // a concrete version. For a weighted alias, `uniform01` in [0,1) picks canary_version when
  // uniform01 < canary_weight, else the primary. NotFound names what is missing.
  virtual StatusOr<VersionInfo> Resolve(const std::string& function, const std::string& qualifier,
                                        double uniform01) = 0;

  // Sets the instances kept initialized for a published version (the one setting of a version
  // that may change after publishing, as Lambda's provisioned concurrency is configured per
  // version). Unimplemented unless overridden.
  virtual StatusOr<VersionInfo> SetProvisionedConcurrency(const std::string& name,
                                                          const std::string& version, int count) {
    (void)name, (void)version, (void)count;
    return Status(StatusCode::kUnimplemented, "provisioned concurrency cannot be set here");
  }

  // Path of the stored package zip for `code_digest`, verified against its digest on first use.
  virtual StatusOr<std::string> PackagePath(const std::string& code_digest) = 0;
};

// Creates `home` if needed and makes it private to this user (0700 whatever the umask; an existing
// home loses group and other read/write bits, keeping a search bit a relaxed gateway set): it
// holds the database, the server key and the code. Every opener of a home calls it.
Status PrepareHome(const std::filesystem::path& home);
// <home>/registry.db
std::filesystem::path DatabasePath(const std::filesystem::path& home);

// Where a registry lives: the one setting `mlfaas --registry` / $MLFAAS_REGISTRY and
// `--blob-dir` / $MLFAAS_BLOB_DIR make (docs/registry_schema.md).
struct RegistryLocation {
  // "": SQLite, `<home>/registry.db` (the default). "postgres://..." or "postgresql://...": a
  // PostgreSQL database (a libpq connection URI), which several gateways may share.
  std::string url;
  // The package blobs (FsBlobStore); "" = `<home>/blobs`. Gateways sharing a PostgreSQL
  // registry share this directory too (an S3-compatible BlobStore is the next step).
  std::filesystem::path blob_dir;
};

// InvalidArgument unless `url` is "" or a postgres:// / postgresql:// URI.
Status ValidateRegistryUrl(const std::string& url);

// Opens the registry at `where` (creating `home`, the blob directory and, for SQLite, the
// database as needed; migrating the schema). See sqlite_registry.h and pg_registry.h.
StatusOr<std::unique_ptr<Registry>> OpenRegistry(const std::filesystem::path& home,
                                                 const RegistryLocation& where);
// The default: SQLite under `home` (`<home>/registry.db`, `<home>/blobs/`).
StatusOr<std::unique_ptr<Registry>> OpenRegistry(const std::filesystem::path& home);

}  // namespace mlfaas::registry
