// The Lambda Invoke API: POST /2015-03-31/functions/{name}/invocations[?Qualifier=q].
// Status mapping (docs/api.md):
//   success 200 | Event 202 | DryRun 204 | function error or timeout 200 + X-Amz-Function-Error
//   unknown function/qualifier 404 ResourceNotFoundException | bad JSON 400
//   InvalidRequestContentException | throttled 429 TooManyRequestsException
//   worker crash 502 Runtime.ExitError | init failure 502 Runtime.InitError
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/json.h"
#include "gateway/base/trace.h"
#include "gateway/frontend/router.h"

namespace mlfaas::gateway {
namespace {

constexpr std::string_view kPrefix = "/2015-03-31/functions/";
constexpr std::string_view kSuffix = "/invocations";

// X-Amz-Client-Context: base64 of a JSON object, at most 3,583 bytes, as Lambda takes it. The
// decoded JSON, or InvalidArgument.
StatusOr<std::string> DecodeClientContext(std::string_view text) {
  constexpr size_t kMax = 3583;
  const Status bad = InvalidArgument("Client context must be a valid Base64-encoded JSON object");
  if (text.size() > kMax) {
    return InvalidArgument("Client context must be at most " + std::to_string(kMax) + " bytes");
  }
  auto out = Base64Decode(text);
  if (!out) return bad;
  auto json = ParseJson(*out);
  if (!json.ok() || !json->is_object()) return bad;
  return *out;
}

// Accepts "name", "name:qualifier" and full/partial ARNs "arn:aws:lambda:r:a:function:name[:q]".
void SplitFunctionName(std::string raw, std::string& name, std::string& qualifier) {
  constexpr std::string_view kArnMarker = ":function:";
  if (auto p = raw.find(kArnMarker); raw.starts_with("arn:") && p != std::string::npos) {
    raw = raw.substr(p + kArnMarker.size());
  }
  if (auto c = raw.find(':'); c != std::string::npos) {
    qualifier = raw.substr(c + 1);
    raw.resize(c);
  }
  name = std::move(raw);
}

Response ResultResponse(const InvokeRequest& req, const InvokeResult& r) {
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  switch (r.outcome) {
    case Outcome::kSuccess:
      if (req.type == InvocationType::kEvent) res.result(http::status::accepted);
      if (req.type == InvocationType::kDryRun) res.result(http::status::no_content);
      if (req.type == InvocationType::kRequestResponse) res.body() = r.body;
      break;
    case Outcome::kFunctionError:
    case Outcome::kTimeout:
      res.set("X-Amz-Function-Error", "Unhandled");
      res.body() = r.body;
      break;
    case Outcome::kCrash:
    case Outcome::kInitError: {
      auto parsed = ParseJson(r.body);  // built from what the function sent: any shape
      std::string msg = r.body;
      if (auto m = parsed.ok() ? JsonString(*parsed, "errorMessage") : std::nullopt) {
        msg = JsonString(*parsed, "errorType", r.error_type) + ": " + *m;
      }
      res = LambdaError(http::status::bad_gateway, r.error_type, msg);
      break;
    }
    case Outcome::kThrottled:
      res = LambdaError(http::status::too_many_requests, "TooManyRequestsException", r.body);
      break;
    case Outcome::kNotFound:
      res = LambdaError(http::status::not_found, "ResourceNotFoundException", r.body);
      break;
    case Outcome::kBadRequest:
      res = LambdaError(http::status::bad_request, r.error_type, r.body);
      break;
    case Outcome::kUnavailable:
      res = LambdaError(http::status::service_unavailable, "ServiceException", r.body);
      break;
  }
  if (!r.executed_version.empty() && r.outcome != Outcome::kNotFound) {
    res.set("X-Amz-Executed-Version", r.executed_version);
  }
  if (req.log_tail && req.type == InvocationType::kRequestResponse) {
    res.set("X-Amz-Log-Result", Base64Encode(r.log_tail));
  }
  SetInvocationHeaders(res, r);
  return res;
}

}  // namespace

// One function on purpose: the Invoke API's parameters are read and checked in the order AWS
// documents them (path, Qualifier, X-Amz-Invocation-Type, X-Amz-Log-Type, body), each with its
// own error, then handed to the invoker.
bool HandleLambdaApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  if (!target.starts_with(kPrefix)) return false;
  std::string_view path = target.substr(0, target.find('?'));
  if (!path.ends_with(kSuffix) || path.size() <= kPrefix.size() + kSuffix.size()) return false;
  if (req.method() != http::verb::post) {
    respond(LambdaError(http::status::method_not_allowed, "MethodNotAllowedException",
                        "use POST to invoke a function"));
    return true;
  }
  InvokeRequest in;
  std::string raw;
  if (!PercentDecode(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()),
                     raw)) {
    respond(LambdaError(http::status::bad_request, "InvalidParameterValueException",
                        "malformed function name"));
    return true;
  }
  SplitFunctionName(std::move(raw), in.function, in.qualifier);
  std::string q;
  if (!QueryParam(target, "Qualifier", q)) {
    respond(LambdaError(http::status::bad_request, "InvalidParameterValueException",
                        "malformed Qualifier: bad percent-escape"));
    return true;
  }
  if (!q.empty()) in.qualifier = std::move(q);
  if (!ValidFunctionName(in.function)) {
    respond(LambdaError(http::status::bad_request, "InvalidParameterValueException",
                        "invalid function name: use 1-64 letters, digits, '-' or '_'"));
    return true;
  }
  if (!in.qualifier.empty() && !ValidQualifier(in.qualifier)) {
    respond(LambdaError(http::status::bad_request, "InvalidParameterValueException",
                        "invalid Qualifier: use $LATEST, a version number or an alias name "
                        "(1-128 letters, digits, '$', '-' or '_')"));
    return true;
  }
  // On the name the invocation will use: however the path spelled it (ARN, escapes), the scope
  // is checked against what runs.
  if (auto denied = Authorize(who, auth::Action::kInvoke, in.function, "lambda:InvokeFunction")) {
    respond(std::move(*denied));
    return true;
  }
  auto type = req["X-Amz-Invocation-Type"];
  if (type.empty() || type == "RequestResponse") {
    in.type = InvocationType::kRequestResponse;
  } else if (type == "Event") {
    in.type = InvocationType::kEvent;
  } else if (type == "DryRun") {
    in.type = InvocationType::kDryRun;
  } else {
    respond(LambdaError(http::status::bad_request, "InvalidParameterValueException",
                        "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun"));
    return true;
  }
  in.log_tail = req["X-Amz-Log-Type"] == "Tail";
  if (auto cc = req["X-Amz-Client-Context"]; !cc.empty()) {
    auto decoded = DecodeClientContext(std::string_view(cc.data(), cc.size()));
    if (!decoded.ok()) {
      respond(LambdaError(http::status::bad_request, "InvalidRequestContentException",
                          decoded.status().message()));
      return true;
    }
    in.context.client_context = std::move(decoded).value();
  }
  // A caller's well-formed X-Ray header is propagated; otherwise the invocation starts a trace.
  auto trace = req["X-Amzn-Trace-Id"];
  in.context.trace_id =
      CallerTraceHeader(std::string_view(trace.data(), trace.size())).value_or(std::string());
  in.payload = std::move(req.body());
  if (in.payload.empty()) in.payload = "{}";
  if (Status valid = ValidateJson(in.payload); !valid.ok()) {
    respond(LambdaError(http::status::bad_request, "InvalidRequestContentException",
                        "Could not parse request body into json: the body is " + valid.message()));
    return true;
  }
  if (ctx.shutting_down.load(std::memory_order_relaxed)) {
    respond(LambdaError(http::status::service_unavailable, "ServiceException",
                        "the gateway is shutting down"));
    return true;
  }
  InvokeRequest echo;
  echo.type = in.type;
  echo.log_tail = in.log_tail;
  ctx.invoker.Invoke(std::move(in),
                     [respond, echo](InvokeResult r) { respond(ResultResponse(echo, r)); });
  return true;
}

}  // namespace mlfaas::gateway
