// Small file-system helpers with Status errors.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas {

StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// Writes `bytes` so that readers see either the old file or the complete new one:
// temp file in the same directory, fsync, rename, fsync of the directory.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view bytes);

// A directory under the system temp dir, removed (recursively) on destruction. Non-copyable.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "mlfaas");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mlfaas
