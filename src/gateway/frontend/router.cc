#include "gateway/frontend/router.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "ui/assets.h"

namespace mlfaas::gateway {

Response LambdaError(http::status status, const std::string& type, const std::string& msg) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set("X-Amzn-ErrorType", type);
  const bool service = static_cast<unsigned>(status) >= 500;
  nlohmann::json body = {{"Type", service ? "Service" : "User"}, {"message", msg}};
  if (status == http::status::too_many_requests) {
    body["Reason"] = "ConcurrentInvocationLimitExceeded";
    res.set(http::field::retry_after, "1");
  }
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

void SetInvocationHeaders(Response& res, const InvokeResult& r) {
  if (!r.request_id.empty()) {
    res.set("X-Amz-Request-Id", r.request_id);
    res.set("x-amzn-RequestId", r.request_id);
  }
  res.set("X-Mlfaas-Cold-Start", r.cold_start ? "true" : "false");
  if (r.cold_start) res.set("X-Mlfaas-Init-Duration-Ms", fmt::format("{:.3f}", r.init_duration_ms));
}

Response JsonResponse(http::status status, const nlohmann::json& body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = DumpJson(body);
  return res;
}

bool PathSegments(std::string_view path, std::vector<std::string>& out) {
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string seg;
    if (!PercentDecode(path.substr(i, j - i), seg)) return false;
    out.push_back(std::move(seg));
    i = j + 1;
  }
  return true;
}

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return false;
    }
    auto hex = [](char c) {
      return isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10;
    };
    out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
    i += 2;
  }
  return true;
}

bool QueryParam(std::string_view target, std::string_view name, std::string& out) {
  out.clear();
  auto q = target.find('?');
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == name) {
      return eq == std::string_view::npos || PercentDecode(kv.substr(eq + 1), out);
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return true;
}

namespace {
bool AllOf(std::string_view s, size_t max_len, std::string_view extra) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}
}  // namespace

Response BadParam(const std::string& msg) {
  return LambdaError(http::status::bad_request, "InvalidParameterValueException", msg);
}

bool QueryParamOr400(std::string_view target, std::string_view name, std::string& out,
                     Responder& respond) {
  if (QueryParam(target, name, out)) return true;
  respond(BadParam(std::string(name) + ": malformed percent-escape"));
  return false;
}

bool ValidFunctionName(std::string_view name) { return AllOf(name, 64, "-_"); }
bool ValidQualifier(std::string_view qualifier) { return AllOf(qualifier, 128, "-_$"); }

