// Compiled with -ffast-math (this file only, see CMakeLists.txt) so that glibc's vector math
// library (libmvec) supplies SIMD log/exp; target_clones adds an AVX2 build picked at load time.
// Inputs are finite (validated by the caller) and the score is clamped before exp, so the
// finite-math assumptions hold. libmvec's log/exp are accurate to a few ulp.
#include "model/predict_kernel.h"

#include <algorithm>
#include <cmath>

namespace mlfaas::model {
namespace {

constexpr size_t kBlock = 512;  // rows per block: the column scratch stays in L1

}  // namespace

// target_clones picks the clone with an ifunc resolver that the dynamic loader runs while it
// relocates, before any sanitizer runtime is initialized. TSan instruments the resolver too
// (__tsan_func_entry), so a TSan binary died with SIGSEGV before main: that build gets the
// default clone only (it checks races, not speed).
#if defined(__SANITIZE_THREAD__)
#define MLFAAS_KERNEL_CLONES
#else
#define MLFAAS_KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#endif

MLFAAS_KERNEL_CLONES void PredictKernel(Transform transform, const double* w, size_t d, double b,
                                        const double* rows, size_t n, double* out) {
  alignas(64) double col[kBlock];
  const bool log = transform == Transform::kLog01;
  for (size_t base = 0; base < n; base += kBlock) {
    const size_t m = std::min(kBlock, n - base);
    const double* r = rows + base * d;
    double* s = out + base;  // accumulate the score in place
    for (size_t i = 0; i < m; ++i) s[i] = b;
    for (size_t j = 0; j < d; ++j) {
      const double wj = w[j];
      for (size_t i = 0; i < m; ++i) col[i] = r[i * d + j];
      if (log) {
#pragma omp simd
        for (size_t i = 0; i < m; ++i) s[i] += wj * std::log(col[i] + 0.1);
      } else {
#pragma omp simd
        for (size_t i = 0; i < m; ++i) s[i] += wj * col[i];
      }
    }
#pragma omp simd
    for (size_t i = 0; i < m; ++i) {
      const double z = std::min(std::max(s[i], -700.0), 700.0);
      s[i] = 1.0 / (1.0 + std::exp(-z));
    }
  }
}

}  // namespace mlfaas::model
