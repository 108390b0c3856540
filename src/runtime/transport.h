// The client side of the Lambda Runtime API, behind an interface so RunLoop can be tested
// without sockets (tests/runtime use a fake; production uses HttpTransport).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/invocation.h"

namespace mlfaas::runtime {

// Error codes returned by implementations:
//   kUnavailable         the Runtime API is gone (connection refused/lost); the worker must exit.
//   kInvalidArgument /
//   kFailedPrecondition  the Runtime API answered with an HTTP 4xx/5xx for this call; the
//                        worker may go on with the next invocation.
// Not thread-safe: one loop, one transport (Interrupt() aside).
class RuntimeTransport {
 public:
  virtual ~RuntimeTransport() = default;

  // GET /runtime/invocation/next. Blocks without a timeout until an invocation arrives.
  virtual StatusOr<Invocation> Next() = 0;
  // POST /runtime/invocation/{id}/response with `payload` as the body.
  virtual Status PostResponse(const std::string& request_id, std::string_view payload) = 0;
  // POST /runtime/invocation/{id}/error with {"errorMessage", "errorType"}.
  virtual Status PostError(const std::string& request_id, std::string_view error_type,
                           std::string_view error_message) = 0;
  // POST /runtime/init/error with {"errorMessage", "errorType"}.
  virtual Status PostInitError(std::string_view error_type, std::string_view error_message) = 0;

  // Makes a call blocked in Next() on another thread return, and every later call fail, with
  // kUnavailable: how a worker running several loops (AWS_LAMBDA_MAX_CONCURRENCY over HTTP)
  // stops the others once one ended. The one member that may be called concurrently with the
  // others. The default does nothing (for transports whose calls never block).
  virtual void Interrupt() {}
};

// {"errorMessage": "...", "errorType": "..."}: the body of the two error calls.
std::string ErrorBody(std::string_view error_type, std::string_view error_message);

}  // namespace mlfaas::runtime
