// Internal to src/package: reading and validating manifest text. Lives apart from package.cc
// (zip handling) so that binaries which only read extracted manifests, like mlfaas-runtime
// (ReadManifestFile), do not link libzip.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"
#include "package/manifest.h"

namespace mlfaas::package::internal {

// Parses and validates manifest text, digest included.
StatusOr<Manifest> ParseManifestText(const std::string& text);

// Reads a whole regular file; InvalidArgument naming the path when it is missing or unreadable.
StatusOr<std::string> ReadWhole(const std::filesystem::path& path);

}  // namespace mlfaas::package::internal
