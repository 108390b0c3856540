#include "model/tree_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/fs.h"
#include "model/csv_reader.h"
#include "testing/reference_data.h"

namespace mlfaas::model {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- agreement with the real xgboost ----------------------------------------------------------

// Models trained with python xgboost, the test rows and xgboost's margins and predictions: made
// once at build time by xgboost_reference.py (tests/model/CMakeLists.txt), not in every run.

template <typename T>
std::vector<T> ReadRaw(const fs::path& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) {
    ADD_FAILURE() << bytes.status().ToString();
    return {};
  }
  std::vector<T> v(bytes->size() / sizeof(T));
  std::memcpy(v.data(), bytes->data(), v.size() * sizeof(T));
  return v;
}

struct Case {
  std::string name;
  size_t rows = 0, features = 0;
};

class XgboostAgreementTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::ReferenceData data = testing::LoadReferenceData("xgboost-agreement");
    dir_ = new fs::path(data.dir);
    std::cout << data.log;
    if (!data.error.empty()) {
      *setup_error_ = "training with /usr/bin/python3 failed: " + data.error +
                      " (scripts/deps.sh installs python3-xgboost and python3-numpy):\n" + data.log;
      return;
    }
    std::ifstream listing(*dir_ / "cases.txt");
    Case c;
    while (listing >> c.name >> c.rows >> c.features) cases_->push_back(c);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_->empty()) << *setup_error_;
    ASSERT_EQ(cases_->size(), 14u) << "the training script wrote an incomplete cases.txt";
  }

  // The shipped data: a model trained on it (log(x + 0.1) features), scored on rows of it.
  void ShippedDataMatches() {
    const Case* c = Find("kdd");
    ASSERT_NE(c, nullptr);
    // The rows exactly as python transformed them.
    const auto py_rows = ReadRaw<double>(*dir_ / "kdd.x");
    const auto [dm, dp] = Compare(*c, py_rows);
    EXPECT_LE(dm, 1e-6);
    EXPECT_LE(dp, 1e-6);

    // The same rows read by mlfaas's CSV reader and transformed here: the whole serving path.
    CsvOptions o;
    o.features = {"duration", "src_bytes", "dst_bytes"};
    o.label = "label";
    auto data = ReadCsv(MLFAAS_DATA_FILE, o);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(data->rows(), 567498u);
    const auto idx = ReadRaw<uint64_t>(*dir_ / "kdd.idx");
    ASSERT_EQ(idx.size(), c->rows);
    std::vector<double> rows;
    size_t log_differs = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      ASSERT_LT(idx[k], data->rows());
      for (size_t j = 0; j < 3; ++j) {
        rows.push_back(std::log(data->row(idx[k])[j] + 0.1));
        log_differs += rows.back() != py_rows[k * 3 + j];
      }
    }
    std::cout << "[ agreement ] kdd: log(x + 0.1) differs from numpy's in " << log_differs
              << " values\n";
    const auto [dm2, dp2] = Compare(*c, rows);
    EXPECT_LE(dm2, 1e-6);
    EXPECT_LE(dp2, 1e-6);
  }

  static const Case* Find(const std::string& name) {
    for (const Case& c : *cases_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  // Parses the case's model, scores `rows`, and checks against xgboost; returns the max |diff|
  // of the margins and of the predictions.
  static std::pair<double, double> Compare(const Case& c, const std::vector<double>& rows) {
    auto text = ReadFile(*dir_ / (c.name + ".json"));
    EXPECT_TRUE(text.ok());
    if (!text.ok()) return {};
    auto model = ParseXgboostJson(*text, c.features);
    EXPECT_TRUE(model.ok()) << c.name << ": " << model.status().ToString();
    if (!model.ok()) return {};
    const auto margin = ReadRaw<float>(*dir_ / (c.name + ".margin"));
    const auto pred = ReadRaw<float>(*dir_ / (c.name + ".pred"));
    EXPECT_EQ(rows.size(), c.rows * c.features);
    EXPECT_EQ(margin.size(), c.rows);
    EXPECT_EQ(pred.size(), c.rows);
    if (rows.size() != c.rows * c.features || margin.size() != c.rows || pred.size() != c.rows) {
      return {};
    }
    std::vector<double> our_margin(c.rows), our_pred(c.rows), from_float(c.rows);
    PredictMargin(*model, rows, c.rows, our_margin);
    Predict(*model, rows, c.rows, our_pred);
    std::vector<float> rows32(rows.begin(), rows.end());
    Predict(*model, std::span<const float>(rows32), c.rows, from_float);
    double max_margin = 0, max_pred = 0;
    size_t bad = 0;
    for (size_t i = 0; i < c.rows; ++i) {
      const double dm = std::fabs(our_margin[i] - margin[i]);
      const double dp = std::fabs(our_pred[i] - pred[i]);
      max_margin = std::max(max_margin, dm);
      max_pred = std::max(max_pred, dp);
      if ((dm > 1e-6 || dp > 1e-6) && ++bad <= 5) {
        ADD_FAILURE() << c.name << " row " << i << ": margin " << our_margin[i] << " vs "
                      << margin[i] << ", prediction " << our_pred[i] << " vs " << pred[i];
      }
      EXPECT_EQ(from_float[i], our_pred[i]) << c.name << " row " << i << ": float rows differ";
    }
    EXPECT_EQ(bad, 0u) << c.name << ": rows differing from xgboost by more than 1e-6";
    std::cout << "[ agreement ] " << c.name << ": " << c.rows << " rows, " << model->num_trees()
              << " trees, " << model->nodes.size() << " nodes, max |margin diff| " << max_margin
              << ", max |prediction diff| " << max_pred << "\n";
    return {max_margin, max_pred};
  }

  static fs::path* dir_;  // the reference data (read only)
  static std::string* setup_error_;
  static std::vector<Case>* cases_;
};

fs::path* XgboostAgreementTest::dir_ = nullptr;
std::string* XgboostAgreementTest::setup_error_ = new std::string;
std::vector<Case>* XgboostAgreementTest::cases_ = new std::vector<Case>;

// One test over every case (the reference was made by one run of xgboost_reference.py).
TEST_F(XgboostAgreementTest, SyntheticModelsAndTheShippedDataMatchXgboostPredict) {
  size_t compared = 0;
  for (const Case& c : *cases_) {
    if (c.name == "kdd") continue;
    SCOPED_TRACE(c.name);
    const auto rows = ReadRaw<double>(*dir_ / (c.name + ".x"));
    const auto [dm, dp] = Compare(c, rows);
    EXPECT_LE(dm, 1e-6);
    EXPECT_LE(dp, 1e-6);
    ++compared;
  }
  EXPECT_EQ(compared, 13u);
  SCOPED_TRACE("the shipped data");
  ShippedDataMatches();
}

// ---- a small hand-made model ------------------------------------------------------------------

// Two features. Tree 0: x0 < 0.5 (missing: left) ? (x1 < 2 (missing: right) ? -0.5 : 0.125)
// : 0.25. Tree 1: a single leaf 0.1. The layout of xgboost 1.7.4's JSON.
json MiniModel() {
  return json::parse(R"({
    "learner": {
      "attributes": {}, "feature_names": [], "feature_types": [],
      "gradient_booster": {
        "model": {
          "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "2",
                                 "size_leaf_vector": "0"},
          "tree_info": [0, 0],
          "trees": [
            {"base_weights": [0, 0, 0, 0, 0], "categories": [], "categories_nodes": [],
             "categories_segments": [], "categories_sizes": [], "default_left": [1, 0, 0, 0, 0],
             "id": 0, "left_children": [1, 3, -1, -1, -1], "loss_changes": [1, 1, 0, 0, 0],
             "parents": [2147483647, 0, 0, 1, 1], "right_children": [2, 4, -1, -1, -1],
             "split_conditions": [0.5, 2.0, 0.25, -0.5, 0.125],
             "split_indices": [0, 1, 0, 2147483647, 0], "split_type": [0, 0, 0, 0, 0],
             "sum_hessian": [4, 2, 2, 1, 1],
             "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "5",
                            "size_leaf_vector": "0"}},
            {"base_weights": [0], "categories": [], "categories_nodes": [],
             "categories_segments": [], "categories_sizes": [], "default_left": [0], "id": 1,
             "left_children": [-1], "loss_changes": [0], "parents": [2147483647],
             "right_children": [-1], "split_conditions": [0.1], "split_indices": [0],
             "split_type": [0], "sum_hessian": [4],
             "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "1",
                            "size_leaf_vector": "0"}}
          ]
        },
        "name": "gbtree"
      },
      "learner_model_param": {"base_score": "5E-1", "boost_from_average": "1", "num_class": "0",
                              "num_feature": "2", "num_target": "1"},
      "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
    },
    "version": [1, 7, 4]
  })");
}

