// OpenRegistry: the one place that turns a RegistryLocation into a backend.
#include <system_error>

#include "common/clock.h"
#include "registry/fs_blob_store.h"
#include "registry/pg_db.h"
#include "registry/pg_registry.h"
#include "registry/sqlite_registry.h"

namespace mlfaas::registry {
namespace fs = std::filesystem;

namespace {

bool IsPostgresUrl(const std::string& url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

}  // namespace

Status ValidateRegistryUrl(const std::string& url) {
  if (url.empty() || IsPostgresUrl(url)) return Status::Ok();
  return InvalidArgument("--registry must be a postgres:// or postgresql:// URL (empty: SQLite " +
                         std::string("under --home), not '") + RedactedUrl(url) + "'");
}

StatusOr<std::unique_ptr<Registry>> OpenRegistry(const fs::path& home,
                                                 const RegistryLocation& where) {
  MLFAAS_RETURN_IF_ERROR(ValidateRegistryUrl(where.url));
  if (where.url.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(auto r, SqliteRegistry::Open(home, SystemClock::Get(), where.blob_dir));
    return std::unique_ptr<Registry>(std::move(r));
  }
  MLFAAS_RETURN_IF_ERROR(PrepareHome(home));
  const fs::path blobs = where.blob_dir.empty() ? home / "blobs" : where.blob_dir;
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (ec)
    return InvalidArgument("cannot create blob directory " + blobs.string() + ": " + ec.message());
  MLFAAS_ASSIGN_OR_RETURN(auto r, PgRegistry::Open(where.url, std::make_unique<FsBlobStore>(blobs),
                                                   SystemClock::Get()));
  return std::unique_ptr<Registry>(std::move(r));
}

StatusOr<std::unique_ptr<Registry>> OpenRegistry(const fs::path& home) {
  return OpenRegistry(home, RegistryLocation{});
}

}  // namespace mlfaas::registry
