#include "package/manifest_file.h"

#include "common/fs.h"
#include "common/json.h"
#include "package/package.h"

namespace mlfaas::package {

namespace fs = std::filesystem;
using nlohmann::json;

namespace internal {

StatusOr<Manifest> ParseManifestText(const std::string& text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return InvalidArgument("manifest.json is " + parsed.status().message());
  const json& j = *parsed;
  MLFAAS_ASSIGN_OR_RETURN(Manifest m, ManifestFromJson(j));
  if (m.digest.empty()) return InvalidArgument("manifest field 'digest' is missing");
  const std::string actual = ComputeDigest(j);
  if (actual != m.digest) {
    return DataLoss("digest mismatch: manifest declares " + m.digest +
                    " but its content hashes to " + actual + " (package was modified)");
  }
  return m;
}

StatusOr<std::string> ReadWhole(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return InvalidArgument("cannot read " + path.string() + ": no such file");
  }
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return InvalidArgument(bytes.status().message());
  return bytes;
}

}  // namespace internal

StatusOr<Manifest> ReadManifestFile(const fs::path& manifest_json_path) {
  MLFAAS_ASSIGN_OR_RETURN(std::string text, internal::ReadWhole(manifest_json_path));
  auto m = internal::ParseManifestText(text);
  if (!m.ok()) return m.status().WithPrefix(manifest_json_path.string());
  return m;
}

}  // namespace mlfaas::package