Response DenialResponse(const auth::Denial& d) {
  Response res = LambdaError(static_cast<http::status>(d.status), d.type, d.message);
  if (!d.reason.empty()) {
    auto body = nlohmann::json::parse(res.body(), nullptr, false);
    if (body.is_object()) {
      body["Reason"] = d.reason;
      res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  if (d.status == 401) {
    res.set(http::field::www_authenticate, R"(AWS4-HMAC-SHA256, Bearer realm="mlfaas")");
  }
  return res;
}

Response StatusResponse(const Status& st) {
  switch (st.code()) {
    case StatusCode::kNotFound:
      return LambdaError(http::status::not_found, "ResourceNotFoundException", st.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return LambdaError(http::status::conflict, "ResourceConflictException", st.message());
    case StatusCode::kInvalidArgument:
    case StatusCode::kDataLoss:
      return LambdaError(http::status::bad_request, "InvalidParameterValueException", st.message());
    case StatusCode::kUnimplemented:
      return LambdaError(http::status::bad_request, "UnsupportedOperationException", st.message());
    case StatusCode::kResourceExhausted:
      return LambdaError(http::status::too_many_requests, "TooManyRequestsException", st.message());
    default:
      return LambdaError(http::status::internal_server_error, "ServiceException", st.message());
  }
}

std::optional<Response> Authorize(const Principal& who, auth::Action action,
                                  std::string_view function, std::string_view operation) {
  auto d = auth::Guard::Authorize(who, action, function, operation);
  if (!d) return std::nullopt;
  return DenialResponse(*d);
}

std::optional<Response> AuthorizeAll(const Principal& who, auth::Action action,
                                     std::string_view operation) {
  auto d = auth::Guard::AuthorizeAll(who, action, operation);
  if (!d) return std::nullopt;
  return DenialResponse(*d);
}

void Offload(ApiContext& ctx, Responder& respond, std::function<Response()> work) {
  auto run = [work = std::move(work), respond]() mutable {
    Response res;
    try {
      res = work();
    } catch (const std::exception& e) {
      res = LambdaError(http::status::internal_server_error, "ServiceException",
                        std::string("internal error: ") + e.what());
    }
    respond(std::move(res));
  };
  if (ctx.offload) {
    ctx.offload(std::move(run));
  } else {
    run();
  }
}

const char* RouteLabel(http::verb method, std::string_view target) {
  target = target.substr(0, target.find('?'));
  auto starts = [&](std::string_view prefix) { return target.substr(0, prefix.size()) == prefix; };
  if (starts("/2015-03-31/functions/") && method == http::verb::post && target.size() > 12 &&
      target.substr(target.size() - 12) == "/invocations") {
    return "invoke";
  }
  if (starts("/20")) return "control";  // every Lambda-dated path
  if (starts("/v1/models/") || target == "/v1/models") return "tfserving";
  if (starts("/v2/") || target == "/v2") return "kserve";
  if (starts("/mlfaas/")) return "keys";
  if (target == "/metrics" || target == "/healthz" || target == "/v1/status" ||
      target == "/v1/cost" || starts("/v1/functions/") || target == "/v1/dashboard" ||
      starts("/v1/dashboard/")) {
    return "operator";
  }
  if (target == "/ui" || starts("/ui/")) return "ui";
  return "other";
}

namespace {

// Health checks stay open (load balancers and orchestrators probe them without keys). Only
// these exact bytes: any other spelling (escapes, doubled slashes, a query) is authenticated
// like every other request, so no spelling of a protected route can pass as open.
bool IsOpenRoute(const Request& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) return false;
  const std::string_view t(req.target().data(), req.target().size());
  // The dashboard's own files hold no data (its JSON routes are authenticated).
  if (t == "/ui" || t == "/ui/") return true;
  if (t.starts_with("/ui/") && ui::FindAsset(t.substr(4)) != nullptr) return true;
  return t == "/healthz" || t == "/v2/health/live" || t == "/v2/health/ready";
}

}  // namespace

void Route(ApiContext& ctx, Request&& req, Responder respond) {
  Principal who;
  if (ctx.guard && ctx.guard->enforced() && !IsOpenRoute(req)) {
    auth::HttpRequestView view;
    view.method = std::string_view(req.method_string().data(), req.method_string().size());
    view.target = std::string_view(req.target().data(), req.target().size());
    view.body = req.body();
    view.headers.reserve(16);
    for (const auto& f : req) {
      view.headers.emplace_back(std::string_view(f.name_string().data(), f.name_string().size()),
                                std::string_view(f.value().data(), f.value().size()));
    }
    auto result = ctx.guard->Authenticate(view);
    if (auto* denial = std::get_if<auth::Denial>(&result)) {
      respond(DenialResponse(*denial));
      return;
    }
    who = std::move(std::get<Principal>(result));
  } else {
    who.scopes = auth::ScopeSet::Everything();
  }
  if (HandleLambdaApi(ctx, req, respond, who)) return;
  if (HandleControlApi(ctx, req, respond, who)) return;
  if (HandleKeyApi(ctx, req, respond, who)) return;
  if (HandleLogsApi(ctx, req, respond, who)) return;
  if (HandleCostApi(ctx, req, respond, who)) return;
  if (HandleFeedbackApi(ctx, req, respond, who)) return;
  if (HandleDashboardApi(ctx, req, respond, who)) return;
  if (HandleModelApi(ctx, req, respond, who)) return;
  if (HandleAdminApi(ctx, req, respond, who)) return;
  respond(JsonErrorResponse(
      http::status::not_found, "NotFound",
      "no route for " + std::string(req.method_string()) + " " + std::string(req.target())));
}

}  // namespace mlfaas::gateway
