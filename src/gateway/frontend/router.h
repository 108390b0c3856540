// Routing of the public gateway. Each front door lives in its own file and tries the request:
//   lambda_api.cc  POST /2015-03-31/functions/{name}/invocations
//   model_api.cc   TF-Serving /v1/models/... and KServe V2 /v2/...
//   admin_api.cc   GET /metrics, GET /v1/status, GET /healthz
//   control_api.cc the Lambda control plane (functions, versions, aliases, concurrency, tags)
//   key_api.cc     /mlfaas/v1/keys and /mlfaas/v1/audit (the admin scope)
//   logs_api.cc    GET /v1/functions/{name}/logs (the function log, the read scope)
//   cost_api.cc    GET /v1/cost (metered usage priced, the read scope)
//   feedback_api.cc POST|GET /v1/functions/{name}/feedback (labelled rows for retraining: the
//                  deploy scope to add, the read scope to count)
//   dashboard_api.cc the dashboard: its page under /ui/ (open) and GET /v1/dashboard/... (read)
// A handler returns false when the path is not its own (nothing sent); true when it took the
// request (it answers through `respond`, now or later). All go through Invoker::Invoke.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/guard.h"
#include "gateway/base/code_store.h"
#include "gateway/base/http_server.h"
#include "gateway/base/metrics.h"
#include "gateway/invoke/invoker.h"
#include "gateway/pool/instance_manager.h"
#include "registry/registry.h"
#include "registry/training_store.h"
#include "registry/usage_store.h"

namespace mlfaas::gateway {

class DashboardFeed;

// Everything a front door may use. Members outlive the HTTP server. Thread-safe.
struct ApiContext {
  Invoker& invoker;
  InstanceManager& manager;
  Metrics& metrics;
  Clock& clock;
  std::atomic<bool>& shutting_down;
  auth::Guard* guard = nullptr;  // null: no authentication (every caller may do everything)
  // The control plane (control_api.cc): null registry = none in this gateway.
  registry::Registry* registry = nullptr;
  auth::AuthStore* store = nullptr;  // records control-plane writes (audit); null: not recorded
  // Runs blocking control-plane work off the io threads; empty: inline.
  std::function<void(std::function<void()>)> offload;
  std::filesystem::path log_dir;  // the function log's (logs_api.cc); empty: none
  // Writes the function log's pending lines to its files (blocking; off the io threads), so that
  // a read sees every line written before it; empty: nothing pending to write.
  std::function<void()> flush_log;
  // Metered usage (cost_api.cc): null = none in this gateway. `flush_usage` hands the usage
  // still in memory to it (false: it stays pending, the database could not be written); it
  // blocks, so it is called off the io threads.
  registry::UsageStore* usage = nullptr;
  std::function<bool()> flush_usage;
  // Where versions' code trees are (the instances' own, code_store.h): the model API reads a
  // version's manifest.json there (its features). Null: not available in this gateway.
  CodeStore* code = nullptr;
  // Labelled feedback (feedback_api.cc): null = none in this gateway. Blocking, so used off the
  // io threads.
  registry::TrainingStore* training = nullptr;
  // The dashboard's series and streams (dashboard_feed.h): null = no live data in this gateway.
  DashboardFeed* dashboard = nullptr;
  // Where `mlfaas bench` keeps its reports (<home>/reports); empty: none to list.
  std::filesystem::path reports_dir = {};
};

// Who is calling. `who` comes from the guard (Route); each front door authorizes the action it
// is about to take, on the function name it parsed, with Authorize below.
using auth::Principal;
bool HandleLambdaApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleModelApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleAdminApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleControlApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleKeyApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleLogsApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleCostApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleFeedbackApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);
bool HandleDashboardApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who);

// Runs `work` (which returns the answer; an exception becomes a 500 ServiceException) and
// answers through `respond`, off the io threads when the gateway says how (ctx.offload).
void Offload(ApiContext& ctx, Responder& respond, std::function<Response()> work);

// The control plane's code uploads (CreateFunction, UpdateFunctionCode): bodies up to 70 MB.
bool IsControlPlaneUpload(std::string_view target);

// The route label of a request in /metrics (mlfaas_request_duration_seconds): "invoke" (Lambda
// Invoke), "control" (the Lambda control plane), "tfserving", "kserve", "keys" (/mlfaas/...),
// "operator" (/metrics, /v1/status, /v1/functions/..., /v1/cost, /v1/dashboard..., /healthz),
// "ui" (the dashboard's files under /ui/) or "other". A fixed set,
// so no client chooses a label.
const char* RouteLabel(http::verb method, std::string_view target);

// Authenticates (unless the route is open: GET/HEAD /healthz, /v2/health/live,
// /v2/health/ready, and the dashboard's files /ui, /ui/ and /ui/<file>, exactly as written), then
// tries the front doors in order; 404
// {"type","message"} when none matches.
void Route(ApiContext& ctx, Request&& req, Responder respond);

// The AWS-shaped answer to a refusal (401/403/429 with X-Amzn-ErrorType).
Response DenialResponse(const auth::Denial& d);
// nullopt when `who` may do `action` on `function`; else the 403 to send.
std::optional<Response> Authorize(const Principal& who, auth::Action action,
                                  std::string_view function, std::string_view operation);
// The same for every function (a scope with pattern "*": /metrics, /v1/status).
std::optional<Response> AuthorizeAll(const Principal& who, auth::Action action,
                                     std::string_view operation);

// Lambda-shaped error: status, header X-Amzn-ErrorType: <type>, body {"Type":"User"|"Service",
// "message": msg} (what the AWS CLI prints as "An error occurred (<type>) ...: <msg>").
Response LambdaError(http::status status, const std::string& type, const std::string& msg);

// The X-Mlfaas-Cold-Start / X-Mlfaas-Init-Duration-Ms / request id headers of a result.
void SetInvocationHeaders(Response& res, const InvokeResult& r);

// A Status as Lambda types it: NotFound 404 ResourceNotFoundException, AlreadyExists and
// FailedPrecondition 409 ResourceConflictException, InvalidArgument and DataLoss 400
// InvalidParameterValueException, Unimplemented 400 UnsupportedOperationException,
// ResourceExhausted 429, anything else 500 ServiceException.
Response StatusResponse(const Status& st);
// `body` as JSON with Content-Type: application/json.
Response JsonResponse(http::status status, const nlohmann::json& body);
// Splits "/a/b/c" into {"a","b","c"}, percent-decoding each segment; false on a bad escape.
bool PathSegments(std::string_view path, std::vector<std::string>& out);

// Decodes %XX escapes (and '+' as-is); false on a malformed escape.
bool PercentDecode(std::string_view in, std::string& out);
// Value of query parameter `name` in `target`, percent-decoded, into `out` ("" when absent).
// False when the value has a malformed escape.
bool QueryParam(std::string_view target, std::string_view name, std::string& out);

// 400 InvalidParameterValueException with `msg` (Lambda-shaped, LambdaError).
Response BadParam(const std::string& msg);
// QueryParam; on a malformed escape, answers BadParam through `respond` and returns false.
bool QueryParamOr400(std::string_view target, std::string_view name, std::string& out,
                     Responder& respond);

// Lambda's naming rules: a function name is [A-Za-z0-9_-]{1,64}; a qualifier is $LATEST, a
// version number or an alias name, [A-Za-z0-9$_-]{1,128}.
bool ValidFunctionName(std::string_view name);
bool ValidQualifier(std::string_view qualifier);

}  // namespace mlfaas::gateway
