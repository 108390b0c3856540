// The built-in "predict" handler: scores the event's rows with a Predictor.
//
// Event:  {"duration":0,"src_bytes":215,"dst_bytes":45076}  or  {"instances":[{...},{...}]}
// Result: {"predictions":[{"anomaly":false,"probability":0.0012}],
//          "model":{"name":"...","version":"...","digest":"..."}}
// Bad events are function errors of type "InvalidInput" whose message names the field
// (batches prefix the index: "instances[3]: field 'src_bytes' is missing").
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "model/predictor.h"
#include "runtime/invocation.h"

namespace mlfaas::runtime {

inline constexpr std::string_view kInvalidInput = "InvalidInput";

// Identifies the model in every result.
struct ModelInfo {
  std::string name;     // manifest name
  std::string version;  // AWS_LAMBDA_FUNCTION_VERSION ("$LATEST", "3", ...)
  std::string digest;   // manifest digest
};

// Immutable after construction; Handle() may be called from several threads.
class ModelHandler {
 public:
  ModelHandler(std::shared_ptr<const model::Predictor> predictor, const ModelInfo& info);

  Response Handle(const Invocation& invocation) const { return HandleEvent(invocation.payload); }
  Response HandleEvent(std::string_view payload) const;

  const model::Predictor& predictor() const { return *predictor_; }
  const ModelInfo& info() const { return info_; }

 private:
  std::string Render(const std::vector<double>& probabilities) const;

  std::shared_ptr<const model::Predictor> predictor_;
  ModelInfo info_;
  std::string model_suffix_;  // ,"model":{...}}  pre-rendered once
};

}  // namespace mlfaas::runtime
