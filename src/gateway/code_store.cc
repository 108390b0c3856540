#include "gateway/code_store.h"

#include <unistd.h>

#include "package/package.h"

namespace mlfaas::gateway {
namespace fs = std::filesystem;

ExtractingCodeStore::ExtractingCodeStore(registry::Registry& registry, fs::path home)
    : registry_(registry), root_(std::move(home) / "code") {}

StatusOr<fs::path> ExtractingCodeStore::CodeDir(const registry::VersionInfo& v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = ready_.find(v.code_digest); it != ready_.end()) return it->second;
  if (v.code_digest.empty() || v.code_digest.find('/') != std::string::npos) {
    return InvalidArgument("version has no valid code digest");
  }
  fs::path dir = root_ / v.code_digest;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    MLFAAS_ASSIGN_OR_RETURN(std::string zip, registry_.PackagePath(v.code_digest));
    fs::create_directories(root_, ec);
    if (ec) return Internal("cannot create " + root_.string() + ": " + ec.message());
    fs::path tmp = root_ / (".tmp-" + v.code_digest + "-" + std::to_string(getpid()));
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) return Internal("cannot create " + tmp.string() + ": " + ec.message());
    Status st = package::ExtractPackage(zip, tmp);
    if (!st.ok()) {
      fs::remove_all(tmp, ec);
      return st.WithPrefix("extracting code " + v.code_digest.substr(0, 12));
    }
    fs::rename(tmp, dir, ec);
    if (ec) {
      fs::remove_all(tmp, ec);  // another gateway won the race: use its tree
      if (!fs::is_directory(dir)) return Internal("cannot install code dir " + dir.string());
    }
  }
  ready_[v.code_digest] = dir;
  return dir;
}

}  // namespace mlfaas::gateway
