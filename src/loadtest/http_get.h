// A blocking HTTP/1.1 GET for the load tester's own look-ups (a gateway's logs and metrics):
// one connection per call, a deadline on the whole exchange, errors as values.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "loadtest/plan.h"

namespace mlfaas::loadtest {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET http://<base.host>:<base.port><target>. Fails (Unavailable) when the server cannot be
// reached or the exchange does not finish within `timeout`; a response of any status is a value.
StatusOr<HttpReply> HttpGet(const Url& base, const std::string& target,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
std::string UrlEncode(std::string_view value);

}  // namespace mlfaas::loadtest
