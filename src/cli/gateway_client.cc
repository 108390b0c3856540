#include "cli/gateway_client.h"

#include <array>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "common/json.h"

namespace mlfaas::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The message of an error body, whichever spelling the sender used.
std::string ErrorMessage(const nlohmann::json& body) {
  for (const char* key : {"message", "Message", "errorMessage"}) {
    if (auto m = JsonString(body, key); m && !m->empty()) return *m;
  }
  if (const nlohmann::json* e = JsonField(body, "error")) {
    if (e->is_string()) return e->get<std::string>();
    if (auto m = JsonString(*e, "message"); m && !m->empty()) return *m;
  }
  return "";
}

std::string ErrorType(const HttpResponse& res, const nlohmann::json& body) {
  std::string type = res.header("x-amzn-errortype");
  if (type.empty()) {
    for (const char* key : {"__type", "type", "code"}) {
      if (auto t = JsonString(body, key); t && !t->empty()) {
        type = *t;
        break;
      }
    }
    // JSON 1.1 protocols spell it "namespace#Type".
    if (auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  }
  // "ResourceNotFoundException:http://internal.amazon.com/coral/..." as some AWS services add.
  if (auto colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  return type;
}

std::optional<StatusCode> CodeForType(const std::string& type) {
  struct Entry {
    const char* type;
    StatusCode code;
  };
  static constexpr std::array<Entry, 10> kTypes = {{
      {"ResourceNotFoundException", StatusCode::kNotFound},
      {"ResourceConflictException", StatusCode::kAlreadyExists},
      {"ResourceInUseException", StatusCode::kFailedPrecondition},
      {"PreconditionFailedException", StatusCode::kFailedPrecondition},
      {"InvalidParameterValueException", StatusCode::kInvalidArgument},
      {"InvalidRequestContentException", StatusCode::kInvalidArgument},
      {"RequestTooLargeException", StatusCode::kInvalidArgument},
      {"UnsupportedMediaTypeException", StatusCode::kInvalidArgument},
      {"ValidationException", StatusCode::kInvalidArgument},
      {"TooManyRequestsException", StatusCode::kResourceExhausted},
  }};
  for (const auto& e : kTypes) {
    if (type == e.type) return e.code;
  }
  // The gateway's own JSON errors name a Status code. Internal is left out: a gateway's internal
  // error is not this process's (exit 2), and arrives as a 5xx anyway.
  for (int c = static_cast<int>(StatusCode::kInvalidArgument);
       c < static_cast<int>(StatusCode::kInternal); ++c) {
    if (type == StatusCodeName(static_cast<StatusCode>(c))) return static_cast<StatusCode>(c);
  }
  return std::nullopt;
}

StatusCode CodeForStatus(int status) {
  switch (status) {
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kAlreadyExists;
    case 412:
      return StatusCode::kFailedPrecondition;
    case 405:
    case 501:
      return StatusCode::kUnimplemented;
    default:
      return status >= 400 && status < 500 ? StatusCode::kInvalidArgument
                                           : StatusCode::kUnavailable;
  }
}

}  // namespace

StatusOr<GatewayAuth> GatewayAuthFromEnvironment() {
  GatewayAuth auth;
  for (const auto& [id_var, secret_var] :
       {std::pair{"MLFAAS_ACCESS_KEY_ID", "MLFAAS_SECRET_ACCESS_KEY"},
        std::pair{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}) {
    std::string id = Env(id_var), secret = Env(secret_var);
    if (id.empty() && secret.empty()) continue;
    if (id.empty() || secret.empty()) {
      return InvalidArgument(std::string(id.empty() ? secret_var : id_var) + " is set but " +
                             (id.empty() ? id_var : secret_var) + " is not");
    }
    auth.credentials = GatewayCredentials{std::move(id), std::move(secret)};
    break;
  }
  for (const char* var : {"MLFAAS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::string region = Env(var); !region.empty()) {
      auth.region = region;
      break;
    }
  }
  return auth;
}

Status NotMlfaas(const std::string& what, const std::string& detail) {
  return Internal("the gateway's answer to " + what + " is not what mlfaas expects: " + detail);
}

Status StatusFromErrorResponse(const HttpResponse& res) {
  // Error bodies are small; one that is not JSON (a proxy's HTML page) only loses its message.
  nlohmann::json body = nullptr;
  if (auto parsed = ParseJson(res.body); parsed.ok()) body = std::move(parsed).value();
  const std::string type = ErrorType(res, body);
  std::string message = ErrorMessage(body);
  if (message.empty()) {
    message = "the gateway answered HTTP " + std::to_string(res.status) +
              (type.empty() ? "" : " (" + type + ")");
  }
  StatusCode code;
  if (res.status == 401 || res.status == 403) {
    code = StatusCode::kFailedPrecondition;
  } else if (res.status == 429) {
    code = StatusCode::kResourceExhausted;
  } else if (res.status >= 500) {
    code = StatusCode::kUnavailable;
  } else {
    code = CodeForType(type).value_or(CodeForStatus(res.status));
  }
  return Status(code, std::move(message));
}

std::string UriEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

StatusOr<std::unique_ptr<GatewayClient>> GatewayClient::ForRemote(const std::string& url) {
  MLFAAS_ASSIGN_OR_RETURN(HttpEndpoint endpoint, ParseHttpUrl(url));
  MLFAAS_ASSIGN_OR_RETURN(GatewayAuth auth, GatewayAuthFromEnvironment());
  return std::make_unique<GatewayClient>(std::move(endpoint), std::move(auth));
}

StatusOr<nlohmann::json> GatewayClient::Call(const std::string& method, const std::string& target,
                                             const nlohmann::json& body) const {
  return Send(method, target, DumpJson(body));
}

StatusOr<nlohmann::json> GatewayClient::Send(const std::string& method, const std::string& target,
                                             std::optional<std::string> body) const {
  HttpRequest req;
  req.method = method;
  req.target = target;
  req.headers.emplace_back("User-Agent", "mlfaas-cli");
  if (body) {
    req.body = std::move(*body);
    req.headers.emplace_back("Content-Type", "application/json");
  }
  if (auth_.credentials) {
    const std::string amz_date = auth::FormatAmzDate(std::chrono::system_clock::now());
    auth::HttpRequestView view;
    view.method = req.method;
    view.target = req.target;
    view.headers = {{"host", http_.endpoint().host_header}, {"x-amz-date", amz_date}};
    view.body = req.body;
    MLFAAS_ASSIGN_OR_RETURN(
        std::string authorization,
        auth::SignAuthorization(view, auth_.credentials->access_key_id,
                                auth_.credentials->secret_access_key, auth_.region, "lambda",
                                amz_date, {"host", "x-amz-date"}));
    req.headers.emplace_back("X-Amz-Date", amz_date);
    req.headers.emplace_back("Authorization", std::move(authorization));
  } else if (!auth_.bearer.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + auth_.bearer);
  }
  MLFAAS_ASSIGN_OR_RETURN(HttpResponse res, http_.Send(std::move(req)));
  if (res.status < 200 || res.status > 299) return StatusFromErrorResponse(res);
  if (res.body.empty()) return nlohmann::json(nullptr);
  auto parsed = ParseJson(res.body);
  if (!parsed.ok()) {
    return Internal("the gateway's answer to " + method + " " + target +
                    " is not JSON: " + parsed.status().message());
  }
  return parsed;
}

}  // namespace mlfaas::cli
