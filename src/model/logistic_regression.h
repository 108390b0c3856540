// Binary logistic regression with L2 regularization, solved by Newton's method (IRLS).
//
// Minimizes  L(w, b) = sum_i c_i * logloss(y_i, sigmoid(w . z_i + b)) + 0.5 / C * ||w||^2
// (intercept b unpenalized), the objective of scikit-learn's LogisticRegression(C=C), where c_i
// is the sample weight (1, or n / (2 * n_class) for class_weight="balanced").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace mlfaas::model {

struct LogisticOptions {
  double C = 1.0;
  bool balanced = false;
  // Converged when ||grad L||_inf <= tolerance * sum_i c_i.
  double tolerance = 1e-8;
  int max_iterations = 100;
  // Worker threads for the data passes (>= 1). The result does not depend on it beyond
  // floating-point summation order of the per-thread partial sums.
  int threads = 1;
  // For n >= 65,536 rows, first solve on a sample (every minority row, every 16th majority row
  // weighted 16, so the objectives match in expectation) and start the full Newton iterations
  // from there. The answer is the full-data optimum either way (same tolerance); this only
  // saves passes over the data.
  bool warm_start = true;
};

struct LogisticFit {
  std::vector<double> coef;
  double intercept = 0.0;
  int iterations = 0;             // Newton iterations taken on the full data
  int warm_start_iterations = 0;  // iterations on the warm-start sample (0 if none)
  int data_passes = 0;            // full passes over the data (line-search trials included)
  double loss = 0.0;              // final objective L
  double grad_inf = 0.0;          // final ||grad L||_inf
  bool converged = false;
};

// z: row-major standardized features, n = y.size() rows of d columns.
// InvalidArgument when n == 0, d == 0, sizes disagree, C <= 0, or only one class is present.
StatusOr<LogisticFit> FitLogistic(std::span<const double> z, size_t d, std::span<const uint8_t> y,
                                  const LogisticOptions& options);

// The objective and its gradient at (coef, intercept) (for tests). grad has d + 1 entries, the
// intercept's last.
double LogisticObjective(std::span<const double> z, size_t d, std::span<const uint8_t> y,
                         const LogisticOptions& options, std::span<const double> coef,
                         double intercept, std::vector<double>* grad);

}  // namespace mlfaas::model
