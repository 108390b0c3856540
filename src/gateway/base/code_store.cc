#include "gateway/base/code_store.h"

#include "common/sha256.h"
#include "package/code_tree.h"

namespace mlfaas::gateway {
namespace fs = std::filesystem;

ExtractingCodeStore::ExtractingCodeStore(registry::Registry& registry, fs::path home)
    : registry_(registry), root_(std::move(home) / "code") {}

StatusOr<fs::path> ExtractingCodeStore::CodeDir(const registry::VersionInfo& v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = ready_.find(v.code_digest); it != ready_.end()) return it->second;
  if (!IsSha256Hex(v.code_digest)) return InvalidArgument("version has no valid code digest");
  auto dir = Prepare(v.code_digest);
  if (!dir.ok()) return dir.status().WithPrefix("code " + v.code_digest.substr(0, 12));
  ready_[v.code_digest] = *dir;
  return dir;
}

// First use in this process: verify the blob, then verify (or make) the tree.
StatusOr<fs::path> ExtractingCodeStore::Prepare(const std::string& digest) {
  MLFAAS_ASSIGN_OR_RETURN(std::string zip, registry_.PackagePath(digest));  // verified blob
  return package::InstallCodeTree(zip, root_, digest);
}

}  // namespace mlfaas::gateway