json& Tree(json& m, size_t t) { return m["learner"]["gradient_booster"]["model"]["trees"][t]; }

// The mini model's text with tree 0's `field` set to an array of `n` copies of `element`, written
// as text: building a million-element json array and dumping it is slow in unoptimised test code.
std::string WithLongArray(const std::string& field, size_t n, const std::string& element) {
  json j = MiniModel();
  Tree(j, 0)[field] = "@long-array@";
  std::string array = "[";
  array.reserve(n * (element.size() + 1) + 1);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) array += ',';
    array += element;
  }
  array += ']';
  std::string text = j.dump();
  const std::string marker = "\"@long-array@\"";
  return text.replace(text.find(marker), marker.size(), array);
}
json& Params(json& m) { return m["learner"]["learner_model_param"]; }

TEST(TreeModelTest, ParsesTheMiniModel) {
  auto m = ParseXgboostJson(MiniModel().dump(), 2);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->num_trees(), 2u);
  EXPECT_EQ(m->nodes.size(), 6u);
  EXPECT_EQ(m->tree_offsets, (std::vector<uint32_t>{0, 5, 6}));
  EXPECT_EQ(m->tree_depths, (std::vector<uint32_t>{2, 0}));
  EXPECT_EQ(m->num_features, 2u);
  EXPECT_EQ(m->objective, TreeObjective::kBinaryLogistic);
  EXPECT_TRUE(m->outputs_probability());
  EXPECT_EQ(m->base_score, 0.5f);
  EXPECT_EQ(m->base_margin, 0.0f);
  EXPECT_TRUE(m->is_leaf(2) && m->is_leaf(5) && !m->is_leaf(0));
  EXPECT_TRUE(m->nodes[0].default_left());
  EXPECT_FALSE(m->nodes[1].default_left());
  EXPECT_EQ(m->nodes[1].split_feature(), 1u);
  EXPECT_EQ(m->nodes[0].value, 0.5f);
  EXPECT_EQ(m->nodes[5].value, 0.1f);
  // expected_features = 0: any count.
  EXPECT_TRUE(ParseXgboostJson(MiniModel().dump(), 0).ok());
}

