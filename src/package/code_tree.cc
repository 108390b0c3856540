#include "package/code_tree.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/fs.h"
#include "common/sha256.h"
#include "package/package.h"

namespace mlfaas::package {
namespace fs = std::filesystem;

namespace {

// Every entry under `dir` (iteratively: recursive_directory_iterator keeps its own stack),
// sorted by relative path.
StatusOr<std::vector<fs::directory_entry>> Entries(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::directory_entry> out;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) out.push_back(*it);
  if (ec) return Internal("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.path() < b.path(); });
  return out;
}

std::string TreeRecordPath(const fs::path& root, const std::string& digest) {
  return (root / (digest + ".tree")).string();
}

Status Extract(const fs::path& zip, const fs::path& root, const std::string& digest,
               const fs::path& dir);

}  // namespace

StatusOr<std::string> TreeDigest(const fs::path& dir) {
  MLFAAS_ASSIGN_OR_RETURN(auto entries, Entries(dir));
  Sha256 tree;
  for (const auto& e : entries) {
    std::error_code ec;
    const std::string rel = fs::relative(e.path(), dir, ec).generic_string();
    const auto st = e.symlink_status(ec);
    if (ec) return Internal("cannot stat " + e.path().string() + ": " + ec.message());
    std::string line;
    if (fs::is_symlink(st)) {
      line = "l " + rel + " " + fs::read_symlink(e.path(), ec).string();
    } else if (fs::is_directory(st)) {
      line = "d " + rel;
    } else if (fs::is_regular_file(st)) {
      MLFAAS_ASSIGN_OR_RETURN(std::string h, Sha256File(e.path()));
      const bool exec = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
      line = std::string(exec ? "x " : "f ") + rel + " " + h;
    } else {
      line = "? " + rel;  // devices, fifos: never extracted from a package
    }
    tree.Update(std::to_string(line.size()) + ":" + line + "\n");
  }
  return tree.HexDigest();
}

Status MakeReadOnly(const fs::path& dir) {
  MLFAAS_ASSIGN_OR_RETURN(auto entries, Entries(dir));
  entries.emplace_back(dir);
  for (const auto& e : entries) {
    std::error_code ec;
    const auto st = e.symlink_status(ec);
    if (ec || fs::is_symlink(st)) continue;
    const bool exec = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
    const mode_t mode = fs::is_directory(st) || exec ? 0555 : 0444;
    if (lchown(e.path().c_str(), geteuid(), getegid()) != 0 || chmod(e.path().c_str(), mode) != 0) {
      return Internal("cannot make " + e.path().string() + " read-only");
    }
  }
  return Status::Ok();
}

StatusOr<fs::path> InstallCodeTree(const fs::path& zip, const fs::path& root,
                                   const std::string& digest) {
  const fs::path dir = root / digest;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    auto recorded = ReadFile(TreeRecordPath(root, digest));
    auto actual = TreeDigest(dir);
    if (recorded.ok() && actual.ok() && *recorded == *actual) return dir;
    spdlog::warn("extracted code {} {}: extracting it again from its verified package",
                 digest.substr(0, 12),
                 recorded.ok() ? "was modified since extraction" : "has no tree record");
    const fs::path stale = root / (".stale-" + digest + "-" + std::to_string(getpid()));
    fs::remove_all(stale, ec);
    fs::rename(dir, stale, ec);
    if (ec) return Internal("cannot set aside " + dir.string() + ": " + ec.message());
    fs::remove_all(stale, ec);
  }
  MLFAAS_RETURN_IF_ERROR(Extract(zip, root, digest, dir));
  return dir;
}

namespace {

Status Extract(const fs::path& zip, const fs::path& root, const std::string& digest,
               const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Internal("cannot create " + root.string() + ": " + ec.message());
  const fs::path tmp = root / (".tmp-" + digest + "-" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Internal("cannot create " + tmp.string() + ": " + ec.message());
  auto fail = [&](Status st) {
    fs::remove_all(tmp, ec);
    return st;
  };
  if (Status st = ExtractPackage(zip, tmp); !st.ok()) return fail(st.WithPrefix("extracting"));
  if (Status st = MakeReadOnly(tmp); !st.ok()) return fail(st);
  auto tree = TreeDigest(tmp);
  if (!tree.ok()) return fail(tree.status());
  if (Status st = WriteFileAtomic(TreeRecordPath(root, digest), *tree); !st.ok()) return fail(st);
  fs::rename(tmp, dir, ec);
  if (ec) {
    (void)fail(
        Status::Ok());  // another gateway won the race: use its tree (same bytes, same record)
    auto theirs = TreeDigest(dir);
    if (!theirs.ok() || *theirs != *tree)
      return Internal("cannot install code dir " + dir.string());
  }
  return Status::Ok();
}

}  // namespace

}  // namespace mlfaas::package
