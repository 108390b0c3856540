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
  // Errors are never cached: a later call tries again.
  virtual StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) = 0;
};

// The code of <home>'s registry, installed under <home>/code/<digest>/ by
// package::InstallCodeTree (read-only, tamper-evident: see there). The first time a digest is
// used in this process, the blob is verified against its digest (DataLoss if it was altered) and
// an existing tree against its record. Later uses cost nothing: never checked again on a cold
// start, never on the warm path. Thread-safe.
class ExtractingCodeStore final : public CodeStore {
 public:
  ExtractingCodeStore(registry::Registry& registry, std::filesystem::path home);
  StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) override;

 private:
  StatusOr<std::filesystem::path> Prepare(const std::string& digest);

  registry::Registry& registry_;
  const std::filesystem::path root_;
  std::mutex mu_;
  std::map<std::string, std::filesystem::path> ready_;
};

}  // namespace mlfaas::gateway
