// A small, valid model package for runtime tests (three KDD99 features, log transform).
#pragma once

#include <filesystem>

#include "package/manifest.h"

namespace mlfaas::testing {

package::Manifest TestManifest();

// Writes TestManifest() as a package zip and extracts it into `task_root` (which must exist),
// exactly as the gateway prepares an instance. Aborts the test on failure (gtest ASSERT).
void WriteTaskRoot(const std::filesystem::path& task_root);

// Same events for every worker test: valid single rows, a batch, and every kind of bad input.
std::vector<std::string> TestEvents();

}  // namespace mlfaas::testing
