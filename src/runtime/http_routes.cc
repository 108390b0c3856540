#include "runtime/http_routes.h"

#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/json.h"
#include "common/kserve_v2.h"
#include "runtime/model_handler.h"
#include "runtime/transport.h"
#include "runtime/worker.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;

std::string DumpReplacing(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Answers outside /v2: Lambda's error shape.
HttpAnswer LambdaError(unsigned status, std::string_view type, std::string_view message) {
  HttpAnswer a;
  a.status = status;
  a.body = ErrorBody(type, message);
  return a;
}

// Answers under /v2: KServe's error shape.
HttpAnswer V2Error(unsigned status, std::string_view message) {
  HttpAnswer a;
  a.status = status;
  a.body = DumpReplacing(json{{"error", message}});
  return a;
}

HttpAnswer V2NotAllowed(std::string allow) {
  HttpAnswer a = V2Error(405, "use " + allow);
  a.allow = std::move(allow);
  return a;
}

HttpAnswer Json(const json& body) {
  HttpAnswer a;
  a.body = DumpReplacing(body);
  return a;
}

// "/a/b/c" -> {"a", "b", "c"}; "/" -> {""}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

unsigned ErrorStatus(std::string_view error_type) {
  if (error_type == kInvalidInput) return 400;
  if (error_type == kInitError) return 502;
  return 500;
}

HttpRoutes::HttpRoutes(Handler handler, AdapterModel model)
    : handler_(std::move(handler)), model_(std::move(model)) {}

HttpAnswer HttpRoutes::Handle(std::string_view method, std::string_view target,
                              std::string body) const {
  std::string_view path = target.substr(0, target.find('?'));
  try {
    if (path.empty() || path.front() != '/') {
      return LambdaError(400, "InvalidRequest", "the request target must be an absolute path");
    }
    return Route(method, path, std::move(body));
  } catch (const std::exception& e) {
    const std::string message = std::string("internal error: ") + e.what();
    return path.starts_with("/v2") ? V2Error(500, message)
                                   : LambdaError(500, "HandlerException", message);
  }
}

HttpAnswer HttpRoutes::Route(std::string_view method, std::string_view path,
                             std::string body) const {
  if (path == "/") {
    if (method != "POST") {
      HttpAnswer a = LambdaError(405, "MethodNotAllowed", "use POST / with the event as the body");
      a.allow = "POST";
      return a;
    }
    return Invoke(std::move(body));
  }
  if (path == "/v2" || path.starts_with("/v2/")) return V2(method, Segments(path), std::move(body));
  return LambdaError(404, "ResourceNotFound",
                     "no route for " + std::string(path.substr(0, 256)) +
                         ": POST / takes an event; KServe V2 routes are under /v2");
}

Response HttpRoutes::Call(std::string payload) const {
  Invocation invocation;
  invocation.request_id = "http-" + std::to_string(++requests_);
  invocation.payload = std::move(payload);
  try {
    return handler_(invocation);
  } catch (const std::exception& e) {
    return Response::Error("HandlerException", e.what());
  }
}

HttpAnswer HttpRoutes::Invoke(std::string body) const {
  Response r = Call(std::move(body));
  if (!r.is_error) {
    HttpAnswer a;
    a.body = std::move(r.payload);
    return a;
  }
  HttpAnswer a = LambdaError(ErrorStatus(r.error_type), r.error_type, r.error_message);
  a.fatal = r.fatal;
  return a;
}

HttpAnswer HttpRoutes::V2(std::string_view method, const std::vector<std::string_view>& seg,
                          std::string body) const {
  const bool get = method == "GET";
  // seg[0] == "v2"
  if (seg.size() == 1 ||
      (seg.size() == 3 && seg[1] == "health" && (seg[2] == "live" || seg[2] == "ready"))) {
    if (!get) return V2NotAllowed("GET");
    if (seg.size() == 1) {
      return Json({{"name", "mlfaas-runtime"}, {"version", "1"}, {"extensions", json::array()}});
    }
    return Json({{std::string(seg[2]), true}});
  }
  if (seg.size() < 3 || seg[1] != "models") return V2Error(404, "no such KServe V2 route");
  size_t i = 3;
  if (seg.size() >= 5 && seg[3] == "versions") {
    if (seg[4] != model_.version) {
      return V2Error(404, "unknown version '" + std::string(seg[4].substr(0, 64)) + "' of model '" +
                              model_.name + "'; this server serves version " + model_.version);
    }
    i = 5;
  }
  const std::string_view action = i < seg.size() ? seg[i] : "";
  if (i + 1 < seg.size() || (action != "" && action != "ready" && action != "infer")) {
    return V2Error(404, "no such KServe V2 route");
  }
  if (seg[2] != model_.name) {
    return V2Error(404, "unknown model '" + std::string(seg[2].substr(0, 64)) +
                            "'; this server serves '" + model_.name + "'");
  }
  if (action == "infer") return method == "POST" ? Infer(std::move(body)) : V2NotAllowed("POST");
  if (!get) return V2NotAllowed("GET");
  if (action == "ready") return Json({{"name", model_.name}, {"ready", true}});
  return Metadata();
}

HttpAnswer HttpRoutes::Metadata() const {
  auto features = model_.features();
  if (!features.ok()) {
    return V2Error(500, "cannot read the model's feature list: " + features.status().message());
  }
  return Json({{"name", model_.name},
               {"versions", json::array({model_.version})},
               {"platform", "mlfaas_mlfaas"},
               {"inputs", kserve::InputsMetadata(*features)},
               {"outputs", kserve::OutputsMetadata()}});
}

HttpAnswer HttpRoutes::Infer(std::string body) const {
  auto parsed = ParseJson(body);
  if (!parsed.ok()) return V2Error(400, "the body is " + parsed.status().message());
  std::vector<std::string> features;
  if (kserve::NeedsFeatures(*parsed)) {
    auto declared = model_.features();
    if (!declared.ok()) {
      return V2Error(500, "cannot read the model's feature list: " + declared.status().message());
    }
    features = std::move(declared).value();
  }
  auto request = kserve::ToEvent(*parsed, features);
  if (!request.ok()) return V2Error(400, request.status().message());
  Response r = Call(std::move(request->event));
  if (r.is_error) {
    HttpAnswer a = V2Error(ErrorStatus(r.error_type), r.error_type == kInvalidInput
                                                          ? r.error_message
                                                          : r.error_type + ": " + r.error_message);
    a.fatal = r.fatal;
    return a;
  }
  auto result = ParseJson(r.payload);
  const json* predictions = result.ok() ? JsonField(*result, "predictions") : nullptr;
  if (!predictions || !predictions->is_array() || predictions->size() != request->rows) {
    return V2Error(500, "the handler's result has no \"predictions\" array of " +
                            std::to_string(request->rows) + " rows");
  }
  auto outputs = kserve::Outputs(*predictions, request->outputs);
  if (!outputs.ok()) return V2Error(500, outputs.status().message());
  json out{{"model_name", model_.name},
           {"model_version", model_.version},
           {"outputs", std::move(outputs).value()}};
  if (!request->id.is_null()) out["id"] = request->id;
  return Json(out);
}

}  // namespace mlfaas::runtime
