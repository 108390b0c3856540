// Where a version's code lives on disk, extracted once per code digest.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>

#include "common/status.h"
#include "registry/registry.h"

namespace mlfaas::gateway {

class CodeStore {
 public:
  virtual ~CodeStore() = default;
  // Directory holding the extracted package of `v` (becomes LAMBDA_TASK_ROOT). Thread-safe.
  virtual StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) = 0;
};

// Extracts `registry.PackagePath(digest)` into <home>/code/<digest>/ the first time a digest is
// needed: into a temp dir first, then rename, so concurrent gateways never see half a tree.
// Thread-safe; remembers directories already prepared so warm paths do no I/O.
class ExtractingCodeStore final : public CodeStore {
 public:
  ExtractingCodeStore(registry::Registry& registry, std::filesystem::path home);
  StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) override;

 private:
  registry::Registry& registry_;
  const std::filesystem::path root_;
  std::mutex mu_;
  std::map<std::string, std::filesystem::path> ready_;
};

}  // namespace mlfaas::gateway
