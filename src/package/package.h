// Reading and writing model packages (zip files, libzip).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "package/manifest.h"

namespace mlfaas::package {

// Computes the canonical digest of `m` (see docs/package_format.md), stores it in the manifest
// and writes the zip atomically.
Status WritePackage(const std::filesystem::path& path, Manifest m);
// Same, to bytes.
StatusOr<std::string> PackageBytes(Manifest m);

// Reads and fully validates a package: zip structure, format version, required fields, digest.
// DataLoss for truncated/corrupted/tampered, InvalidArgument for unknown format or missing fields.
StatusOr<Manifest> ReadPackage(const std::filesystem::path& path);
StatusOr<Manifest> ReadPackageBytes(std::string_view zip_bytes);

// Reads a loose, extracted manifest.json (as the runtime finds it in $LAMBDA_TASK_ROOT) and
// validates it exactly as ReadPackage does, digest included.
StatusOr<Manifest> ReadManifestFile(const std::filesystem::path& manifest_json_path);

// What a code zip holds, for the registry: a model package (manifest.json), a custom-runtime
// bundle (an executable `bootstrap`, manifest optional), or both. Validates the manifest when
// present; InvalidArgument when the zip has neither.
struct CodeInfo {
  std::string sha256;  // of the zip file bytes
  std::optional<Manifest> manifest;
  bool has_bootstrap = false;
};
StatusOr<CodeInfo> InspectCode(const std::filesystem::path& zip_path);

// Extracts every entry (manifest.json, and for custom runtimes `bootstrap` and friends, keeping
// the executable bit) into `dir`, which must exist. Rejects absolute paths and "..".
Status ExtractPackage(const std::filesystem::path& zip_path, const std::filesystem::path& dir);

}  // namespace mlfaas::package
