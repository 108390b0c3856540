// Scores raw rows with a LinearModel (preprocessing included), or with the Scorer of another
// model kind (model_kind.h).
//
// Thread-safety: a Predictor is immutable after construction; Predict* may be called from many
// threads at once. Hot loop: the preprocessing and the linear part are folded into one
// affine map per feature at construction, so scoring is a tight, vectorizable loop.
#pragma once

#include <memory>
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

// The scoring part of a model kind other than the built-in linear one (model_kind.h).
// Immutable, callable from many threads at once.
class Scorer {
 public:
  virtual ~Scorer() = default;
  // `rows`: row-major, already transformed (the model's Transform applied), out.size() rows of
  // `num_features` values each. Writes each row's probability to `out`.
  virtual void ScoreTransformed(std::span<const double> rows, size_t num_features,
                                std::span<double> out) const = 0;
};

class Predictor {
 public:
  // Precondition: model is valid (sizes agree, scales > 0). Use Validate() for untrusted input.
  explicit Predictor(LinearModel model);
  // A model of another kind (model_kind.h): `inputs` gives the features, transform and
  // threshold (ValidateInputs), `scorer` the scores; the linear fields are not used.
  Predictor(LinearModel inputs, std::shared_ptr<const Scorer> scorer);

  static Status Validate(const LinearModel& model);
  // The input side only: features (non-empty, unique, named) and the threshold.
  static Status ValidateInputs(const LinearModel& model);

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

  // Another kind's scoring: the rows are transformed here, in blocks, then scored by it.
  void ScoreWithScorer(std::span<const double> rows, std::span<double> out) const;

  LinearModel model_;
  std::shared_ptr<const Scorer> scorer_;  // null: the linear scorer below
  // Per feature: w_j = coef_j / scale_j, folded bias b = intercept - sum(coef_j*mean_j/scale_j).
  std::vector<double> w_;
  double b_ = 0.0;
};

}  // namespace mlfaas::model
