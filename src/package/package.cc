#include "package/package.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/fs.h"
#include "common/sha256.h"
#include "package/manifest_file.h"
#include "package/zip_io.h"

namespace mlfaas::package {
namespace {

namespace fs = std::filesystem;
using internal::ParseManifestText;
using internal::ReadWhole;
using internal::ZipReader;
using nlohmann::json;

constexpr const char* kManifestName = "manifest.json";
constexpr uint64_t kMaxManifestBytes = 16u << 20;

StatusOr<Manifest> ReadManifestEntry(const ZipReader& zip) {
  int64_t idx = zip.Locate(kManifestName);
  if (idx < 0) return InvalidArgument("package has no manifest.json");
  MLFAAS_ASSIGN_OR_RETURN(std::string text, zip.Read(idx, kMaxManifestBytes));
  return ParseManifestText(text);
}

Status CheckEntryName(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string::npos) {
    return InvalidArgument("unsafe path in zip: '" + name + "'");
  }
  for (const auto& part : fs::path(name)) {
    if (part == "..") return InvalidArgument("unsafe path in zip: '" + name + "'");
  }
  return Status::Ok();
}

Status WriteEntry(const fs::path& dest, const std::string& bytes, mode_t mode) {
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Internal("cannot create " + dest.string() + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Internal("write " + dest.string() + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  bool ok = ::fchmod(fd, mode) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) return Internal("cannot finish " + dest.string() + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> PackageBytes(Manifest m) {
  m.digest.clear();
  json j = ToJson(m);
  j["digest"] = ComputeDigest(j);
  return internal::BuildZip({{kManifestName, j.dump(2) + "\n", 0644}});
}

Status WritePackage(const fs::path& path, Manifest m) {
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, PackageBytes(std::move(m)));
  return WriteFileAtomic(path, bytes);
}

StatusOr<Manifest> ReadPackageBytes(std::string_view zip_bytes) {
  MLFAAS_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(zip_bytes));
  return ReadManifestEntry(*zip);
}

StatusOr<Manifest> ReadPackage(const fs::path& path) {
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, ReadWhole(path));
  auto m = ReadPackageBytes(bytes);
  if (!m.ok()) return m.status().WithPrefix(path.string());
  return m;
}

StatusOr<CodeInfo> InspectCode(const fs::path& zip_path) {
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, ReadWhole(zip_path));
  CodeInfo info;
  info.sha256 = Sha256Hex(bytes);
  auto zip = ZipReader::Open(bytes);
  if (!zip.ok()) return zip.status().WithPrefix(zip_path.string());
  int64_t boot = (*zip)->Locate("bootstrap");
  if (boot >= 0) {
    if (((*zip)->UnixMode(boot) & 0111) == 0) {
      return InvalidArgument(zip_path.string() + ": bootstrap is not executable (chmod +x it)");
    }
    info.has_bootstrap = true;
  }
  if ((*zip)->Locate(kManifestName) >= 0) {
    auto m = ReadManifestEntry(**zip);
    if (!m.ok()) return m.status().WithPrefix(zip_path.string());
    info.manifest = std::move(m).value();
  }
  if (!info.has_bootstrap && !info.manifest) {
    return InvalidArgument(zip_path.string() +
                           ": zip holds neither manifest.json nor an executable bootstrap");
  }
  return info;
}

Status ExtractPackage(const fs::path& zip_path, const fs::path& dir) {
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, ReadWhole(zip_path));
  MLFAAS_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(bytes));
  for (int64_t i = 0; i < zip->num_entries(); ++i) {
    const std::string name = zip->name(i);
    MLFAAS_RETURN_IF_ERROR(CheckEntryName(name));
    const uint32_t mode = zip->UnixMode(i);
    if (S_ISLNK(mode)) return InvalidArgument("symbolic link in zip: '" + name + "'");
    const fs::path dest = dir / name;
    std::error_code ec;
    if (name.back() == '/') {
      fs::create_directories(dest, ec);
      if (ec) return Internal("mkdir " + dest.string() + ": " + ec.message());
      continue;
    }
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return Internal("mkdir " + dest.parent_path().string() + ": " + ec.message());
    MLFAAS_ASSIGN_OR_RETURN(std::string content, zip->Read(i, uint64_t{1} << 32));
    mode_t perm = (mode & 0777) != 0 ? (mode & 0777) : 0644;
    MLFAAS_RETURN_IF_ERROR(WriteEntry(dest, content, perm));
  }
  return Status::Ok();
}

}  // namespace mlfaas::package
