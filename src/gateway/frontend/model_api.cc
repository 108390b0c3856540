// Model-serving front doors over the same invocation path as the Lambda Invoke API:
//   TF-Serving:  POST /v1/models/{m}[/versions/{v}|/labels/{alias}]:predict  {"instances":[...]}
//                GET  /v1/models/{m}[/versions/{v}|/labels/{alias}]          (model status)
//   KServe V2:   GET  /v2, /v2/health/live, /v2/health/ready
//                GET  /v2/models/{m}[/versions/{v}][/ready]
//                POST /v2/models/{m}[/versions/{v}]/infer  {"inputs":[{name,shape,datatype,data}]}
// A version segment is a qualifier: a version number or an alias; TF-Serving's version 0 is
// $LATEST. Errors are {"error": "..."} (both protocols' shape); see docs/api.md for the status
// mapping. The V2 bodies themselves are converted by kserve_v2.h; the features a model declares
// come from model_schema.h.
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json.h"
#include "gateway/frontend/kserve_v2.h"
#include "gateway/frontend/model_schema.h"
#include "gateway/frontend/router.h"

namespace mlfaas::gateway {
namespace {

using nlohmann::json;

// Every model route of a function (predict, infer, status, metadata) is its invoke scope's.
constexpr std::string_view kInvokeOperation = "lambda:InvokeFunction";

Response ModelError(http::status status, const std::string& msg) {
  return JsonResponse(status, json{{"error", msg}});
}

// A 400 for a malformed path or a model/version name outside Lambda's naming rules; nullopt when
// the names are fine.
std::optional<Response> BadNames(const std::string& model, const std::string& qualifier) {
  if (!ValidFunctionName(model)) {
    return ModelError(http::status::bad_request,
                      "invalid model name: use 1-64 letters, digits, '-' or '_'");
  }
  if (!qualifier.empty() && !ValidQualifier(qualifier)) {
    return ModelError(http::status::bad_request,
                      "invalid version or label: use a version number or an alias name");
  }
  return std::nullopt;
}

Response MalformedPath() {
  return ModelError(http::status::bad_request, "malformed percent-escape in the request path");
}

// A qualifier that did not resolve: unknown (404), malformed (400), or the registry failed (503).
Response ResolveFailure(const Status& st) {
  const http::status code = st.code() == StatusCode::kNotFound ? http::status::not_found
                            : st.code() == StatusCode::kInvalidArgument
                                ? http::status::bad_request
                                : http::status::service_unavailable;
  return ModelError(code, st.message());
}

// Runs `work` off the io threads when the gateway says how (ctx.offload; else inline). An
// exception becomes a 500 {"error"} through `respond`.
void OffloadModelWork(ApiContext& ctx, const Responder& respond, std::function<void()> work) {
  auto run = [respond, work = std::move(work)] {
    try {
      work();
    } catch (const std::exception& e) {
      respond(ModelError(http::status::internal_server_error,
                         std::string("internal error: ") + e.what()));
    }
  };
  if (ctx.offload) {
    ctx.offload(std::move(run));
  } else {
    run();
  }
}

// ---- The features a model declares (KServe V2 metadata, the [N, F] tensor form) -------------

using Features = ModelSchemaCache::Features;

// Process-wide: a code digest names the same package in every home.
ModelSchemaCache& Schemas() {
  static ModelSchemaCache* const cache =
      new ModelSchemaCache(/*max_entries=*/256, /*max_bytes=*/size_t{4} << 20);
  return *cache;
}

// Calls `next` with the features of `v`: at once when they are known without I/O (cached, or a
// version without a manifest), else once they are read from its code tree, off the io threads.
void WithFeatures(ApiContext& ctx, const registry::VersionInfo& v, const Responder& respond,
                  std::function<void(StatusOr<Features>)> next) {
  if (Features known = Schemas().Cached(v)) return next(std::move(known));
  CodeStore* code = ctx.code;
  if (!code) return next(FailedPrecondition("this gateway has no code store to read models from"));
  OffloadModelWork(ctx, respond, [code, v, next = std::move(next)] {
    next(Schemas().Load(v, [code](const registry::VersionInfo& x) { return code->CodeDir(x); }));
  });
}

Response FeaturesUnavailable(const Status& st) {
  return ModelError(http::status::internal_server_error,
                    "cannot read the model's feature list: " + st.message());
}

// The model-serving status for a result that did not succeed, and its message.
Response FailureResponse(const InvokeResult& r) {
  std::string msg = r.body;
  auto parsed = ParseJson(r.body);
  const json j = parsed.ok() ? std::move(parsed).value() : json();
  const std::string type = JsonString(j, "errorType", "");
  if (auto m = JsonString(j, "errorMessage")) {
    msg = type == "InvalidInput" ? *m : type + ": " + *m;
  }
  http::status st = http::status::internal_server_error;
  switch (r.outcome) {
    case Outcome::kFunctionError:
      st = type == "InvalidInput" ? http::status::bad_request : http::status::internal_server_error;
      break;
    case Outcome::kTimeout:
      st = http::status::gateway_timeout;
      break;
    case Outcome::kCrash:
    case Outcome::kInitError:
      st = http::status::bad_gateway;
      break;
    case Outcome::kThrottled:
      st = http::status::too_many_requests;
      break;
    case Outcome::kNotFound:
      st = http::status::not_found;
      break;
    case Outcome::kBadRequest:
      st = http::status::bad_request;
      break;
    case Outcome::kUnavailable:
      st = http::status::service_unavailable;
      break;
    case Outcome::kSuccess:
      break;
  }
  Response res = ModelError(st, msg);
  SetInvocationHeaders(res, r);
  return res;
}

// Runs `payload` on (function, qualifier) and answers with `shape(worker result JSON)`.
template <typename Shape>
void InvokeAndShape(ApiContext& ctx, std::string function, std::string qualifier,
                    std::string payload, Responder respond, Shape shape) {
  if (ctx.shutting_down.load(std::memory_order_relaxed)) {
    respond(ModelError(http::status::service_unavailable, "the gateway is shutting down"));
    return;
  }
  InvokeRequest in;
  in.function = std::move(function);
  in.qualifier = std::move(qualifier);
  in.payload = std::move(payload);
  ctx.invoker.Invoke(std::move(in), [respond, shape](InvokeResult r) {
    if (r.outcome != Outcome::kSuccess) return respond(FailureResponse(r));
    auto parsed = ParseJson(r.body);  // the function's bytes: hostile
    if (!parsed.ok()) {
      return respond(ModelError(http::status::bad_gateway,
                                "the function's result is " + parsed.status().message()));
    }
    json& j = *parsed;
    const json* predictions = JsonField(j, "predictions");
    if (!predictions || !predictions->is_array()) {
      return respond(ModelError(http::status::bad_gateway,
                                "the function's result has no \"predictions\" array"));
    }
    StatusOr<json> shaped = shape(j, r);
    if (!shaped.ok()) {
      return respond(ModelError(http::status::bad_gateway, "the function's result is malformed: " +
                                                               shaped.status().message()));
    }
    Response res = JsonResponse(http::status::ok, *shaped);
    res.set("X-Amz-Executed-Version", r.executed_version);
    SetInvocationHeaders(res, r);
    respond(std::move(res));
  });
}

// ---- TF-Serving ----------------------------------------------------------------------------

void TfPredict(ApiContext& ctx, const std::string& model, const std::string& qualifier,
               Request& req, Responder& respond) {
  auto parsed = ParseJson(req.body());
  if (!parsed.ok())
    return respond(
        ModelError(http::status::bad_request, "the body is " + parsed.status().message()));
  json& body = *parsed;
  if (!body.is_object()) {
    return respond(ModelError(http::status::bad_request, "the request body is not a JSON object"));
  }
  if (!body.contains("instances")) {
    return respond(ModelError(http::status::bad_request,
                              "missing \"instances\": send {\"instances\": [{...}, ...]}"));
  }
  json event{{"instances", std::move(body["instances"])}};
  InvokeAndShape(ctx, model, qualifier, DumpJson(event), respond,
                 [](json& j, const InvokeResult&) -> StatusOr<json> {
                   return json{{"predictions", std::move(j["predictions"])}};
                 });
}

// TF-Serving numbers versions (int64, a string in JSON); Lambda numbers published versions from
// 1, so $LATEST is version 0 there, both ways.
constexpr char kTfLatest[] = "0";
// GET /v1/models/{m} lists $LATEST and at most this many of the newest published versions.
constexpr size_t kMaxListedVersions = 1000;

std::string TfVersion(const std::string& version) {
  return version == registry::kLatest ? kTfLatest : version;
}

// The versions of `model` that cannot serve now (their instances fail to start and are in their
// back-off window), with why.
std::map<std::string, std::string> BackingOff(ApiContext& ctx, const std::string& model) {
  std::map<std::string, std::string> out;
  const json status = ctx.manager.StatusJson();
  const json* functions = JsonField(status, "functions");
  if (!functions || !functions->is_array()) return out;
  for (const json& f : *functions) {
    if (JsonString(f, "name", "") != model) continue;
    const json* versions = JsonField(f, "versions");
    if (!versions || !versions->is_array()) continue;
    for (const json& v : *versions) {
      auto error = JsonString(v, "last_init_error");
      if (!JsonField(v, "init_backoff_ms") || !error) continue;
      auto parsed = ParseJson(*error);
      const json e = parsed.ok() ? std::move(parsed).value() : json();
      std::string why = JsonString(e, "errorType", "Runtime.InitError") + ": " +
                        JsonString(e, "errorMessage", *error);
      if (why.size() > 1024) why.resize(1024);
      out[JsonString(v, "version", "")] = std::move(why);
    }
  }
  return out;
}

json VersionStatus(const std::string& version, const std::map<std::string, std::string>& failing) {
  auto it = failing.find(version);
  if (it == failing.end()) {
    return {{"version", TfVersion(version)},
            {"state", "AVAILABLE"},
            {"status", {{"error_code", "OK"}, {"error_message", ""}}}};
  }
  return {{"version", TfVersion(version)},
          {"state", "END"},
          {"status", {{"error_code", "UNAVAILABLE"}, {"error_message", it->second}}}};
}

void TfStatus(ApiContext& ctx, const std::string& model, const std::string& qualifier,
              Responder& respond) {
  if (!qualifier.empty() || !ctx.registry) {  // one version (or no registry to list them)
    auto v = ctx.invoker.Resolve(model, qualifier);
    if (!v.ok()) return respond(ResolveFailure(v.status()));
    json status = VersionStatus(v->version, BackingOff(ctx, model));
    return respond(
        JsonResponse(http::status::ok, json{{"model_version_status", json::array({status})}}));
  }
  registry::Registry* reg = ctx.registry;
  OffloadModelWork(ctx, respond, [&ctx, reg, model, respond] {
    auto versions = reg->ListVersions(model);  // $LATEST first, then ascending
    if (!versions.ok()) return respond(ResolveFailure(versions.status()));
    std::vector<registry::VersionInfo>& all = *versions;
    if (all.empty()) return respond(ModelError(http::status::not_found, "unknown model " + model));
    if (all.size() > kMaxListedVersions + 1) {
      all.erase(all.begin() + 1, all.end() - kMaxListedVersions);
    }
    const auto failing = BackingOff(ctx, model);
    json list = json::array();
    for (const registry::VersionInfo& v : all) list.push_back(VersionStatus(v.version, failing));
    respond(JsonResponse(http::status::ok, json{{"model_version_status", std::move(list)}}));
  });
}

// /v1/models/{m}[/versions/{v}|/labels/{l}][:predict]
bool HandleTf(ApiContext& ctx, Request& req, Responder& respond, std::string_view path,
              const Principal& who) {
  bool predict = path.ends_with(":predict");
  if (predict) path.remove_suffix(std::string_view(":predict").size());
  std::vector<std::string> seg;
  if (!PathSegments(path, seg)) return respond(MalformedPath()), true;
  if (seg.size() < 3 || seg[2].empty()) return false;
  std::string qualifier;
  if (seg.size() == 5 && (seg[3] == "versions" || seg[3] == "labels")) {
    qualifier = seg[3] == "versions" && seg[4] == kTfLatest ? registry::kLatest : seg[4];
  } else if (seg.size() != 3) {
    return false;
  }
  if (auto bad = BadNames(seg[2], qualifier)) return respond(std::move(*bad)), true;
  if (auto denied = Authorize(who, auth::Action::kInvoke, seg[2], kInvokeOperation)) {
    return respond(std::move(*denied)), true;
  }
  if (predict && req.method() == http::verb::post) {
    TfPredict(ctx, seg[2], qualifier, req, respond);
  } else if (!predict && req.method() == http::verb::get) {
    TfStatus(ctx, seg[2], qualifier, respond);
  } else {
    respond(ModelError(http::status::method_not_allowed,
                       predict ? "use POST for :predict" : "use GET for model status"));
  }
  return true;
}

// ---- KServe V2 -----------------------------------------------------------------------------

// Runs the converted request on (model, qualifier) and answers with its outputs.
void RunInfer(ApiContext& ctx, const std::string& model, const std::string& qualifier,
              kserve::InferRequest request, const Responder& respond) {
  InvokeAndShape(
      ctx, model, qualifier, std::move(request.event), respond,
      [model, rows = request.rows, id = std::move(request.id),
       outputs = std::move(request.outputs)](json& j, const InvokeResult& r) -> StatusOr<json> {
        const json& predictions = j["predictions"];  // an array (InvokeAndShape)
        if (predictions.size() != rows) {
          return InvalidArgument(std::to_string(predictions.size()) + " predictions for " +
                                 std::to_string(rows) + " rows");
        }
        MLFAAS_ASSIGN_OR_RETURN(json shaped, kserve::Outputs(predictions, outputs));
        json out{{"model_name", model},
                 {"model_version", r.executed_version},
                 {"outputs", std::move(shaped)}};
        if (!id.is_null()) out["id"] = id;
        return out;
      });
}

void V2Infer(ApiContext& ctx, const std::string& model, const std::string& qualifier, Request& req,
             Responder& respond) {
  auto parsed = ParseJson(req.body());
  if (!parsed.ok())
    return respond(
        ModelError(http::status::bad_request, "the body is " + parsed.status().message()));
  if (!kserve::NeedsFeatures(*parsed)) {  // the per-feature form: no feature list needed
    auto request = kserve::ToEvent(*parsed, {});
    if (!request.ok()) {
      return respond(ModelError(http::status::bad_request, request.status().message()));
    }
    return RunInfer(ctx, model, qualifier, std::move(*request), respond);
  }
  // One 2-D input: its columns are the features of the version that runs, so the version is
  // resolved once, here (a weighted alias draws as usual), and invoked as resolved.
  auto v = ctx.invoker.Resolve(model, qualifier);
  if (!v.ok()) return respond(ResolveFailure(v.status()));
  auto body = std::make_shared<const json>(std::move(*parsed));
  WithFeatures(
      ctx, *v, respond,
      [&ctx, model, version = v->version, body, respond](StatusOr<Features> features) {
        if (!features.ok()) return respond(FeaturesUnavailable(features.status()));
        auto request = kserve::ToEvent(*body, **features);
        if (!request.ok()) {
          return respond(ModelError(http::status::bad_request, request.status().message()));
        }
        RunInfer(ctx, model, version, std::move(*request), respond);
      });
}

void V2Model(ApiContext& ctx, const std::string& model, const std::string& qualifier, bool ready,
             Responder& respond) {
  auto v = ctx.invoker.Resolve(model, qualifier);
  if (!v.ok()) return respond(ResolveFailure(v.status()));
  if (ready) {
    return respond(JsonResponse(http::status::ok, json{{"name", model}, {"ready", true}}));
  }
  WithFeatures(ctx, *v, respond,
               [model, version = v->version, platform = "mlfaas_" + v->config.runtime,
                respond](StatusOr<Features> features) {
                 if (!features.ok()) return respond(FeaturesUnavailable(features.status()));
                 json out{{"name", model},
                          {"versions", json::array({version})},
                          {"platform", platform},
                          {"inputs", kserve::InputsMetadata(**features)},
                          {"outputs", kserve::OutputsMetadata()}};
                 respond(JsonResponse(http::status::ok, out));
               });
}

bool HandleV2(ApiContext& ctx, Request& req, Responder& respond, std::string_view path,
              const Principal& who) {
  std::vector<std::string> seg;
  if (!PathSegments(path, seg)) return respond(MalformedPath()), true;
  bool get = req.method() == http::verb::get;
  if (seg.size() == 1 || (seg.size() == 3 && seg[1] == "health")) {
    if (!get) return respond(ModelError(http::status::method_not_allowed, "use GET")), true;
    bool draining = ctx.shutting_down.load();
    if (seg.size() == 1) {
      return respond(JsonResponse(http::status::ok, json{{"name", "mlfaas"},
                                                         {"version", MLFAAS_GATEWAY_VERSION},
                                                         {"extensions", json::array()}})),
             true;
    }
    if (seg[2] == "live") return respond(JsonResponse(http::status::ok, {{"live", true}})), true;
    if (seg[2] == "ready") {
      return respond(JsonResponse(draining ? http::status::service_unavailable : http::status::ok,
                                  {{"ready", !draining}})),
             true;
    }
    return false;
  }
  if (seg.size() < 3 || seg[1] != "models" || seg[2].empty()) return false;
  std::string model = seg[2], qualifier;
  size_t i = 3;
  if (seg.size() >= 5 && seg[3] == "versions") {
    qualifier = seg[4];
    i = 5;
  }
  std::string action = i < seg.size() ? seg[i] : "";
  if (i + 1 < seg.size() || (action != "" && action != "ready" && action != "infer")) return false;
  if (auto bad = BadNames(model, qualifier)) return respond(std::move(*bad)), true;
  if (auto denied = Authorize(who, auth::Action::kInvoke, model, kInvokeOperation)) {
    return respond(std::move(*denied)), true;
  }
  if (action == "infer") {
    if (req.method() != http::verb::post) {
      return respond(ModelError(http::status::method_not_allowed, "use POST for infer")), true;
    }
    V2Infer(ctx, model, qualifier, req, respond);
    return true;
  }
  if (!get) return respond(ModelError(http::status::method_not_allowed, "use GET")), true;
  V2Model(ctx, model, qualifier, action == "ready", respond);
  return true;
}

}  // namespace

bool HandleModelApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/v1/models/")) return HandleTf(ctx, req, respond, path, who);
  if (path == "/v2" || path.starts_with("/v2/")) return HandleV2(ctx, req, respond, path, who);
  return false;
}

}  // namespace mlfaas::gateway
