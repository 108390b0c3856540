// A small blocking HTTP/1.1 client for the CLI's calls to a gateway (`mlfaas --remote`,
// `mlfaas status`): one request per connection, plain http:// only, every step under a deadline
// and the answer's size bounded, so a stuck or hostile server cannot hang or exhaust the CLI.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace mlfaas::cli {

// Where a gateway is: from "http://HOST[:PORT][/]" (HOST a name, an IPv4 address or a bracketed
// IPv6 one; PORT 80 when absent). A missing scheme means http://.
struct HttpEndpoint {
  std::string host;         // without brackets: what the resolver takes
  std::string port;         // "9000"
  std::string host_header;  // as given: "127.0.0.1:9000", "[::1]:9000" (and what SigV4 signs)
  std::string url;          // "http://127.0.0.1:9000", for messages
};

// InvalidArgument naming what is wrong. https:// is refused: the CLI speaks plain HTTP only (as
// the gateway does), so a TLS endpoint has to be reached through a local tunnel or proxy that
// does the TLS (stunnel, ssh -L) and whose http:// address is given instead. A path other than
// "/" is refused too: SigV4 signs the path, so a proxy that rewrites it would break every
// signature.
StatusOr<HttpEndpoint> ParseHttpUrl(const std::string& url);

struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT", "DELETE"
  std::string target;  // path and query as sent on the wire ("/2015-03-31/functions/f?x=1")
  std::vector<std::pair<std::string, std::string>> headers;  // Host and Content-Length are added
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; a repeated field's last value
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpClientOptions {
  // Resolving is the system resolver's (its own timeouts); connecting is bounded by this.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  // Sending the request and reading the whole answer, plus one second per MiB of request body so
  // that a package upload over a slow (1 MiB/s) link still fits.
  std::chrono::milliseconds exchange_timeout = std::chrono::seconds(60);
  // The largest answer read (headers and body); beyond it the call fails. The biggest expected
  // are long listings, far below this.
  size_t max_response_bytes = size_t{80} << 20;
};

// Thread-compatible (one call at a time per object; calls share nothing, so one per thread).
class HttpClient {
 public:
  explicit HttpClient(HttpEndpoint endpoint, HttpClientOptions options = {})
      : endpoint_(std::move(endpoint)), options_(options) {}

  // Connects, sends `req`, reads the answer, closes. Any HTTP status is a result, not an error.
  // Unavailable when the gateway cannot be reached or drops the connection; DeadlineExceeded when
  // a deadline passes; ResourceExhausted when the answer is larger than max_response_bytes.
  StatusOr<HttpResponse> Send(HttpRequest req) const;

  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  HttpEndpoint endpoint_;
  HttpClientOptions options_;
};

}  // namespace mlfaas::cli
