// Gradient-boosted tree ensembles saved by xgboost (`Booster.save_model("m.json")`), scored by
// our own evaluator: the worker stays statically linked, without libxgboost or OpenMP.
//
// Supported: xgboost 1.x JSON models (verified against 1.7.4) with booster `gbtree`, one output
// group, numerical splits only, and the objectives
//   - binary:logistic, reg:logistic: the output is a probability, sigmoid(margin);
//   - binary:logitraw: the output is the margin itself.
// Everything else (gblinear, dart, multi-class, multi-target, categorical splits, ranking and
// regression objectives, UBJSON) is refused with InvalidArgument naming what was found.
//
// What the scores reproduce, bit for bit, from xgboost 1.7.4's CPU predictor (checked with the
// python package on models of depth 1..8, with missing values and explicit base_score):
//   - features and thresholds are float32: a row value is converted to float before `x < t`;
//     a NaN value follows the node's default direction;
//   - a leaf's value is stored in `split_conditions` (already scaled by the learning rate;
//     `base_weights` holds the unscaled weight and is not used);
//   - the margin starts at the base margin and adds each tree's leaf in tree order, in float32;
//   - base margin: for the logistic objectives `base_score` is a probability and the margin is
//     -logf(1/base_score - 1) in float32; for binary:logitraw it is base_score itself;
//   - sigmoid: 1 / (expf(min(-margin, 88.7)) + 1) in float32.
//
// Hostile input: the file is bounded (64 MB), parsed by a streaming (SAX) reader that keeps only
// the arrays scoring needs (no JSON DOM: memory is proportional to the node count), and validated
// so that scoring cannot loop or read out of bounds: each child index is greater than its
// parent's and inside its tree, each split feature < num_feature, all per-node arrays agree in
// size, every tree has at least one node, and the total node count is bounded. A walk therefore
// reaches a leaf within its tree's depth (computed at parse time), with no depth check.
//
// Thread-safety: a TreeEnsemble is immutable once parsed; the Predict* functions may be called
// from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::model {

enum class TreeObjective {
  kBinaryLogistic,  // "binary:logistic": probability
  kRegLogistic,     // "reg:logistic": probability
  kBinaryLogitRaw,  // "binary:logitraw": margin
};

// The xgboost name, e.g. "binary:logistic".
const char* TreeObjectiveName(TreeObjective objective);

// One tree node, 16 bytes (four per cache line). Indices are absolute (into
// TreeEnsemble::nodes). A leaf points to itself on both sides (and splits on feature 0).
struct TreeNode {
  static constexpr uint32_t kDefaultLeftBit = uint32_t{1} << 31;

  uint32_t left = 0;
  uint32_t right = 0;
  uint32_t feature = 0;  // split feature, | kDefaultLeftBit when a missing value goes left
  float value = 0.0f;    // threshold (go left iff x < value), or the leaf's value

  uint32_t split_feature() const { return feature & ~kDefaultLeftBit; }
  bool default_left() const { return (feature & kDefaultLeftBit) != 0; }
};

// The ensemble compiled for few features and small trees (the shipped model: 3 features, trees
// of at most 64 leaves), which scores it without walking.
//
// Each feature's distinct split thresholds, sorted, cut its axis into bins: a value's bin is the
// number of thresholds <= it, and one more bin holds missing values. Every split `x < T[k]` is
// then `bin <= k`, so a tree's outcome depends on the bins alone. For each (tree, feature it
// splits on) a table gives, per bin, the 64-bit set of the tree's leaves whose root-to-leaf path
// admits that bin (a missing value admitted only where the path takes the default way). The
// leaf a row reaches is the one leaf admitted by all of the tree's tables: the lowest bit of
// their AND. Scoring a tree costs one load per feature it uses, with no data-dependent branch,
// and gives the walk's leaf exactly (the same leaf values, added in the same order).
//
// Built by ParseXgboostJson when: num_features <= kMaxFeatures, every tree's reachable part is
// a tree (no node with two parents) with at most 64 leaves, no threshold is NaN, each feature
// has fewer than 65,534 thresholds, the tables fit in kMaxTableBytes, and the trees use on
// average at most kMaxLookupsPerTree features (beyond that a walk of depth ~6 is cheaper).
// Otherwise it stays empty and scoring walks the nodes.
struct LeafMasks {
  static constexpr size_t kMaxFeatures = 64;
  static constexpr size_t kMaxLeaves = 64;
  static constexpr size_t kMaxTableBytes = size_t{8} << 20;
  static constexpr size_t kMaxLookupsPerTree = 8;

