#include "model/predict_kernel.h"

#include <cmath>

namespace mlfaas::model {
namespace {

template <bool kLog, size_t kD>
void KernelFixed(const double* w, double b, const double* rows, size_t n, double* out) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    double s = b;
    for (size_t j = 0; j < kD; ++j) {
      double x = rows[i * kD + j];
      s += w[j] * (kLog ? std::log(x + 0.1) : x);
    }
    out[i] = 1.0 / (1.0 + std::exp(-s));
  }
}

template <bool kLog>
void KernelAny(const double* w, size_t d, double b, const double* rows, size_t n, double* out) {
  for (size_t i = 0; i < n; ++i) {
    double s = b;
    for (size_t j = 0; j < d; ++j) {
      double x = rows[i * d + j];
      s += w[j] * (kLog ? std::log(x + 0.1) : x);
    }
    out[i] = 1.0 / (1.0 + std::exp(-s));
  }
}

}  // namespace

void PredictKernel(Transform transform, const double* w, size_t d, double b, const double* rows,
                   size_t n, double* out) {
  const bool log = transform == Transform::kLog01;
  if (d == 3) {
    log ? KernelFixed<true, 3>(w, b, rows, n, out) : KernelFixed<false, 3>(w, b, rows, n, out);
  } else {
    log ? KernelAny<true>(w, d, b, rows, n, out) : KernelAny<false>(w, d, b, rows, n, out);
  }
}

}  // namespace mlfaas::model