TEST(TreeModelTest, SplitRuleMissingValuesAndFloatComparison) {
  auto m = ParseXgboostJson(MiniModel().dump(2), 2);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::vector<double> rows = {
      0.0,
      1.0,  // left, left: -0.5
      kNaN,
      3.0,  // missing goes left, then right: 0.125
      0.5,
      -7.0,  // equal to the threshold goes right: 0.25
      0.4,
      kNaN,  // left, missing goes right: 0.125
      kNaN,
      kNaN,  // left, right: 0.125
      std::nextafter(0.5, 0.0),
      2.0,  // rounds to 0.5f: right
      0.49999997,
      1.99999999,  // 0.49999997f < 0.5f; 1.99999999 rounds to 2.0f: 0.125
  };
  const float leaf1 = 0.1f;
  const std::vector<float> expected = {-0.5f + leaf1,  0.125f + leaf1, 0.25f + leaf1,
                                       0.125f + leaf1, 0.125f + leaf1, 0.25f + leaf1,
                                       0.125f + leaf1};
  const size_t n = expected.size();
  std::vector<double> margin(n), pred(n);
  PredictMargin(*m, rows, n, margin);
  Predict(*m, rows, n, pred);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(margin[i], static_cast<double>(0.0f + expected[i])) << "row " << i;
    EXPECT_EQ(pred[i], XgboostSigmoid(expected[i])) << "row " << i;
    EXPECT_GT(pred[i], 0.0);
    EXPECT_LT(pred[i], 1.0);
  }
}

TEST(TreeModelTest, ThresholdsCompareAsFloat32) {
  json j = MiniModel();
  Tree(j, 0)["split_conditions"][0] = 0.1;  // stored as 0.1f = 0.100000001490116...
  auto m = ParseXgboostJson(j.dump(), 2);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // As doubles 0.1 < 0.1f, but xgboost compares float(0.1) = 0.1f, which is not < 0.1f.
  const std::vector<double> rows = {0.1, 1.0, 0.09999999, 1.0};
  std::vector<double> margin(2);
  PredictMargin(*m, rows, 2, margin);
  EXPECT_EQ(margin[0], static_cast<double>(0.25f + 0.1f));
  EXPECT_EQ(margin[1], static_cast<double>(-0.5f + 0.1f));
}

TEST(TreeModelTest, BaseScoreAndObjectives) {
  json j = MiniModel();
  Params(j)["base_score"] = "3E-1";
  auto m = ParseXgboostJson(j.dump(), 2);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->base_margin, -std::log(1.0f / 0.3f - 1.0f));

  j["learner"]["objective"]["name"] = "reg:logistic";
  m = ParseXgboostJson(j.dump(), 2);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->objective, TreeObjective::kRegLogistic);
  EXPECT_TRUE(m->outputs_probability());

  // binary:logitraw: base_score is the margin itself (xgboost 1.7.4), the output the margin.
  j["learner"]["objective"]["name"] = "binary:logitraw";
  m = ParseXgboostJson(j.dump(), 2);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->objective, TreeObjective::kBinaryLogitRaw);
  EXPECT_FALSE(m->outputs_probability());
  EXPECT_EQ(m->base_margin, 0.3f);
  const std::vector<double> rows = {0.0, 1.0};
  std::vector<double> margin(1), pred(1);
  PredictMargin(*m, rows, 1, margin);
  Predict(*m, rows, 1, pred);
  EXPECT_EQ(margin[0], static_cast<double>(0.3f + -0.5f + 0.1f));
  EXPECT_EQ(pred[0], margin[0]);
  EXPECT_STREQ(TreeObjectiveName(m->objective), "binary:logitraw");
}