  struct Lookup {
    uint32_t feature = 0;
    uint32_t table = 0;  // offset into masks of a table of (thresholds of feature) + 2 entries
  };
  // Feature f's sorted distinct thresholds: thresholds[threshold_begin[f], threshold_begin[f+1]).
  std::vector<float> thresholds;
  std::vector<uint32_t> threshold_begin;
  // Tree t's tables: lookups[lookup_begin[t], lookup_begin[t + 1]).
  std::vector<Lookup> lookups;
  std::vector<uint32_t> lookup_begin;
  std::vector<uint64_t> masks;
  // kMaxLeaves per tree: leaf_values[t * kMaxLeaves + j] is the value of the leaf of bit j.
  std::vector<float> leaf_values;

  bool empty() const { return lookup_begin.empty(); }
};

struct TreeEnsemble {
  // All trees' nodes; tree t is nodes[tree_offsets[t], tree_offsets[t + 1]), its root first.
  std::vector<TreeNode> nodes;
  std::vector<uint32_t> tree_offsets;  // num_trees() + 1 entries, the first 0
  // Per tree: the number of steps from the root to its deepest leaf (0 for a single leaf).
  std::vector<uint32_t> tree_depths;
  size_t num_features = 0;
  TreeObjective objective = TreeObjective::kBinaryLogistic;
  float base_score = 0.5f;   // as written in the file
  float base_margin = 0.0f;  // the margin every row starts from (see the file comment)
  // Set by ParseXgboostJson where it applies; scoring uses it when set (clear it to walk).
  LeafMasks leaf_masks;

  size_t num_trees() const { return tree_depths.size(); }
  bool is_leaf(size_t node) const { return nodes[node].left == node; }
  // True when Predict returns probabilities (the logistic objectives), false for margins.
  bool outputs_probability() const { return objective != TreeObjective::kBinaryLogitRaw; }
};

struct XgboostParseLimits {
  size_t max_bytes = size_t{64} << 20;
  size_t max_total_nodes = 50'000'000;  // over all trees
  size_t max_features = size_t{1} << 24;
};

// Parses an xgboost JSON model. expected_features > 0: the model's num_feature must equal it.
// Errors: InvalidArgument with a one-line reason (malformed JSON, wrong type, unsupported
// booster/objective/version, structure that fails validation, too large). Never throws.
StatusOr<TreeEnsemble> ParseXgboostJson(std::string_view json_text, size_t expected_features,
                                        const XgboostParseLimits& limits = {});

// The compiled form of `model` (see LeafMasks), or an empty one where it does not apply.
LeafMasks CompileLeafMasks(const TreeEnsemble& model);

// Scores rows (row-major, model.num_features columns, raw feature values as the model was trained
// on: the caller applies any transform first; NaN = missing).
// Preconditions: rows.size() >= n * num_features and out.size() >= n; only rows that fit both
// are scored (mismatched sizes never read or write out of bounds).
//
// PredictMargin: xgboost's predict(output_margin=True).
void PredictMargin(const TreeEnsemble& model, std::span<const double> rows, size_t n,
                   std::span<double> out);
void PredictMargin(const TreeEnsemble& model, std::span<const float> rows, size_t n,
                   std::span<double> out);
// Predict: xgboost's predict(): sigmoid(margin) for the logistic objectives (a probability in
// [0, 1]), the margin for binary:logitraw.
void Predict(const TreeEnsemble& model, std::span<const double> rows, size_t n,
             std::span<double> out);
void Predict(const TreeEnsemble& model, std::span<const float> rows, size_t n,
             std::span<double> out);

// xgboost's sigmoid, in float32: 1 / (expf(min(-margin, 88.7)) + 1).
float XgboostSigmoid(float margin);

}  // namespace mlfaas::model
