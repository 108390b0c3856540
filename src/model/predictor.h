// Scores raw rows with a LinearModel (preprocessing included).
//
// Thread-safety: a Predictor is immutable after construction; Predict* may be called from many
// threads at once. Hot loop: the preprocessing and the linear part are folded into one
// affine map per feature at construction, so scoring is a tight, vectorizable loop.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/linear_model.h"

namespace mlfaas::model {

struct Prediction {
  bool anomaly = false;
  double probability = 0.0;
};

class Predictor {
 public:
  // Precondition: model is valid (sizes agree, scales > 0). Use Validate() for untrusted input.
  explicit Predictor(LinearModel model);

  static Status Validate(const LinearModel& model);

  const LinearModel& model() const { return model_; }
  size_t num_features() const { return model_.features.size(); }

  // rows: row-major, rows.size() == n * num_features(); out.size() == n. Raw (untransformed)
  // feature values; the caller has validated them (see ParseRow).
  void PredictProba(std::span<const double> rows, std::span<double> out) const;
  // Same as PredictProba over `threads` threads (contiguous row ranges) for batches of at least
  // 65,536 rows; smaller batches run on the calling thread. Blocks on the workers.
  void PredictProbaParallel(std::span<const double> rows, std::span<double> out, int threads) const;
  Prediction PredictOne(std::span<const double> row) const;

  // Validates one JSON object as a raw row: every feature present, numeric, finite, and >= 0
  // when the transform needs it; no extra fields. Errors are InvalidArgument naming the field,
  // e.g. "field 'src_bytes' is missing". Appends the values in feature order to `out`.
  Status ParseRow(const nlohmann::json& object, std::vector<double>* out) const;

 private:
  // Rescores, in long double, the rows whose kernel result is not a probability (overflow).
  void RepairOverflows(const double* rows, std::span<double> out) const;

  LinearModel model_;
  // Per feature: w_j = coef_j / scale_j, folded bias b = intercept - sum(coef_j*mean_j/scale_j).
  std::vector<double> w_;
  double b_ = 0.0;
};

}  // namespace mlfaas::model
