// A package's code as a directory: extracted once per code digest under a root, read-only, and
// tamper-evident. What the gateway's code store (and later the sandbox) mounts as
// LAMBDA_TASK_ROOT; the extraction itself is ExtractPackage (package.h).
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace mlfaas::package {

// Makes <root>/<digest>/ hold the extracted `zip` and returns it. Extracts into a temp dir
// first, then renames, so concurrent processes never see half a tree.
//
// Tamper evidence: the tree is made read-only (files 0444, or 0555 when executable;
// directories 0555; owned by the caller's user) and its TreeDigest is recorded beside it in
// <root>/<digest>.tree. An existing tree is checked against its record; one that differs (an
// edited bootstrap, a deleted file) or has no record is set aside and extracted anew.
// `digest` must be the zip's verified sha256 (it names the tree; it is not checked here).
StatusOr<std::filesystem::path> InstallCodeTree(const std::filesystem::path& zip,
                                                const std::filesystem::path& root,
                                                const std::string& digest);

// sha256 over a tree's regular files, directories and symlinks: each entry's relative path,
// type, executable bit and content (or link target), in path order. Not recursive.
StatusOr<std::string> TreeDigest(const std::filesystem::path& dir);

// Makes every entry of `dir` read-only (see InstallCodeTree). Not recursive.
Status MakeReadOnly(const std::filesystem::path& dir);

}  // namespace mlfaas::package
