// FsBlobStore: blobs as files under `<root>/sha256/<first two hex>/<digest>`.
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>

#include "registry/blob_store.h"

namespace mlfaas::registry {

// Writes go through WriteFileAtomic (temp file, fsync, rename, fsync dir), so readers see a
// whole blob or none. Reads re-hash the bytes; VerifiedPath hashes a blob once per process.
// Thread-safe; many processes may share one root (concurrent writers rename equal content).
class FsBlobStore final : public BlobStore {
 public:
  explicit FsBlobStore(std::filesystem::path root) : root_(std::move(root)) {}

  StatusOr<std::string> Put(std::string_view bytes) override;
  StatusOr<std::string> Get(const std::string& digest) override;
  StatusOr<std::filesystem::path> VerifiedPath(const std::string& digest) override;
  bool Contains(const std::string& digest) override;

  // Where the blob for `digest` lives (whether or not it exists). Precondition: IsSha256Hex.
  std::filesystem::path PathOf(const std::string& digest) const;

 private:
  void Remember(const std::string& digest);

  const std::filesystem::path root_;
  std::mutex mu_;
  std::set<std::string> verified_;  // guarded by mu_
};

}  // namespace mlfaas::registry
