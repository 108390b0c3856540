// Model-serving front doors over the same invocation path as the Lambda Invoke API:
//   TF-Serving:  POST /v1/models/{m}[/versions/{v}|/labels/{alias}]:predict  {"instances":[...]}
//                GET  /v1/models/{m}[/versions/{v}|/labels/{alias}]          (model status)
//   KServe V2:   GET  /v2, /v2/health/live, /v2/health/ready
//                GET  /v2/models/{m}[/versions/{v}][/ready]
//                POST /v2/models/{m}[/versions/{v}]/infer  {"inputs":[{name,shape,datatype,data}]}
// A version segment is a qualifier: a version number or an alias. Errors are {"error": "..."}
// (both protocols' shape); see docs/api.md for the status mapping.
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json.h"
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

void TfStatus(ApiContext& ctx, const std::string& model, const std::string& qualifier,
              Responder& respond) {
  auto v = ctx.invoker.Resolve(model, qualifier);
  if (!v.ok()) return respond(ModelError(http::status::not_found, v.status().message()));
  json status{{"version", v->version},
              {"state", "AVAILABLE"},
              {"status", {{"error_code", "OK"}, {"error_message", ""}}}};
  respond(JsonResponse(http::status::ok, json{{"model_version_status", json::array({status})}}));
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
    qualifier = seg[4];
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

// The leaves of a nested array in row-major order, without recursion (the depth is the client's).
void FlattenRowMajor(const json& j, std::vector<json>& out) {
  std::vector<std::pair<const json*, size_t>> stack{{&j, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (!node->is_array()) {
      out.push_back(*node);
      stack.pop_back();
    } else if (next < node->size()) {
      const json* child = &(*node)[next++];
      stack.emplace_back(child, 0);
    } else {
      stack.pop_back();
    }
  }
}

// Turns V2 inputs (one per feature, shape [N] or [N,1]) into {"instances": [{feature: x}, ...]}.
StatusOr<json> V2InputsToInstances(const json& body) {
  if (!body.is_object() || !body.contains("inputs") || !body["inputs"].is_array() ||
      body["inputs"].empty()) {
    return InvalidArgument(
        "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}");
  }
  json instances = json::array();
  size_t rows = 0;
  for (size_t i = 0; i < body["inputs"].size(); ++i) {
    const json& in = body["inputs"][i];
    std::string where = "inputs[" + std::to_string(i) + "]";
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string()) {
      return InvalidArgument(where + ": missing \"name\"");
    }
    if (!in.contains("data") || !in["data"].is_array()) {
      return InvalidArgument(where + " ('" + in["name"].get<std::string>() +
                             "'): missing \"data\"");
    }
    std::vector<json> flat;
    FlattenRowMajor(in["data"], flat);  // accepts [N] and nested [N,1]
    if (i == 0) {
      rows = flat.size();
      instances = json::array();
      for (size_t r = 0; r < rows; ++r) instances.push_back(json::object());
    } else if (flat.size() != rows) {
      return InvalidArgument(where + " ('" + in["name"].get<std::string>() + "') has " +
                             std::to_string(flat.size()) + " values, inputs[0] has " +
                             std::to_string(rows));
    }
    for (size_t r = 0; r < rows; ++r) instances[r][in["name"].get<std::string>()] = flat[r];
  }
  return json{{"instances", std::move(instances)}};
}

void V2Infer(ApiContext& ctx, const std::string& model, const std::string& qualifier, Request& req,
             Responder& respond) {
  auto parsed = ParseJson(req.body());
  if (!parsed.ok())
    return respond(
        ModelError(http::status::bad_request, "the body is " + parsed.status().message()));
  const json& body = *parsed;
  auto event = V2InputsToInstances(body);
  if (!event.ok()) return respond(ModelError(http::status::bad_request, event.status().message()));
  const json* id_field = JsonField(body, "id");
  json id = id_field ? *id_field : json();
  InvokeAndShape(ctx, model, qualifier, DumpJson(*event), respond,
                 [model, id](json& j, const InvokeResult& r) -> StatusOr<json> {
                   json prob = json::array(), anomaly = json::array();
                   for (const auto& p : j["predictions"]) {
                     auto probability = JsonNumber(p, "probability");
                     auto is_anomaly = JsonBool(p, "anomaly");
                     if (!probability || !is_anomaly) {
                       return InvalidArgument("predictions[" + std::to_string(prob.size()) +
                                              "] lacks a numeric \"probability\" or a boolean "
                                              "\"anomaly\"");
                     }
                     prob.push_back(*probability);
                     anomaly.push_back(*is_anomaly);
                   }
                   size_t n = prob.size();
                   json out{{"model_name", model},
                            {"model_version", r.executed_version},
                            {"outputs",
                             {{{"name", "probability"},
                               {"datatype", "FP64"},
                               {"shape", {n}},
                               {"data", std::move(prob)}},
                              {{"name", "anomaly"},
                               {"datatype", "BOOL"},
                               {"shape", {n}},
                               {"data", std::move(anomaly)}}}}};
                   if (!id.is_null()) out["id"] = id;
                   return out;
                 });
}

void V2Model(ApiContext& ctx, const std::string& model, const std::string& qualifier, bool ready,
             Responder& respond) {
  auto v = ctx.invoker.Resolve(model, qualifier);
  if (!v.ok()) return respond(ModelError(http::status::not_found, v.status().message()));
  if (ready) {
    return respond(JsonResponse(http::status::ok, json{{"name", model}, {"ready", true}}));
  }
  json out{{"name", model},
           {"versions", json::array({v->version})},
           {"platform", "mlfaas_" + v->config.runtime},
           {"outputs",
            {{{"name", "probability"}, {"datatype", "FP64"}, {"shape", {-1}}},
             {{"name", "anomaly"}, {"datatype", "BOOL"}, {"shape", {-1}}}}}};
  respond(JsonResponse(http::status::ok, out));
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
