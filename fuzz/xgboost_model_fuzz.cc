// Fuzz target: bytes as an xgboost JSON model (model/tree_model.h), what a package's
// "xgboost" model kind hands the worker.
//
//  1. ParseXgboostJson returns, never crashes or throws; a refusal is InvalidArgument (or
//     ResourceExhausted for memory), with a message.
//  2. An accepted model has the shape the scorer relies on: tree offsets and depths consistent,
//     every internal node's children inside its tree and after it, split features below
//     num_features, and each tree's depth reached by a step-bounded walk from its root.
//  3. Scoring a few rows (all missing, zeros, extremes, values taken from the input, values on
//     and beside the thresholds), as double and as float rows, through the compiled LeafMasks
//     where the model has them, terminates, agrees bit for bit with that reference walk, gives
//     finite margins and, for the logistic objectives, probabilities in [0, 1].
//  4. The same bytes parse again with expected_features = num_features, and are refused with
//     num_features + 1.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "model/tree_model.h"

namespace {

using namespace mlfaas;
using model::TreeEnsemble;
using model::TreeNode;

// Scoring allocates rows * num_features values: models with more features are checked for
// structure only.
constexpr size_t kMaxScoredFeatures = 4096;

void CheckStructure(const TreeEnsemble& m) {
  if (m.tree_offsets.size() != m.num_trees() + 1 || m.tree_offsets.front() != 0 ||
      m.tree_offsets.back() != m.nodes.size()) {
    fuzz::Fail("tree offsets do not cover the nodes");
  }
  if (m.num_features == 0) fuzz::Fail("accepted a model without features");
  for (size_t t = 0; t < m.num_trees(); ++t) {
    const uint32_t begin = m.tree_offsets[t], end = m.tree_offsets[t + 1];
    if (begin >= end) fuzz::Fail("accepted an empty tree");
    for (uint32_t i = begin; i < end; ++i) {
      const TreeNode& n = m.nodes[i];
      if (m.is_leaf(i)) {
        if (n.right != i) fuzz::Fail("a leaf that does not loop to itself on both sides");
        continue;
      }
      if (n.left <= i || n.right <= i || n.left >= end || n.right >= end) {
        fuzz::Fail("a child outside its tree or before its parent");
      }
      if (n.split_feature() >= m.num_features) fuzz::Fail("a split feature >= num_features");
    }
  }
  if (!std::isfinite(m.base_margin)) fuzz::Fail("a non-finite base margin");
}

// The obvious walk, with a step bound that would catch a loop.
float ReferenceMargin(const TreeEnsemble& m, const double* row) {
  float margin = m.base_margin;
  for (size_t t = 0; t < m.num_trees(); ++t) {
    const uint32_t begin = m.tree_offsets[t], end = m.tree_offsets[t + 1];
    uint32_t k = begin;
    uint32_t steps = 0;
    while (!m.is_leaf(k)) {
      if (++steps > end - begin) fuzz::Fail("a walk does not terminate");
      const TreeNode& n = m.nodes[k];
      const float v = static_cast<float>(row[n.split_feature()]);
      k = (std::isnan(v) ? n.default_left() : v < n.value) ? n.left : n.right;
    }
    if (steps > m.tree_depths[t]) fuzz::Fail("a walk longer than its tree's depth");
    margin += m.nodes[k].value;
  }
  return margin;
}

void CheckScores(const TreeEnsemble& m, std::string_view bytes) {
  const size_t d = m.num_features;
  if (d > kMaxScoredFeatures) return;
  // Five fixed rows, then rows on the model's first thresholds and one float step either side
  // (where the compiled LeafMasks bins must give the walk's side).
  std::vector<float> at;
  for (size_t i = 0; i < m.nodes.size() && at.size() < 8; ++i) {
    if (!m.is_leaf(i)) at.push_back(m.nodes[i].value);
  }
  const size_t kRows = 5 + 3 * at.size();
  std::vector<double> rows(kRows * d);
  for (size_t k = 0; k < at.size(); ++k) {
    const float t = at[k];
    const float around[3] = {t, std::nextafter(t, -INFINITY), std::nextafter(t, INFINITY)};
    for (size_t s = 0; s < 3; ++s) {
      for (size_t j = 0; j < d; ++j) rows[(5 + 3 * k + s) * d + j] = around[(s + j) % 3];
    }
  }
  for (size_t j = 0; j < d; ++j) {
    rows[0 * d + j] = std::numeric_limits<double>::quiet_NaN();
    rows[1 * d + j] = 0.0;
    rows[2 * d + j] = j % 2 ? 1e300 : -1e300;  // beyond float: converts to +-inf
    rows[3 * d + j] = j % 3 == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / (j + 1);
    // Values from the input, as the thresholds in it were written.
    double v = 0;
    if (!bytes.empty()) {
      const size_t at = (j * 8) % bytes.size();
      unsigned char b[8] = {};
      for (size_t k = 0; k < 8; ++k)
        b[k] = static_cast<unsigned char>(bytes[(at + k) % bytes.size()]);
      std::memcpy(&v, b, sizeof v);
    }
    rows[4 * d + j] = std::isfinite(v) ? v : (std::isnan(v) ? v : 0.5);
  }
  std::vector<double> margin(kRows), out(kRows), from_float(kRows);
  model::PredictMargin(m, rows, kRows, margin);
  model::Predict(m, rows, kRows, out);
  std::vector<float> rows32(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const double v = rows[i];
    rows32[i] = std::fabs(v) > std::numeric_limits<float>::max()
                    ? std::copysign(std::numeric_limits<float>::infinity(), v)
                    : static_cast<float>(v);
  }
  model::Predict(m, std::span<const float>(rows32), kRows, from_float);
  for (size_t i = 0; i < kRows; ++i) {
    const float want = ReferenceMargin(m, rows.data() + i * d);
    if (!std::isfinite(margin[i])) fuzz::Fail("a non-finite margin");
    if (margin[i] != static_cast<double>(want)) fuzz::Fail("PredictMargin disagrees with a walk");
    if (m.outputs_probability()) {
      if (!(out[i] >= 0.0 && out[i] <= 1.0)) fuzz::Fail("a probability outside [0, 1]");
      if (out[i] != model::XgboostSigmoid(want)) fuzz::Fail("Predict is not sigmoid(margin)");
    } else if (out[i] != margin[i]) {
      fuzz::Fail("Predict is not the margin for binary:logitraw");
    }
    if (from_float[i] != out[i]) fuzz::Fail("float rows score differently from double rows");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = model::ParseXgboostJson(bytes, 0);
  if (!parsed.ok()) {
    const StatusCode code = parsed.status().code();
    if (code != StatusCode::kInvalidArgument && code != StatusCode::kResourceExhausted) {
      fuzz::Fail("a refusal that is not InvalidArgument", parsed.status().ToString());
    }
    if (parsed.status().message().empty()) fuzz::Fail("a refusal without a message");
    return 0;
  }
  const TreeEnsemble& m = *parsed;
  CheckStructure(m);
  CheckScores(m, bytes);
  if (!model::ParseXgboostJson(bytes, m.num_features).ok()) {
    fuzz::Fail("refused with expected_features = num_features");
  }
  if (model::ParseXgboostJson(bytes, m.num_features + 1).ok()) {
    fuzz::Fail("accepted with expected_features = num_features + 1");
  }
  return 0;
}