TEST(TreeModelTest, SigmoidIsFiniteAndBounded) {
  for (float x : {-1e30f, -1000.0f, -88.8f, -20.0f, 0.0f, 20.0f, 88.8f, 1000.0f, 1e30f}) {
    const float p = XgboostSigmoid(x);
    EXPECT_TRUE(p >= 0.0f && p <= 1.0f) << x << " -> " << p;
  }
  EXPECT_EQ(XgboostSigmoid(0.0f), 0.5f);
}

// ---- random models against a straightforward walk ----------------------------------------------

// A random valid ensemble in xgboost's layout (children after parents, some unreachable nodes).
json RandomModel(std::mt19937& rng, size_t features, size_t trees, size_t max_splits = 40) {
  json m = MiniModel();
  json& model = m["learner"]["gradient_booster"]["model"];
  model["trees"] = json::array();
  model["tree_info"] = json::array();
  std::uniform_real_distribution<double> value(-2.0, 2.0);
  for (size_t t = 0; t < trees; ++t) {
    std::vector<int> left{-1}, right{-1};
    // Grow: split a random leaf, children appended.
    const size_t splits = rng() % max_splits;
    for (size_t s = 0; s < splits; ++s) {
      const size_t leaf = rng() % left.size();
      if (left[leaf] != -1) continue;
      left[leaf] = static_cast<int>(left.size());
      right[leaf] = static_cast<int>(left.size() + 1);
      left.insert(left.end(), {-1, -1});
      right.insert(right.end(), {-1, -1});
    }
    json tree;
    const size_t n = left.size();
    tree["left_children"] = left;
    tree["right_children"] = right;
    std::vector<uint32_t> idx(n);
    std::vector<double> cond(n);
    std::vector<int> dl(n);
    for (size_t i = 0; i < n; ++i) {
      idx[i] = static_cast<uint32_t>(rng() % features);
      cond[i] = value(rng);
      dl[i] = static_cast<int>(rng() % 2);
    }
    tree["split_indices"] = idx;
    tree["split_conditions"] = cond;
    tree["default_left"] = dl;
    tree["split_type"] = std::vector<int>(n, 0);
    tree["tree_param"] = {{"num_nodes", std::to_string(n)}, {"size_leaf_vector", "0"}};
    model["trees"].push_back(tree);
    model["tree_info"].push_back(0);
  }
  model["gbtree_model_param"]["num_trees"] = std::to_string(trees);
  m["learner"]["learner_model_param"]["num_feature"] = std::to_string(features);
  return m;
}

// The obvious scorer, straight from the JSON.
double ReferenceMargin(const json& m, const double* row) {
  float margin = 0.0f;  // base_score 0.5
  for (const json& t : m["learner"]["gradient_booster"]["model"]["trees"]) {
    int k = 0;
    while (t["left_children"][k].get<int>() != -1) {
      const float v = static_cast<float>(row[t["split_indices"][k].get<uint32_t>()]);
      const bool left = std::isnan(v)
                            ? t["default_left"][k].get<int>() == 1
                            : v < static_cast<float>(t["split_conditions"][k].get<double>());
      k = left ? t["left_children"][k].get<int>() : t["right_children"][k].get<int>();
    }
    margin += static_cast<float>(t["split_conditions"][k].get<double>());
  }
  return margin;
}

TEST(TreeModelTest, RandomModelsMatchAStraightforwardWalkAcrossBlockBoundaries) {
  std::mt19937 rng(42);
  for (int round = 0; round < 6; ++round) {
    const size_t d = 1 + rng() % 5;
    const json j = RandomModel(rng, d, 1 + rng() % 12);
    auto m = ParseXgboostJson(j.dump(), d);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    for (size_t n : {0, 1, 63, 64, 65, 130, 1000}) {
      std::vector<double> rows(n * d);
      std::uniform_real_distribution<double> value(-2.5, 2.5);
      for (double& v : rows) v = rng() % 7 == 0 ? kNaN : value(rng);
      std::vector<double> out(n, 99.0);
      PredictMargin(*m, rows, n, out);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[i], ReferenceMargin(j, &rows[i * d])) << "round " << round << " row " << i;
      }
    }
  }
}

