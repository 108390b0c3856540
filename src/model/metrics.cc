#include "model/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace mlfaas::model {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Indices sorted by descending score (stable, so ties keep input order).
std::vector<size_t> Descending(std::span<const double> score) {
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  return idx;
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

ConfusionMatrix Confusion(std::span<const double> score, std::span<const uint8_t> y,
                          double threshold) {
  ConfusionMatrix cm;
  for (size_t i = 0; i < y.size(); ++i) {
    const bool pred = score[i] >= threshold;
    if (y[i]) {
      pred ? ++cm.tp : ++cm.fn;
    } else {
      pred ? ++cm.fp : ++cm.tn;
    }
  }
  return cm;
}

double RocAuc(std::span<const double> score, std::span<const uint8_t> y) {
  const std::vector<size_t> idx = Descending(score);
  double tp = 0, fp = 0, area = 0;
  for (size_t i = 0; i < idx.size();) {
    double dtp = 0, dfp = 0;
    size_t j = i;
    for (; j < idx.size() && score[idx[j]] == score[idx[i]]; ++j) (y[idx[j]] ? dtp : dfp) += 1;
    area += dfp * (tp + dtp / 2);  // trapezoid over the tie group
    tp += dtp;
    fp += dfp;
    i = j;
  }
  return tp > 0 && fp > 0 ? area / (tp * fp) : kNaN;
}

double AveragePrecision(std::span<const double> score, std::span<const uint8_t> y) {
  const std::vector<size_t> idx = Descending(score);
  double positives = 0;
  for (uint8_t v : y) positives += v;
  if (positives == 0) return kNaN;
  double tp = 0, fp = 0, ap = 0;
  for (size_t i = 0; i < idx.size();) {
    double dtp = 0;
    size_t j = i;
    for (; j < idx.size() && score[idx[j]] == score[idx[i]]; ++j) (y[idx[j]] ? dtp : fp) += 1;
    tp += dtp;
    ap += (dtp / positives) * (tp / (tp + fp));
    i = j;
  }
  return ap;
}

BinaryMetrics ComputeMetrics(std::span<const double> score, std::span<const uint8_t> y,
                             double threshold) {
  BinaryMetrics m;
  m.threshold = threshold;
  m.cm = Confusion(score, y, threshold);
  const ConfusionMatrix& c = m.cm;
  m.rows = static_cast<int64_t>(y.size());
  m.positives = c.tp + c.fn;
  m.accuracy = Ratio(static_cast<double>(c.tp + c.tn), static_cast<double>(m.rows));
  m.precision = Ratio(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fp));
  m.recall = Ratio(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fn));
  m.f1 = Ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.auc = RocAuc(score, y);
  m.average_precision = AveragePrecision(score, y);
  return m;
}

nlohmann::json MetricsToJson(const BinaryMetrics& m) {
  return {
      {"auc", Num(m.auc)},
      {"average_precision", Num(m.average_precision)},
      {"pr_auc", Num(m.average_precision)},
      {"f1", m.f1},
      {"precision", m.precision},
      {"recall", m.recall},
      {"accuracy", m.accuracy},
      {"threshold", m.threshold},
      {"rows", m.rows},
      {"positives", m.positives},
      {"confusion_matrix", {{"tn", m.cm.tn}, {"fp", m.cm.fp}, {"fn", m.cm.fn}, {"tp", m.cm.tp}}},
  };
}

}  // namespace mlfaas::model
