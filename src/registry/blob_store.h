// Content-addressed storage for code packages (the S3 analogue). A blob's key is the sha256 of
// its bytes (64 lowercase hex characters).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas::registry {

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `bytes` and returns their digest. Idempotent: storing the same bytes again is a
  // no-op (a corrupted copy on disk is replaced). Readers never see a partial blob.
  virtual StatusOr<std::string> Put(std::string_view bytes) = 0;
  // The blob's bytes, verified against `digest`: NotFound if absent, DataLoss if they differ,
  // InvalidArgument if `digest` is not a sha256 hex string.
  virtual StatusOr<std::string> Get(const std::string& digest) = 0;
  // A path to the stored blob, verified against its digest (at least once per process).
  virtual StatusOr<std::filesystem::path> VerifiedPath(const std::string& digest) = 0;
  virtual bool Contains(const std::string& digest) = 0;
};

}  // namespace mlfaas::registry
