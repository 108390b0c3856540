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

// Extracts `registry.PackagePath(digest)` into <home>/code/<digest>/ the first time a digest is
// needed: into a temp dir first, then rename, so concurrent gateways never see half a tree.
//
// Tamper evidence: the extracted tree is made read-only (files 0444, or 0555 when executable;
// directories 0555; owned by the gateway's user, root in production) and its TreeDigest is
// recorded beside it in <home>/code/<digest>.tree. The first time a digest is used in this
// process, the blob is verified against its digest (DataLoss if it was altered) and an existing
// tree against its record; a tree that differs (an edited bootstrap, a deleted file) or has no
// record is set aside and extracted anew. Later uses cost nothing: never checked again on a
// cold start, never on the warm path. Thread-safe.
class ExtractingCodeStore final : public CodeStore {
 public:
  ExtractingCodeStore(registry::Registry& registry, std::filesystem::path home);
  StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) override;

 private:
  StatusOr<std::filesystem::path> Prepare(const std::string& digest);
  Status Extract(const std::string& digest, const std::filesystem::path& zip,
                 const std::filesystem::path& dir);

  registry::Registry& registry_;
  const std::filesystem::path root_;
  std::mutex mu_;
  std::map<std::string, std::filesystem::path> ready_;
};

// sha256 over a tree's regular files, directories and symlinks: each entry's relative path,
// type, executable bit and content (or link target), in path order. Not recursive.
StatusOr<std::string> TreeDigest(const std::filesystem::path& dir);

// Makes every entry of `dir` read-only (see ExtractingCodeStore). Not recursive.
Status MakeReadOnly(const std::filesystem::path& dir);

}  // namespace mlfaas::gateway