// Rows on every threshold of the model, one float step either side of it, and the values where
// a binned comparison could go wrong (signed zeros, infinities, NaN), mixed across features.
std::vector<double> EdgeRows(const json& m, size_t d, std::mt19937& rng, size_t n) {
  std::vector<double> values = {kNaN,
                                0.0,
                                -0.0,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(),
                                1e300,
                                -1e300};
  for (const json& t : m["learner"]["gradient_booster"]["model"]["trees"]) {
    for (size_t k = 0; k < t["split_conditions"].size(); ++k) {
      if (t["left_children"][k].get<int>() == -1) continue;
      const float c = static_cast<float>(t["split_conditions"][k].get<double>());
      values.insert(values.end(), {c, std::nextafter(c, -INFINITY), std::nextafter(c, INFINITY),
                                   static_cast<double>(c) + 1e-12, static_cast<double>(c) - 1e-12});
    }
  }
  std::vector<double> rows(n * d);
  for (double& v : rows) v = values[rng() % values.size()];
  return rows;
}

TEST(TreeModelTest, LeafMasksGiveTheWalksLeafOnThresholdsAndEdgeValues) {
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    const size_t d = 1 + rng() % 6;
    json j = RandomModel(rng, d, 1 + rng() % 30);
    // Shared thresholds across trees and features, and signed zeros, as xgboost's hist cuts give.
    for (json& t : j["learner"]["gradient_booster"]["model"]["trees"]) {
      for (auto& c : t["split_conditions"]) {
        if (rng() % 3 == 0) c = (rng() % 2 ? 0.0 : -0.0);
        if (rng() % 3 == 0) c = std::round(c.get<double>() * 2) / 2;
      }
    }
    auto m = ParseXgboostJson(j.dump(), d);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_FALSE(m->leaf_masks.empty()) << "round " << round << ": the fast path was not built";
    TreeEnsemble walk = *m;
    walk.leaf_masks = {};
    const size_t n = 64 * 3 + 17;
    const std::vector<double> rows = EdgeRows(j, d, rng, n);
    std::vector<double> fast(n), slow(n);
    PredictMargin(*m, rows, n, fast);
    PredictMargin(walk, rows, n, slow);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(fast[i], slow[i]) << "round " << round << " row " << i;
      ASSERT_EQ(fast[i], ReferenceMargin(j, &rows[i * d])) << "round " << round << " row " << i;
    }
    const std::vector<float> rows32(rows.begin(), rows.end());
    PredictMargin(*m, std::span<const float>(rows32), n, fast);
    PredictMargin(walk, std::span<const float>(rows32), n, slow);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(fast[i], slow[i]) << "float row " << i;
  }
}

TEST(TreeModelTest, ModelsOutsideTheLeafMasksLimitsAreWalked) {
  std::mt19937 rng(11);
  const auto check = [&](const json& j, size_t d) {
    auto m = ParseXgboostJson(j.dump(), d);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_TRUE(m->leaf_masks.empty());
    const size_t n = 100;
    const std::vector<double> rows = EdgeRows(j, d, rng, n);
    std::vector<double> out(n);
    PredictMargin(*m, rows, n, out);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], ReferenceMargin(j, &rows[i * d]));
  };
  {
    SCOPED_TRACE("a tree of more than 64 leaves");
    const auto nodes = [](const json& j) {
      return j["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"].size();
    };
    json j = RandomModel(rng, 3, 1, 400);
    for (int tries = 0; tries < 100 && nodes(j) < 2 * LeafMasks::kMaxLeaves + 1; ++tries) {
      j = RandomModel(rng, 3, 1, 400);
    }
    ASSERT_GE(nodes(j), 2 * LeafMasks::kMaxLeaves + 1);
    check(j, 3);
  }
  {
    SCOPED_TRACE("more features than the tables take");
    check(RandomModel(rng, LeafMasks::kMaxFeatures + 1, 4), LeafMasks::kMaxFeatures + 1);
  }
  {
    SCOPED_TRACE("a node with two parents (valid for the walk, not a tree)");
    json j = MiniModel();
    json& t = j["learner"]["gradient_booster"]["model"]["trees"][0];
    t["left_children"] = {1, 3, 3, -1, -1};
    t["right_children"] = {2, 4, 4, -1, -1};
    t["split_indices"] = {0, 1, 0, 0, 0};
    t["split_conditions"] = {0.5, 0.25, 0.75, -1.0, 1.0};
    t["default_left"] = {1, 0, 1, 0, 0};
    t["split_type"] = {0, 0, 0, 0, 0};
    t["tree_param"]["num_nodes"] = "5";
    check(j, 2);
  }
}

TEST(TreeModelTest, MismatchedSpansAreClampedNotOverrun) {
  auto m = ParseXgboostJson(MiniModel().dump(), 2);
  ASSERT_TRUE(m.ok());
  const std::vector<double> rows = {0.0, 1.0, 0.5, 0.0, 0.1};  // 2.5 rows
  std::vector<double> out(4, 7.0);
  PredictMargin(*m, rows, 4, out);  // only 2 whole rows exist
  EXPECT_EQ(out[0], static_cast<double>(-0.5f + 0.1f));
  EXPECT_EQ(out[1], static_cast<double>(0.25f + 0.1f));
  EXPECT_EQ(out[2], 7.0);
  EXPECT_EQ(out[3], 7.0);
  std::vector<double> small(1, 7.0);
  Predict(*m, rows, 2, small);  // out holds one
  EXPECT_EQ(small[0], XgboostSigmoid(-0.5f + 0.1f));
}

