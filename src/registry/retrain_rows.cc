#include "registry/retrain_rows.h"

#include <cmath>

namespace mlfaas::registry {

Status AddDatasetRows(const model::Dataset& ds, double test_size, uint64_t seed, RetrainRows* out) {
  if (!ds.has_label) return InvalidArgument("a training dataset needs labels");
  if (out->data.features.empty()) {
    out->data.features = ds.features;
    out->data.has_label = true;
  } else if (out->data.features != ds.features) {
    return InvalidArgument("the datasets of one run must have the same features");
  }
  MLFAAS_ASSIGN_OR_RETURN(model::Split s, model::StratifiedSplit(ds.y, test_size, seed));
  const size_t offset = out->data.rows();
  out->data.x.insert(out->data.x.end(), ds.x.begin(), ds.x.end());
  out->data.y.insert(out->data.y.end(), ds.y.begin(), ds.y.end());
  out->data.invalid_rows += ds.invalid_rows;
  for (size_t i : s.train) out->split.train.push_back(offset + i);
  for (size_t i : s.test) out->split.test.push_back(offset + i);
  return Status::Ok();
}

void AddFeedbackRows(const std::vector<FeedbackRow>& rows, const std::vector<std::string>& features,
                     model::Transform transform, double share, RetrainRows* out) {
  if (out->data.features.empty()) {
    out->data.features = features;
    out->data.has_label = true;
  }
  const bool log = transform == model::Transform::kLog01;
  std::vector<double> values(features.size());
  for (const FeedbackRow& row : rows) {
    bool usable = row.label == 0 || row.label == 1;
    for (size_t j = 0; j < features.size() && usable; ++j) {
      auto it = row.features.find(features[j]);
      usable = it != row.features.end() && std::isfinite(it->second) && (!log || it->second >= 0);
      if (usable) values[j] = it->second;
    }
    if (!usable) {
      ++out->feedback_skipped;
      continue;
    }
    const size_t index = out->data.rows();
    out->data.x.insert(out->data.x.end(), values.begin(), values.end());
    out->data.y.push_back(static_cast<uint8_t>(row.label));
    if (IsHeldOut(row.id, share)) {
      out->split.test.push_back(index);
      ++out->feedback_held_out;
    } else {
      out->split.train.push_back(index);
      ++out->feedback_train;
    }
  }
}

}  // namespace mlfaas::registry
