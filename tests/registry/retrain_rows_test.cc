#include "registry/retrain_rows.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

namespace mlfaas::registry {
namespace {

model::Dataset RandomDataset(std::mt19937_64& rng, size_t rows) {
  model::Dataset ds;
  ds.features = {"a", "b"};
  ds.has_label = true;
  for (size_t i = 0; i < rows; ++i) {
    ds.x.push_back(static_cast<double>(rng() % 1000));
    ds.x.push_back(static_cast<double>(rng() % 1000));
    ds.y.push_back(i < 5 ? i % 2 : static_cast<uint8_t>(rng() % 4 == 0));  // both classes
  }
  return ds;
}

// The property the issue asks for: across any number of runs, with datasets and feedback that
// grow between them, no row is ever on the training side of one run and the held-out side of
// another (or of the same one).
TEST(RetrainRowsTest, NoHeldOutRowIsEverTrainedOn) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const double share = 0.1 + 0.05 * static_cast<double>(rng() % 8);
    const uint64_t split_seed = rng() % 1000;
    std::vector<model::Dataset> datasets = {RandomDataset(rng, 40 + rng() % 200)};
    std::vector<FeedbackRow> feedback;
    // A row's identity: "d<dataset>:<row>" or "f:<id>"; its side in every run so far.
    std::map<std::string, bool> held_out_side;
    for (int run = 0; run < 4; ++run) {
      // Between runs: new feedback (some of it relabelling ids seen before), sometimes new data.
      for (size_t k = 0, n = rng() % 60; k < n; ++k) {
        FeedbackRow r;
        r.id = "id-" + std::to_string(rng() % 150);
        r.label = static_cast<int>(rng() % 2);
        r.features = {{"a", static_cast<double>(rng() % 100)}, {"b", 1.0}};
        if (rng() % 10 == 0) r.features.erase("b");  // unusable: skipped, on neither side
        bool replaced = false;
        for (FeedbackRow& old : feedback) {
          if (old.id == r.id) old = r, replaced = true;
        }
        if (!replaced) feedback.push_back(r);
      }
      if (rng() % 2 == 0) datasets.push_back(RandomDataset(rng, 20 + rng() % 100));

      RetrainRows rows;
      std::vector<std::string> identity;
      for (size_t d = 0; d < datasets.size(); ++d) {
        ASSERT_TRUE(AddDatasetRows(datasets[d], share, split_seed, &rows).ok());
        for (size_t i = 0; i < datasets[d].rows(); ++i) {
          identity.push_back("d" + std::to_string(d) + ":" + std::to_string(i));
        }
      }
      AddFeedbackRows(feedback, {"a", "b"}, model::Transform::kNone, share, &rows);
      int64_t skipped = 0;
      for (const FeedbackRow& r : feedback) {
        if (r.features.count("b")) {
          identity.push_back("f:" + r.id);
        } else {
          ++skipped;
        }
      }
      ASSERT_EQ(identity.size(), rows.data.rows());
      EXPECT_EQ(rows.feedback_skipped, skipped);
      EXPECT_EQ(rows.data.y.size(), rows.data.rows());

      // Every row on exactly one side.
      std::vector<int> sides(rows.data.rows(), 0);
      for (size_t i : rows.split.train) sides[i] += 1;
      for (size_t i : rows.split.test) sides[i] += 2;
      for (size_t i = 0; i < sides.size(); ++i) {
        ASSERT_TRUE(sides[i] == 1 || sides[i] == 2) << identity[i] << " side " << sides[i];
        const bool held = sides[i] == 2;
        auto [it, fresh] = held_out_side.try_emplace(identity[i], held);
        ASSERT_EQ(it->second, held) << identity[i] << " changed sides in run " << run;
        if (identity[i].rfind("f:", 0) == 0) {
          EXPECT_EQ(held, IsHeldOut(identity[i].substr(2), share)) << identity[i];
        }
      }
      // The feature values of a feedback row are in the assembled row, in feature order.
      EXPECT_EQ(rows.feedback_train + rows.feedback_held_out,
                static_cast<int64_t>(feedback.size()) - skipped);
    }
  }
}

TEST(RetrainRowsTest, RefusesMismatchedOrUnlabelledDatasets) {
  std::mt19937_64 rng(7);
  RetrainRows rows;
  ASSERT_TRUE(AddDatasetRows(RandomDataset(rng, 50), 0.2, 0, &rows).ok());
  model::Dataset other = RandomDataset(rng, 50);
  other.features = {"a", "c"};
  EXPECT_FALSE(AddDatasetRows(other, 0.2, 0, &rows).ok());
  other = RandomDataset(rng, 50);
  other.has_label = false;
  EXPECT_FALSE(AddDatasetRows(other, 0.2, 0, &rows).ok());
  EXPECT_EQ(rows.data.rows(), 50u);
  // Negative values cannot be log-transformed: skipped under log0.1.
  FeedbackRow neg{"n", {{"a", -1.0}, {"b", 1.0}}, 1, ""};
  AddFeedbackRows({neg}, {"a", "b"}, model::Transform::kLog01, 0.2, &rows);
  EXPECT_EQ(rows.feedback_skipped, 1);
  EXPECT_EQ(rows.data.rows(), 50u);
}

}  // namespace
}  // namespace mlfaas::registry