// ---- hostile input ------------------------------------------------------------------------------

void ExpectInvalid(const std::string& text, const std::string& want, size_t features = 2,
                   const XgboostParseLimits& limits = {}) {
  auto m = ParseXgboostJson(text, features, limits);
  ASSERT_FALSE(m.ok()) << "accepted: " << text.substr(0, 300);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << m.status().ToString();
  EXPECT_NE(m.status().message().find(want), std::string::npos)
      << "message: " << m.status().message() << "\nwanted: " << want;
}

void ExpectInvalid(const std::function<void(json&)>& mutate, const std::string& want) {
  json j = MiniModel();
  mutate(j);
  SCOPED_TRACE(want);
  ExpectInvalid(j.dump(), want);
}

TEST(TreeModelHostileTest, NotJsonOrTruncated) {
  ExpectInvalid("", "not valid JSON");
  ExpectInvalid("{", "not valid JSON");
  ExpectInvalid("[1, 2]", "the document must be an object");
  ExpectInvalid("42", "the document must be an object");
  ExpectInvalid("{} {}", "not valid JSON");
  ExpectInvalid(std::string("{\"learner\": \0}", 14), "not valid JSON");
  ExpectInvalid("{}", "'version' is missing");
  // Every proper prefix of a valid model is refused cleanly.
  const std::string text = MiniModel().dump();
  for (size_t len = 0; len < text.size(); ++len) {
    auto m = ParseXgboostJson(std::string_view(text).substr(0, len), 2);
    ASSERT_FALSE(m.ok()) << "prefix of " << len << " bytes accepted";
    ASSERT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ParseXgboostJson(text, 2).ok());
}

TEST(TreeModelHostileTest, WrongTypes) {
  ExpectInvalid([](json& j) { Params(j)["num_feature"] = 2; }, "num_feature must be a string");
  ExpectInvalid([](json& j) { Params(j)["base_score"] = 0.5; }, "base_score must be a string");
  ExpectInvalid([](json& j) { j["learner"]["objective"] = "binary:logistic"; },
                "learner.objective must be an object");
  ExpectInvalid(
      [](json& j) { j["learner"]["gradient_booster"]["model"]["trees"] = json::object(); },
      "trees must be an array of objects");
  ExpectInvalid([](json& j) { j["learner"]["gradient_booster"]["model"]["trees"][1] = 5; },
                "trees[1] must be an object");
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"] = "1,3"; },
                "trees[0].left_children must be an array of numbers");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_conditions"][2] = "0.25"; },
                "elements of trees[0].split_conditions must be numbers");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_conditions"][2] = json::array({1}); },
                "elements of trees[0].split_conditions must be numbers");
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"][0] = 1.5; },
                "elements of trees[0].left_children must be integers");
  ExpectInvalid([](json& j) { Tree(j, 0)["default_left"][0] = 2; }, "must be 0 or 1");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_indices"][0] = -1; },
                "elements of trees[0].split_indices must be integers");
  ExpectInvalid([](json& j) { Tree(j, 0)["tree_param"]["num_nodes"] = 5; },
                "num_nodes must be a string");
  ExpectInvalid([](json& j) { j["version"] = "1.7.4"; }, "version must be an array of numbers");
  ExpectInvalid([](json& j) { j["learner"]["gradient_booster"]["name"] = nullptr; },
                "gradient_booster.name must be a string, not null");
  ExpectInvalid([](json& j) { Params(j)["num_feature"] = "two"; }, "num_feature 'two'");
  ExpectInvalid([](json& j) { Params(j)["num_feature"] = "0"; }, "num_feature '0'");
  ExpectInvalid([](json& j) { Params(j)["base_score"] = "nan"; }, "not a finite number");
  ExpectInvalid([](json& j) { Params(j)["base_score"] = "1.5"; }, "must be within (0, 1)");
  ExpectInvalid([](json& j) { Params(j)["base_score"] = "1"; }, "must be within (0, 1)");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_conditions"][0] = 1e39; },
                "representable as float32");
  // Booleans are accepted for default_left (older writers), nowhere else.
  json j = MiniModel();
  Tree(j, 0)["default_left"] = {true, false, false, false, false};
  EXPECT_TRUE(ParseXgboostJson(j.dump(), 2).ok());
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"][0] = true; },
                "elements of trees[0].left_children must be numbers");
}

