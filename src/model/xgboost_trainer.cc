#include "model/xgboost_trainer.h"

#include <xgboost/c_api.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include "model/split.h"
#include "model/tree_model.h"

namespace mlfaas::model {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Status XgbError(const std::string& what) {
  return InvalidArgument("xgboost: " + what + ": " + XGBGetLastError());
}

struct MatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using Matrix = std::unique_ptr<void, MatrixDeleter>;
using Booster = std::unique_ptr<void, BoosterDeleter>;

// The rows `idx` of `data`, transformed, as float32 (what xgboost trains on).
std::vector<float> Rows(const Dataset& data, const std::vector<size_t>& idx, Transform t) {
  const size_t d = data.num_features();
  std::vector<float> out(idx.size() * d);
  for (size_t i = 0; i < idx.size(); ++i) {
    const double* row = data.row(idx[i]);
    for (size_t j = 0; j < d; ++j) {
      out[i * d + j] = static_cast<float>(t == Transform::kLog01 ? std::log(row[j] + 0.1) : row[j]);
    }
  }
  return out;
}

StatusOr<int> Rounds(std::map<std::string, std::string>& params, int rounds) {
  for (const char* key : {"n_estimators", "num_boost_round"}) {
    auto it = params.find(key);
    if (it == params.end()) continue;
    char* end = nullptr;
    const long n = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || n < 1 || n > 100000) {
      return InvalidArgument(std::string(key) + " must be an integer in [1, 100000], not '" +
                             it->second + "'");
    }
    rounds = static_cast<int>(n);
    params.erase(it);
  }
  return rounds;
}

}  // namespace

StatusOr<XgboostTrainResult> TrainXgboost(const Dataset& data, const XgboostTrainOptions& o) {
  if (!data.has_label) return InvalidArgument("training needs a label column");
  if (data.rows() == 0) return InvalidArgument("no rows to train on");
  MLFAAS_ASSIGN_OR_RETURN(Split split, SplitFor(data, o.split, o.test_size, o.seed));
  XgboostTrainResult r;
  r.params = o.params;
  MLFAAS_ASSIGN_OR_RETURN(r.rounds, Rounds(r.params, o.rounds));
  r.params.try_emplace("objective", "binary:logistic");
  r.params.try_emplace("nthread", "2");
  r.params.try_emplace("seed", std::to_string(o.seed));
  const size_t d = data.num_features();
  r.train_rows = split.train.size();
  r.test_rows = split.test.size();

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> train = Rows(data, split.train, o.transform);
  std::vector<float> labels(split.train.size());
  for (size_t i = 0; i < split.train.size(); ++i) labels[i] = data.y[split.train[i]];
  DMatrixHandle dm = nullptr;
  if (XGDMatrixCreateFromMat(train.data(), split.train.size(), d, NAN, &dm) != 0) {
    return XgbError("building the training matrix");
  }
  Matrix dtrain(dm);
  if (XGDMatrixSetFloatInfo(dtrain.get(), "label", labels.data(), labels.size()) != 0) {
    return XgbError("setting the labels");
  }
  BoosterHandle bh = nullptr;
  DMatrixHandle cache[] = {dtrain.get()};
  if (XGBoosterCreate(cache, 1, &bh) != 0) return XgbError("creating the booster");
  Booster booster(bh);
  for (const auto& [k, v] : r.params) {
    if (XGBoosterSetParam(booster.get(), k.c_str(), v.c_str()) != 0) {
      return XgbError("parameter " + k + "=" + v);
    }
  }
  for (int i = 0; i < r.rounds; ++i) {
    if (XGBoosterUpdateOneIter(booster.get(), i, dtrain.get()) != 0) {
      return XgbError("boosting round " + std::to_string(i));
    }
  }
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(booster.get(), R"({"format": "json"})", &len, &buf) != 0) {
    return XgbError("saving the model");
  }
  r.model_json.assign(buf, len);
  r.fit_seconds = SecondsSince(t0);

  // The test split, scored as serving will score it: by the saved JSON and our evaluator.
  const auto t1 = std::chrono::steady_clock::now();
  auto ensemble = ParseXgboostJson(r.model_json, d);
  if (!ensemble.ok()) {
    return InvalidArgument("the trained model cannot be served: " + ensemble.status().message());
  }
  if (!ensemble->outputs_probability()) {
    return InvalidArgument("objective " + r.params["objective"] +
                           " gives margins, not probabilities: use binary:logistic");
  }
  std::vector<float> test = Rows(data, split.test, o.transform);
  std::vector<double> proba(split.test.size());
  Predict(*ensemble, std::span<const float>(test), split.test.size(), proba);
  std::vector<uint8_t> y(split.test.size());
  for (size_t i = 0; i < split.test.size(); ++i) y[i] = data.y[split.test[i]];
  r.test_metrics = ComputeMetrics(proba, y, o.threshold);
  r.eval_seconds = SecondsSince(t1);
  return r;
}

std::string XgboostVersion() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace mlfaas::model
