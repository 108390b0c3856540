#include "model/predictor.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <unordered_set>
#include <utility>

#include "model/predict_kernel.h"

namespace mlfaas::model {

Predictor::Predictor(LinearModel model) : model_(std::move(model)) {
  const size_t d = model_.features.size();
  w_.resize(d);
  b_ = model_.intercept;
  for (size_t j = 0; j < d; ++j) {
    w_[j] = model_.coef[j] / model_.scale[j];
    b_ -= model_.coef[j] * model_.mean[j] / model_.scale[j];
  }
}

Predictor::Predictor(LinearModel inputs, std::shared_ptr<const Scorer> scorer)
    : model_(std::move(inputs)), scorer_(std::move(scorer)) {}

Status Predictor::ValidateInputs(const LinearModel& m) {
  if (m.features.empty()) return InvalidArgument("model has no features");
  std::unordered_set<std::string> seen;
  for (const std::string& f : m.features) {
    if (f.empty()) return InvalidArgument("model has an empty feature name");
    if (!seen.insert(f).second) return InvalidArgument("duplicate feature '" + f + "'");
  }
  if (!(m.threshold >= 0.0 && m.threshold <= 1.0)) {
    return InvalidArgument("threshold must be within [0, 1]");
  }
  return Status::Ok();
}

Status Predictor::Validate(const LinearModel& m) {
  const size_t d = m.features.size();
  if (d == 0) return InvalidArgument("model has no features");
  if (m.mean.size() != d || m.scale.size() != d || m.coef.size() != d) {
    return InvalidArgument("model has " + std::to_string(d) +
                           " features but mean/scale/coef sizes differ");
  }
  MLFAAS_RETURN_IF_ERROR(ValidateInputs(m));
  for (size_t j = 0; j < d; ++j) {
    if (!std::isfinite(m.mean[j]) || !std::isfinite(m.coef[j])) {
      return InvalidArgument("non-finite mean or coefficient for '" + m.features[j] + "'");
    }
    if (!std::isfinite(m.scale[j]) || m.scale[j] <= 0) {
      return InvalidArgument("scale for '" + m.features[j] + "' must be finite and > 0");
    }
  }
  if (!std::isfinite(m.intercept)) return InvalidArgument("intercept must be finite");
  // The affine map the constructor folds them into must be finite too (the scoring kernel is
  // built with -ffast-math and assumes it): a large coefficient over a tiny scale overflows.
  double b = m.intercept;
  for (size_t j = 0; j < d; ++j) {
    b -= m.coef[j] * m.mean[j] / m.scale[j];
    if (!std::isfinite(m.coef[j] / m.scale[j])) {
      return InvalidArgument("coefficient / scale of '" + m.features[j] + "' overflows");
    }
  }
  if (!std::isfinite(b)) return InvalidArgument("folded intercept overflows");
  return Status::Ok();
}

void Predictor::ScoreWithScorer(std::span<const double> rows, std::span<double> out) const {
  const size_t d = model_.features.size();
  if (model_.transform == Transform::kNone) return scorer_->ScoreTransformed(rows, d, out);
  constexpr size_t kBlock = 256;  // rows transformed at a time: stays in L1/L2
  std::vector<double> block(kBlock * d);
  for (size_t begin = 0; begin < out.size(); begin += kBlock) {
    const size_t n = std::min(kBlock, out.size() - begin);
    for (size_t i = 0; i < n * d; ++i) block[i] = std::log(rows[begin * d + i] + 0.1);
    scorer_->ScoreTransformed(std::span<const double>(block.data(), n * d), d,
                              out.subspan(begin, n));
  }
}

void Predictor::PredictProba(std::span<const double> rows, std::span<double> out) const {
  if (scorer_) return ScoreWithScorer(rows, out);
  PredictKernel(model_.transform, w_.data(), w_.size(), b_, rows.data(), out.size(), out.data());
  RepairOverflows(rows.data(), out);
}

// The kernel's double score overflows when a weight times a (finite, valid) value exceeds
// DBL_MAX; terms of both signs then add up to inf - inf = NaN, which would reach clients as
// "probability": nan. Such rows (rare: never with realistic values) are scored again here in
// long double, whose range holds any product of two doubles. Found by package_reader_fuzz.
void Predictor::RepairOverflows(const double* rows, std::span<double> out) const {
  const size_t d = w_.size();
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= 0.0 && out[i] <= 1.0) continue;
    const double* row = rows + i * d;
    long double z = b_;
    for (size_t j = 0; j < d; ++j) {
      const long double x = row[j];
      z += static_cast<long double>(w_[j]) *
           (model_.transform == Transform::kLog01 ? std::log(x + 0.1L) : x);
    }
    z = std::clamp<long double>(z, -700.0L, 700.0L);
    out[i] = static_cast<double>(1.0L / (1.0L + std::exp(-z)));
  }
}

void Predictor::PredictProbaParallel(std::span<const double> rows, std::span<double> out,
                                     int threads) const {
  const size_t n = out.size(), d = model_.features.size();
  const size_t t = std::clamp<size_t>(static_cast<size_t>(std::max(threads, 1)), 1, n / 65536 + 1);
  std::vector<std::thread> pool;
  for (size_t k = 1; k < t; ++k) {
    const size_t begin = n * k / t, end = n * (k + 1) / t;
    pool.emplace_back([this, &rows, &out, begin, end, d] {
      PredictProba(rows.subspan(begin * d, (end - begin) * d), out.subspan(begin, end - begin));
    });
  }
  PredictProba(rows.first(n / t * d), out.first(n / t));
  for (std::thread& th : pool) th.join();
}

Prediction Predictor::PredictOne(std::span<const double> row) const {
  double p = 0.0;
  if (scorer_) {
    ScoreWithScorer(row, std::span<double>(&p, 1));
    return Prediction{p >= model_.threshold, p};
  }
  PredictKernel(model_.transform, w_.data(), w_.size(), b_, row.data(), 1, &p);
  RepairOverflows(row.data(), std::span<double>(&p, 1));
  return Prediction{p >= model_.threshold, p};
}

Status Predictor::ParseRow(const nlohmann::json& object, std::vector<double>* out) const {
  if (!object.is_object()) return InvalidArgument("input must be a JSON object");
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (const std::string& f : model_.features) known = known || f == it.key();
    if (!known) return InvalidArgument("field '" + it.key() + "' is not a model feature");
  }
  const size_t start = out->size();
  for (const std::string& f : model_.features) {
    auto it = object.find(f);
    Status st;
    if (it == object.end()) {
      st = InvalidArgument("field '" + f + "' is missing");
    } else if (!it->is_number()) {
      st = InvalidArgument("field '" + f + "' must be a number");
    } else {
      double v = it->get<double>();
      if (!std::isfinite(v)) {
        st = InvalidArgument("field '" + f + "' must be finite");
      } else if (model_.transform == Transform::kLog01 && v < 0) {
        st = InvalidArgument("field '" + f + "' must be >= 0 (log transform)");
      } else {
        out->push_back(v);
      }
    }
    if (!st.ok()) {
      out->resize(start);
      return st;
    }
  }
  return Status::Ok();
}

}  // namespace mlfaas::model
