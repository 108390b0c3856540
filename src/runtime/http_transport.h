// RuntimeTransport over HTTP/1.1 (Boost.Beast, synchronous): the real Lambda Runtime API client.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/transport.h"

namespace mlfaas::runtime {

// One keep-alive TCP connection to `$AWS_LAMBDA_RUNTIME_API`, opened lazily and reopened only
// after the server asked to close it (`Connection: close`). Any I/O error is kUnavailable: the
// worker is expected to exit. Non-copyable; not thread-safe, except Interrupt(). A worker with
// AWS_LAMBDA_MAX_CONCURRENCY > 1 holds one per loop (one connection, one long poll, each).
class HttpTransport final : public RuntimeTransport {
 public:
  // `endpoint` is "host:port" (IPv4/IPv6 literal or name), as in AWS_LAMBDA_RUNTIME_API.
  static StatusOr<std::unique_ptr<HttpTransport>> Create(std::string_view endpoint);
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  StatusOr<Invocation> Next() override;
  Status PostResponse(const std::string& request_id, std::string_view payload) override;
  Status PostError(const std::string& request_id, std::string_view error_type,
                   std::string_view error_message) override;
  Status PostInitError(std::string_view error_type, std::string_view error_message) override;
  // Shuts the connection down (a blocked long poll returns) and refuses to open another.
  void Interrupt() override;

 private:
  struct Impl;
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" ("[::1]:9001" for IPv6). InvalidArgument if malformed.
Status SplitHostPort(std::string_view endpoint, std::string* host, std::string* port);

}  // namespace mlfaas::runtime
