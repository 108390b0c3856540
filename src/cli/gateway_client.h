// The CLI's client of a gateway's JSON APIs (the Lambda control plane, the key API, /v1/status):
// authenticates each request (AWS SigV4 like an AWS SDK, a Bearer token, or nothing), sends it
// over HttpClient and turns AWS-shaped errors back into the Status a local call would return, so
// that `mlfaas --remote ...` exits and words its errors as the local command does.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/http_client.h"
#include "common/status.h"

namespace mlfaas::cli {

struct GatewayCredentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct GatewayAuth {
  // Requests are SigV4-signed (service "lambda"; Host and X-Amz-Date signed) when set, and sent
  // unsigned otherwise: an open gateway takes them, an enforcing one answers 401.
  std::optional<GatewayCredentials> credentials;
  std::string region = "us-east-1";
  // Sent as "Authorization: Bearer <bearer>" instead when set and there are no credentials: the
  // local CLI's token for a gateway serving its own home (mlfaas status).
  std::string bearer;
};

// From the environment: MLFAAS_ACCESS_KEY_ID + MLFAAS_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID +
// AWS_SECRET_ACCESS_KEY (a pair is taken whole, never mixed); region MLFAAS_REGION, AWS_REGION,
// AWS_DEFAULT_REGION, else us-east-1. InvalidArgument when only half of the chosen pair is set.
StatusOr<GatewayAuth> GatewayAuthFromEnvironment();

// The Status an error answer stands for. The type is the X-Amzn-ErrorType header (up to any ':'),
// else the body's "__type"/"type"/"code"; the message the body's "message"/"Message"/"error"
// (a string, or an object with a "message"), else "the gateway answered HTTP <status> ...".
//   401, 403 (authentication, signature, scope)          FailedPrecondition
//   429                                                  ResourceExhausted
//   5xx                                                  Unavailable
//   ResourceNotFoundException                            NotFound
//   ResourceConflictException                            AlreadyExists
//   ResourceInUseException, PreconditionFailedException  FailedPrecondition
//   InvalidParameterValueException, InvalidRequestContentException, RequestTooLargeException,
//   UnsupportedMediaTypeException, ValidationException   InvalidArgument
//   a Status code name ("NotFound", ...)                 that code
//   otherwise by status: 404 NotFound, 409 AlreadyExists, 412 FailedPrecondition, 405 and 501
//   Unimplemented, other 4xx InvalidArgument, anything else Unavailable.
Status StatusFromErrorResponse(const HttpResponse& res);

// Internal: the gateway's answer to `what` (a 2xx) is not what mlfaas expects, as `detail` says.
Status NotMlfaas(const std::string& what, const std::string& detail);

// Percent-encodes every byte but RFC 3986's unreserved ones: a path segment or a query value.
std::string UriEncode(std::string_view s);

class GatewayClient {
 public:
  GatewayClient(HttpEndpoint endpoint, GatewayAuth auth, HttpClientOptions options = {})
      : http_(std::move(endpoint), options), auth_(std::move(auth)) {}

  // For `mlfaas --remote URL`: the URL parsed, credentials from the environment.
  static StatusOr<std::unique_ptr<GatewayClient>> ForRemote(const std::string& url);

  // Sends `method target` (target already encoded), with `body` as JSON in the second form. A
  // 2xx answer is its parsed JSON body (null when empty, as for 204); another status is
  // StatusFromErrorResponse; a 2xx body that is not JSON is Internal.
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& target) const {
    return Send(method, target, std::nullopt);
  }
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& target,
                                const nlohmann::json& body) const;

  const std::string& url() const { return http_.endpoint().url; }

 private:
  StatusOr<nlohmann::json> Send(const std::string& method, const std::string& target,
                                std::optional<std::string> body) const;

  HttpClient http_;
  GatewayAuth auth_;
};

}  // namespace mlfaas::cli
