// The rows of a retrain run (`mlfaas retrain`, docs/retraining.md): every dataset the function
// was trained on, split as it was then, plus its labelled feedback, split by a hash of each row's
// id. A held-out row is therefore never trained on, in this run or any later one: a dataset row's
// side depends on the dataset, the share and the seed; a feedback row's on its id alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/dataset.h"
#include "model/linear_model.h"
#include "model/split.h"
#include "registry/feedback.h"

namespace mlfaas::registry {

struct RetrainRows {
  model::Dataset data;  // every row, datasets first, in the order added
  model::Split split;   // train: rows to train on; test: the held-out rows
  int64_t feedback_train = 0;
  int64_t feedback_held_out = 0;
  int64_t feedback_skipped = 0;  // rows missing a feature, or out of the transform's domain
};

// Appends `ds` (same features as the rows already there), split by
// StratifiedSplit(ds.y, test_size, seed).
Status AddDatasetRows(const model::Dataset& ds, double test_size, uint64_t seed, RetrainRows* out);

// Appends the usable feedback rows in `features` order: held out when IsHeldOut(id, share).
void AddFeedbackRows(const std::vector<FeedbackRow>& rows, const std::vector<std::string>& features,
                     model::Transform transform, double share, RetrainRows* out);

}  // namespace mlfaas::registry
