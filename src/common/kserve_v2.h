// KServe V2 (Open Inference Protocol) bodies of the model functions, as pure functions: an infer
// request becomes the event the function takes ({"instances": [{feature: value, ...}, ...]},
// docs/api.md), the function's predictions become the infer answer's outputs, and a model's
// feature list becomes its metadata tensors. No I/O: the gateway's model API
// (gateway/frontend/model_api.cc) and the worker's HTTP adapter (runtime/http_routes.cc) do the
// HTTP side, and fuzz/model_tensor_fuzz.cc drives these with arbitrary bytes. Here, below both,
// in their own library (mlfaas_kserve), so the worker shares them without the gateway.
//
// An infer request takes one of two forms:
//   per feature: one input per feature, named after it, shape [N] or [N, 1];
//   tensor:      one input of shape [N, F] (any name; KServe's sklearn and xgboost servers call it
//                "input-0"), F = the number of features, columns in the declared feature order.
// Tensor data is row-major, flat ([1, 2, 3, 4]) or nested as the shape says ([[1, 2], [3, 4]]).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::kserve {

// Values in one infer request (all inputs together).
inline constexpr size_t kMaxTensorElements = size_t{1} << 20;
// The event a request becomes: Lambda's synchronous payload limit, as for a Lambda Invoke body.
inline constexpr size_t kMaxEventBytes = size_t{6} << 20;

// What infer answers with, in this order (unless the request's "outputs" asks otherwise).
struct OutputSpec {
  std::string_view name;
  std::string_view datatype;
};
inline constexpr OutputSpec kOutputs[] = {{"probability", "FP64"}, {"anomaly", "BOOL"}};

struct InferRequest {
  std::string event;    // {"instances":[{feature: value, ...}, ...]}, at most kMaxEventBytes
  size_t rows = 0;      // N, at least 1
  bool tensor = false;  // the [N, F] form
  // The outputs asked for ("outputs":[{"name": ...}]), in the order asked; empty: all kOutputs.
  std::vector<std::string> outputs;
  nlohmann::json id;  // the request's "id", null when absent
};

// True when converting `body` needs the model's feature list: it has exactly one input, with a
// 2-D "shape". (Every other body converts the same whatever the features are.)
bool NeedsFeatures(const nlohmann::json& body);

// Converts an infer body parsed by ParseJson (common/json.h: its depth is bounded, which the
// values copied into the event rely on). `features`: the model's declared features in order; empty
// when it declares none (a bundle without a manifest), and then only the per-feature form is
// accepted. One input of shape [N, F] is the tensor form, unless F is 1 and the input is named
// after a feature or the model declares none (then it is a feature's column). InvalidArgument
// naming the problem (the input, its shape, the value) on anything malformed; never throws.
StatusOr<InferRequest> ToEvent(const nlohmann::json& body,
                               const std::vector<std::string>& features);

// The infer answer's "outputs" from the function's "predictions" array: the `requested` outputs in
// that order (all kOutputs when empty), each {"name","datatype","shape":[N],"data":[...]}.
// InvalidArgument when a prediction lacks a numeric "probability" or a boolean "anomaly".
StatusOr<nlohmann::json> Outputs(const nlohmann::json& predictions,
                                 const std::vector<std::string>& requested);

// Model metadata tensors ({"name","datatype","shape"}): one FP64 input of shape [-1] per feature,
// in the declared order; the outputs of kOutputs, shape [-1].
nlohmann::json InputsMetadata(const std::vector<std::string>& features);
nlohmann::json OutputsMetadata();

}  // namespace mlfaas::kserve
