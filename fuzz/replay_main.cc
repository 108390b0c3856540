// Corpus replay: the main() that fuzz targets get in the gcc builds (plain, ASan+UBSan), in place
// of libFuzzer's. It runs the target once on every file named on the command line or found
// (recursively, in sorted order) under a directory named there, so every seed and every past
// finding in fuzz/corpus/ is a ctest test of every build, not only of bench/fuzz.sh's clang build.
// A target reports a violated invariant by aborting (fuzz_util.h), which fails the test.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// Seeds are small; anything larger is a mistake in the corpus, not an input to try.
constexpr uintmax_t kMaxInputBytes = 16u << 20;

bool Collect(const fs::path& arg, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    out.push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) {
    std::fprintf(stderr, "replay: %s: not a file or directory\n", arg.c_str());
    return false;
  }
  for (auto it = fs::recursive_directory_iterator(arg, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "replay: %s: %s\n", arg.c_str(), ec.message().c_str());
    return false;
  }
  return true;
}

// libFuzzer refuses single allocations over -malloc_limit_mb (its -rss_limit_mb, 2048 in
// bench/fuzz.sh): an input that makes the code allocate what a few bytes merely claim is a
// finding. Replay keeps that rule: ASan reports such an allocation, elsewhere the address space is
// capped so it throws std::bad_alloc, which escapes the target and fails the test.
constexpr rlim_t kMemoryLimitBytes = rlim_t{2048} << 20;

void LimitMemory() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  rlimit lim{kMemoryLimitBytes, kMemoryLimitBytes};
  if (setrlimit(RLIMIT_AS, &lim) != 0) std::perror("replay: setrlimit(RLIMIT_AS)");
#endif
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// Overridden by ASAN_OPTIONS only where that names the same option.
extern "C" const char* __asan_default_options() { return "max_allocation_size_mb=2048"; }
#endif

int main(int argc, char** argv) {
  LimitMemory();
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!Collect(argv[i], inputs)) return 2;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s <corpus dir or file>... (found no inputs)\n", argv[0]);
    return 2;
  }
  std::sort(inputs.begin(), inputs.end());
  for (const fs::path& p : inputs) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(p, ec);
    if (ec || size > kMaxInputBytes) {
      std::fprintf(stderr, "replay: %s: unreadable or larger than %ju bytes\n", p.c_str(),
                   kMaxInputBytes);
      return 2;
    }
    std::ifstream in(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) {
      std::fprintf(stderr, "replay: %s: read failed\n", p.c_str());
      return 2;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replay: %zu inputs, no invariant violated\n", inputs.size());
  return 0;
}