TEST(TreeModelHostileTest, BadStructure) {
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"][1] = 5; },
                "trees[0] node 1: children (5, 4) must be distinct, greater than");
  ExpectInvalid([](json& j) { Tree(j, 0)["right_children"][0] = 0; },
                "trees[0] node 0: children (1, 0)");  // a self loop
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"][1] = 0; },
                "trees[0] node 1: children (0, 4)");  // a cycle through the root
  ExpectInvalid([](json& j) { Tree(j, 0)["right_children"][1] = 3; },
                "trees[0] node 1: children (3, 3)");
  ExpectInvalid([](json& j) { Tree(j, 0)["right_children"][0] = -1; }, "node 0 has one child");
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"][0] = 2147483647; }, "node 0: children");
  ExpectInvalid([](json& j) { Tree(j, 0)["left_children"][0] = 2147483648; },
                "integers from -1 to 2147483647");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_indices"][1] = 2; },
                "trees[0] node 1 splits on feature 2 but num_feature is 2");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_indices"][1] = 2147483648; },
                "split index 2147483648 is out of range");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_conditions"].erase(4); }, "differ in size");
  ExpectInvalid([](json& j) { Tree(j, 0)["default_left"].push_back(0); }, "differ in size");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_type"].erase(0); }, "differ in size");
  ExpectInvalid([](json& j) { Tree(j, 0).erase("right_children"); },
                "trees[0].right_children is missing");
  ExpectInvalid([](json& j) { Tree(j, 0)["tree_param"]["num_nodes"] = "6"; },
                "num_nodes is 6 but the tree has 5 nodes");
  ExpectInvalid([](json& j) { Tree(j, 1)["tree_param"].erase("num_nodes"); },
                "trees[1].tree_param.num_nodes is missing");
  ExpectInvalid(
      [](json& j) {
        for (const char* k : {"left_children", "right_children", "split_indices",
                              "split_conditions", "default_left", "split_type"}) {
          Tree(j, 1)[k] = json::array();
        }
        Tree(j, 1)["tree_param"]["num_nodes"] = "0";
      },
      "trees[1] has no nodes");
  ExpectInvalid([](json& j) { j["learner"]["gradient_booster"]["model"]["tree_info"] = {0}; },
                "tree_info has 1 entries for 2 trees");
  ExpectInvalid(
      [](json& j) {
        j["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = "3";
      },
      "num_trees is '3' but the model has 2 trees");
  ExpectInvalid([](json& j) { Tree(j, 0)["split_type"][0] = 1; },
                "categorical splits are not supported");
  ExpectInvalid(
      [](json& j) {
        Tree(j, 0)["categories"] = {1, 2};
      },
      "categorical splits are not supported");
  ExpectInvalid(
      [](json& j) {
        Tree(j, 0)["left_children2"] = Tree(j, 0)["left_children"];
        Tree(j, 0).erase("left_children");
      },
      "trees[0].left_children is missing");
  ExpectInvalid([](json& j) { j["learner"].erase("learner_model_param"); },
                "num_feature is missing");
  ExpectInvalid([](json& j) { j.erase("learner"); }, "'learner' is missing");
  ExpectInvalid(
      [](json& j) {
        Tree(j, 0)["split_conditions"][4] = 3e38;  // a leaf
        Tree(j, 1)["split_conditions"][0] = 3e38;
      },
      "margins could overflow float32");
  // Duplicate keys (which a DOM parser would silently resolve) are refused.
  std::string text = MiniModel().dump();
  const std::string key = "\"left_children\":[1,3,-1,-1,-1]";
  ASSERT_NE(text.find(key), std::string::npos);
  text.insert(text.find(key), key + ",");
  ExpectInvalid(text, "duplicate key trees[0].left_children");
}

