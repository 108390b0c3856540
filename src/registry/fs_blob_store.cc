#include "registry/fs_blob_store.h"

#include <system_error>

#include "common/fs.h"
#include "common/sha256.h"

namespace mlfaas::registry {
namespace fs = std::filesystem;

StatusOr<std::string> FsBlobStore::Put(std::string_view bytes) {
  std::string digest = Sha256Hex(bytes);
  if (Get(digest).ok()) return digest;  // already stored and intact
  fs::path path = PathOf(digest);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Internal("cannot create " + path.parent_path().string() + ": " + ec.message());
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  Remember(digest);
  return digest;
}

StatusOr<std::string> FsBlobStore::Get(const std::string& digest) {
  if (!IsSha256Hex(digest)) return InvalidArgument("not a sha256 digest: '" + digest + "'");
  fs::path path = PathOf(digest);
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("blob " + digest + " is not stored");
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (Sha256Hex(bytes) != digest) {
    return DataLoss("blob " + path.string() + " does not match its digest (corrupted or tampered)");
  }
  Remember(digest);
  return bytes;
}

StatusOr<fs::path> FsBlobStore::VerifiedPath(const std::string& digest) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.count(digest) != 0) return PathOf(digest);
  }
  MLFAAS_RETURN_IF_ERROR(Get(digest).status());
  return PathOf(digest);
}

bool FsBlobStore::Contains(const std::string& digest) {
  std::error_code ec;
  return IsSha256Hex(digest) && fs::exists(PathOf(digest), ec);
}

fs::path FsBlobStore::PathOf(const std::string& digest) const {
  return root_ / "sha256" / digest.substr(0, 2) / digest;
}

void FsBlobStore::Remember(const std::string& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  verified_.insert(digest);
}

}  // namespace mlfaas::registry
