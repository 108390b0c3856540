// The scoring hot loop, in its own translation unit so it can be compiled with vectorization
// flags (see CMakeLists.txt) without affecting the rest of the model library.
#pragma once

#include <cstddef>

#include "model/linear_model.h"

namespace mlfaas::model {

// out[i] = sigmoid(b + sum_j w[j] * t(rows[i*d + j])) for i in [0, n), t given by `transform`.
// Preconditions: rows holds n*d finite values (>= 0 for kLog01); out holds n values.
void PredictKernel(Transform transform, const double* w, size_t d, double b, const double* rows,
                   size_t n, double* out);

}  // namespace mlfaas::model