TEST(TreeModelHostileTest, UnsupportedModels) {
  ExpectInvalid([](json& j) { j["learner"]["objective"]["name"] = "multi:softprob"; },
                "objective 'multi:softprob' is not supported (supported: binary:logistic, "
                "reg:logistic, binary:logitraw)");
  ExpectInvalid([](json& j) { j["learner"]["objective"]["name"] = "reg:squarederror"; },
                "objective 'reg:squarederror' is not supported");
  ExpectInvalid([](json& j) { j["learner"]["objective"].erase("name"); },
                "learner.objective.name is missing");
  ExpectInvalid(
      [](json& j) {
        Params(j)["num_class"] = "3";
        j["learner"]["objective"]["name"] = "multi:softprob";
        j["learner"]["gradient_booster"]["model"]["tree_info"] = {0, 1};
      },
      "multi-class models are not supported (num_class 3)");
  ExpectInvalid(
      [](json& j) {
        j["learner"]["gradient_booster"]["model"]["tree_info"] = {0, 1};
      },
      "only one output group is supported");
  ExpectInvalid([](json& j) { Params(j)["num_target"] = "2"; }, "multi-target models");
  ExpectInvalid([](json& j) { Tree(j, 0)["tree_param"]["size_leaf_vector"] = "2"; },
                "vector leaves");
  ExpectInvalid([](json& j) { j["learner"]["gradient_booster"]["name"] = "dart"; },
                "booster 'dart' is not supported (only gbtree)");
  ExpectInvalid([](json& j) { j["learner"]["gradient_booster"]["name"] = "gblinear"; },
                "booster 'gblinear' is not supported");
  ExpectInvalid([](json& j) { j["version"] = {2, 0, 3}; }, "version 2.0.3 is not supported");
  ExpectInvalid([](json& j) { j.erase("version"); }, "'version' is missing");
  ExpectInvalid(MiniModel().dump(), "the model has 2 features, expected 3", 3);
  // What the file says is echoed in one short line.
  ExpectInvalid([](json& j) { j["learner"]["objective"]["name"] = std::string(100'000, 'x'); },
                "learner.objective.name is longer than 128 bytes");
  json j = MiniModel();
  j["learner"]["objective"]["name"] = "multi\nline";
  auto m = ParseXgboostJson(j.dump(), 2);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message().find('\n'), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("objective 'multi?line'"), std::string::npos);
}

TEST(TreeModelHostileTest, SizeLimits) {
  // Over 64 MB: refused before parsing.
  std::string big = MiniModel().dump();
  big.append((size_t{64} << 20) + 1 - big.size(), ' ');
  ExpectInvalid(big, "more than 67108864");
  big.pop_back();
  EXPECT_TRUE(ParseXgboostJson(big, 2).ok());  // exactly 64 MB, trailing whitespace

  // Too many nodes: refused while reading the array, before it is complete.
  XgboostParseLimits limits;
  limits.max_total_nodes = 6;  // what the mini model has
  EXPECT_TRUE(ParseXgboostJson(MiniModel().dump(), 2, limits).ok());
  limits.max_total_nodes = 5;
  ExpectInvalid(MiniModel().dump(), "more than 5 nodes", 2, limits);
  limits.max_total_nodes = 100;
  ExpectInvalid(WithLongArray("left_children", 1000, "-1"), "more than 100 nodes", 2, limits);
  // Within the default limit, a long array a model does not use is read and dropped.
  EXPECT_TRUE(ParseXgboostJson(WithLongArray("loss_changes", 1'000'000, "0"), 2).ok());
  // A huge array of children under the default limits: sizes then disagree.
  ExpectInvalid(WithLongArray("left_children", 2'000'000, "-1"), "differ in size");

  // Deep nesting, where the reader keeps nothing and where it expects numbers.
  std::string deep = "{\"learner\": {\"attributes\": " + std::string(100'000, '[') +
                     std::string(100'000, ']') + "}}";
  ExpectInvalid(deep, "nested deeper than 64 levels");
  json j = MiniModel();
  Tree(j, 0)["left_children"][0] = json::array({json::array({1})});
  ExpectInvalid(j.dump(), "elements of trees[0].left_children must be numbers");
}

TEST(TreeModelHostileTest, LongChainsTerminate) {
  // A chain 10,000 deep: valid (children after parents), scored in exactly depth steps.
  const size_t n = 20'001;
  std::vector<int> left(n, -1), right(n, -1);
  for (size_t i = 0; i + 2 < n; i += 2) {
    left[i] = static_cast<int>(i + 2);
    right[i] = static_cast<int>(i + 1);
  }
  json j = MiniModel();
  json& t = Tree(j, 0);
  t["left_children"] = left;
  t["right_children"] = right;
  t["split_indices"] = std::vector<int>(n, 0);
  std::vector<double> values(n, 1.0);                 // thresholds 1.0
  for (size_t i = 1; i < n; i += 2) values[i] = 2.0;  // the right leaves
  values[n - 1] = 3.0;                                // the bottom of the chain
  t["split_conditions"] = values;
  t["default_left"] = std::vector<int>(n, 1);
  t["split_type"] = std::vector<int>(n, 0);
  t["tree_param"]["num_nodes"] = std::to_string(n);
  auto m = ParseXgboostJson(j.dump(), 2);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->tree_depths[0], 10'000u);
  const std::vector<double> rows = {0.0, 0.0, kNaN, 0.0, 5.0, 0.0};
  std::vector<double> out(3);
  PredictMargin(*m, rows, 3, out);
  EXPECT_EQ(out[0], static_cast<double>(3.0f + 0.1f));  // all the way down the chain
  EXPECT_EQ(out[1], static_cast<double>(3.0f + 0.1f));  // missing: left, too
  EXPECT_EQ(out[2], static_cast<double>(2.0f + 0.1f));  // node 1, a right leaf
}

}  // namespace
}  // namespace mlfaas::model
