// Small helpers every fuzz target uses: reporting a violated invariant, and temp directories.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace mlfaas::fuzz {

// Prints `why` (and up to 2 KB of `detail`) to stderr and aborts: libFuzzer saves the input.
[[noreturn]] inline void Fail(std::string_view why, std::string_view detail = {}) {
  std::fprintf(stderr, "\n*** fuzz invariant violated: %.*s\n", static_cast<int>(why.size()),
               why.data());
  if (!detail.empty()) {
    const size_t n = std::min<size_t>(detail.size(), 2048);
    std::fprintf(stderr, "--- detail (%zu bytes, first %zu) ---\n%.*s\n---\n", detail.size(), n,
                 static_cast<int>(n), detail.data());
  }
  std::abort();
}

// Where the targets keep temp files: $MLFAAS_FUZZ_TMPDIR, else /dev/shm (tmpfs: the file
// operations of an input cost no disk I/O), else $TMPDIR, else /tmp.
inline std::string FuzzTmpBase() {
  if (const char* v = std::getenv("MLFAAS_FUZZ_TMPDIR"); v && *v) return v;
  if (access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

// A fresh directory under FuzzTmpBase(), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view tag) {
    std::string tmpl = FuzzTmpBase() + "/mlfaas-fuzz-" + std::string(tag) + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp failed", tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mlfaas::fuzz
