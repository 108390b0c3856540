// The HTTP adapter's routes (`mlfaas-runtime --http`, docs/runtime.md "HTTP adapter mode"), as a
// pure function of (method, target, body): no sockets, so every answer is table-testable. The
// server around it is runtime/http_adapter.h.
//
//   POST /                                   the event JSON -> the handler's result JSON (200);
//                                            an error -> {"errorType","errorMessage"} (4xx/5xx)
//   GET  /v2, /v2/health/live, /v2/health/ready
//   GET  /v2/models/{m}[/versions/{v}]       metadata: inputs (one FP64 per feature), outputs
//   GET  /v2/models/{m}[/versions/{v}]/ready
//   POST /v2/models/{m}[/versions/{v}]/infer KServe V2 infer (common/kserve_v2.h), errors {"error"}
// {m} is the function's name, {v} its version; anything else is 404.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/invocation.h"

namespace mlfaas::runtime {

struct HttpAnswer {
  unsigned status = 200;
  std::string body;   // JSON
  std::string allow;  // the Allow header of a 405
  // The handler returned a fatal error (a failed lazy load): the server answers, then stops, as
  // the Runtime API loop ends after posting it.
  bool fatal = false;
};

// What the routes say about the model.
struct AdapterModel {
  std::string name;     // the function's name: {m} in the V2 routes
  std::string version;  // AWS_LAMBDA_FUNCTION_VERSION: {v}, "model_version"
  // The model's features in order (V2 metadata and the [N, F] tensor form). Called when needed,
  // possibly from several threads at once; an error answers 500.
  std::function<StatusOr<std::vector<std::string>>()> features;
};

// Maps a function error to its HTTP status: InvalidInput 400, InitError 502, anything else 500.
unsigned ErrorStatus(std::string_view error_type);

// Thread-safe (Handle may be called from several threads when `handler` is). Never throws: an
// exception escaping the handler or a conversion is a 500.
class HttpRoutes {
 public:
  HttpRoutes(Handler handler, AdapterModel model);

  // `method` as on the request line ("POST"); `target` with its query, which is ignored.
  HttpAnswer Handle(std::string_view method, std::string_view target, std::string body) const;

 private:
  HttpAnswer Route(std::string_view method, std::string_view path, std::string body) const;
  HttpAnswer Invoke(std::string body) const;
  HttpAnswer V2(std::string_view method, const std::vector<std::string_view>& segments,
                std::string body) const;
  HttpAnswer Infer(std::string body) const;
  HttpAnswer Metadata() const;
  Response Call(std::string payload) const;

  Handler handler_;
  AdapterModel model_;
  mutable std::atomic<uint64_t> requests_{0};  // request ids: "http-<n>"
};

}  // namespace mlfaas::runtime
