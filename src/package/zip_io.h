// Thin RAII layer over libzip for the package component (internal header).
#pragma once

#include <zip.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::package::internal {

// An archive opened read-only over caller-owned bytes. The bytes must outlive the archive.
// Not thread-safe.
class ZipReader {
 public:
  // DataLoss "not a zip file" / "truncated or corrupted zip: ..." when the bytes are unusable.
  static StatusOr<std::unique_ptr<ZipReader>> Open(std::string_view bytes);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  int64_t num_entries() const;
  std::string name(int64_t index) const;
  // -1 if absent.
  int64_t Locate(const std::string& name) const;
  // Unix mode bits (st_mode) stored in the entry, 0 if none were recorded.
  uint32_t UnixMode(int64_t index) const;
  // Reads the whole entry, checking its CRC; DataLoss on corruption, InvalidArgument when the
  // entry is larger than `max_bytes`.
  StatusOr<std::string> Read(int64_t index, uint64_t max_bytes) const;

 private:
  explicit ZipReader(zip_t* za) : za_(za) {}
  zip_t* za_;
};

struct ZipEntry {
  std::string name;
  std::string bytes;
  uint32_t mode = 0644;  // permission bits
};

// Builds a deterministic zip in memory: entries in the given order, deflated, fixed mtime.
StatusOr<std::string> BuildZip(const std::vector<ZipEntry>& entries);

}  // namespace mlfaas::package::internal
