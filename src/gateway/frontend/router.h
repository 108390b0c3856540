// Routing of the public gateway. Each front door lives in its own file and tries the request:
//   lambda_api.cc  POST /2015-03-31/functions/{name}/invocations
//   model_api.cc   TF-Serving /v1/models/... and KServe V2 /v2/...
//   admin_api.cc   GET /metrics, GET /v1/status, GET /healthz
// A handler returns false when the path is not its own (nothing sent); true when it took the
// request (it answers through `respond`, now or later). All go through Invoker::Invoke.
#pragma once

#include <atomic>
#include <string>

#include "gateway/base/http_server.h"
#include "gateway/base/metrics.h"
#include "gateway/invoke/invoker.h"
#include "gateway/pool/instance_manager.h"

namespace mlfaas::gateway {

// Everything a front door may use. Members outlive the HTTP server. Thread-safe.
struct ApiContext {
  Invoker& invoker;
  InstanceManager& manager;
  Metrics& metrics;
  Clock& clock;
  std::atomic<bool>& shutting_down;
};

bool HandleLambdaApi(ApiContext& ctx, Request& req, Responder& respond);
bool HandleModelApi(ApiContext& ctx, Request& req, Responder& respond);
bool HandleAdminApi(ApiContext& ctx, Request& req, Responder& respond);

// Tries the front doors in order; 404 {"type","message"} when none matches.
void Route(ApiContext& ctx, Request&& req, Responder respond);

// Lambda-shaped error: status, header X-Amzn-ErrorType: <type>, body {"Type":"User"|"Service",
// "message": msg} (what the AWS CLI prints as "An error occurred (<type>) ...: <msg>").
Response LambdaError(http::status status, const std::string& type, const std::string& msg);

// The X-Mlfaas-Cold-Start / X-Mlfaas-Init-Duration-Ms / request id headers of a result.
void SetInvocationHeaders(Response& res, const InvokeResult& r);

// Decodes %XX escapes (and '+' as-is); false on a malformed escape.
bool PercentDecode(std::string_view in, std::string& out);
// Value of query parameter `name` in `target`, percent-decoded, into `out` ("" when absent).
// False when the value has a malformed escape.
bool QueryParam(std::string_view target, std::string_view name, std::string& out);

// Lambda's naming rules: a function name is [A-Za-z0-9_-]{1,64}; a qualifier is $LATEST, a
// version number or an alias name, [A-Za-z0-9$_-]{1,128}.
bool ValidFunctionName(std::string_view name);
bool ValidQualifier(std::string_view qualifier);

}  // namespace mlfaas::gateway
