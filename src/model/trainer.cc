#include "model/trainer.h"

#include <chrono>
#include <cmath>

#include "model/predictor.h"
#include "model/split.h"

namespace mlfaas::model {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

double Apply(Transform t, double v) { return t == Transform::kLog01 ? std::log(v + 0.1) : v; }

}  // namespace

void FitStandardizer(const std::vector<double>& x, size_t d, std::vector<double>* mean,
                     std::vector<double>* scale) {
  const size_t n = x.size() / d;
  mean->assign(d, 0.0);
  scale->assign(d, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) (*mean)[j] += x[i * d + j];
  }
  for (double& m : *mean) m /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) {
      const double c = x[i * d + j] - (*mean)[j];
      (*scale)[j] += c * c;
    }
  }
  for (double& s : *scale) {
    s = std::sqrt(s / static_cast<double>(n));
    if (!(s > 0)) s = 1.0;
  }
}

StatusOr<TrainResult> Train(const Dataset& data, const TrainOptions& o) {
  if (!data.has_label) return InvalidArgument("training data has no label column");
  if (!(o.threshold >= 0 && o.threshold <= 1))
    return InvalidArgument("threshold must be in [0, 1]");
  const size_t d = data.num_features();
  TrainResult r;
  auto t0 = SteadyClock::now();
  MLFAAS_ASSIGN_OR_RETURN(Split split, SplitFor(data, o.split, o.test_size, o.seed));
  r.train_rows = split.train.size();
  r.test_rows = split.test.size();
  std::vector<double> z(r.train_rows * d);
  std::vector<uint8_t> y(r.train_rows);
  for (size_t k = 0; k < r.train_rows; ++k) {
    const double* row = data.row(split.train[k]);
    for (size_t j = 0; j < d; ++j) z[k * d + j] = Apply(o.transform, row[j]);
    y[k] = data.y[split.train[k]];
  }
  LinearModel& m = r.model;
  m.features = data.features;
  m.transform = o.transform;
  m.threshold = o.threshold;
  FitStandardizer(z, d, &m.mean, &m.scale);
  for (size_t k = 0; k < r.train_rows; ++k) {
    for (size_t j = 0; j < d; ++j) z[k * d + j] = (z[k * d + j] - m.mean[j]) / m.scale[j];
  }
  r.prepare_seconds = SecondsSince(t0);

  t0 = SteadyClock::now();
  MLFAAS_ASSIGN_OR_RETURN(r.fit, FitLogistic(z, d, y, o.solver));
  r.fit_seconds = SecondsSince(t0);
  m.coef = r.fit.coef;
  m.intercept = r.fit.intercept;

  t0 = SteadyClock::now();
  std::vector<double> test_x(r.test_rows * d), proba(r.test_rows);
  std::vector<uint8_t> test_y(r.test_rows);
  for (size_t k = 0; k < r.test_rows; ++k) {
    const double* row = data.row(split.test[k]);
    std::copy(row, row + d, test_x.begin() + static_cast<ptrdiff_t>(k * d));
    test_y[k] = data.y[split.test[k]];
  }
  MLFAAS_RETURN_IF_ERROR(Predictor::Validate(m));
  Predictor(m).PredictProba(test_x, proba);
  r.test_metrics = ComputeMetrics(proba, test_y, o.threshold);
  r.eval_seconds = SecondsSince(t0);
  return r;
}

}  // namespace mlfaas::model
