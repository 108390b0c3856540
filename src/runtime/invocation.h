// The worker's handler API: one invocation in, one response out.
//
// A Handler is called by RunLoop (runtime/loop.h) once per invocation, sequentially, on the
// thread that runs the loop; it never sees the transport. With AWS_LAMBDA_MAX_CONCURRENCY > 1
// (runtime/pipeline.h, or several RunLoops over HTTP) it is called from several threads at once,
// so it must then be thread-safe. Keep it tiny, as aws-lambda-cpp's
// run_handler: everything the Lambda Runtime API says about the invocation is in `Invocation`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace mlfaas::runtime {

// What `GET /2018-06-01/runtime/invocation/next` returned (headers + body).
struct Invocation {
  std::string request_id;        // Lambda-Runtime-Aws-Request-Id (never empty)
  int64_t deadline_ms = 0;       // Lambda-Runtime-Deadline-Ms, Unix epoch ms; 0 if absent
  std::string function_arn;      // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;          // Lambda-Runtime-Trace-Id
  std::string client_context;    // Lambda-Runtime-Client-Context
  std::string cognito_identity;  // Lambda-Runtime-Cognito-Identity
  std::string payload;           // the event, as sent by the invoker
};

// Either a success payload (a JSON document) or a function error {errorType, errorMessage}.
struct Response {
  static Response Success(std::string payload) {
    Response r;
    r.payload = std::move(payload);
    return r;
  }
  static Response Error(std::string type, std::string message) {
    Response r;
    r.is_error = true;
    r.error_type = std::move(type);
    r.error_message = std::move(message);
    return r;
  }
  // An error after which the worker must not serve again (e.g. a lazy init failed): RunLoop
  // posts it, then returns.
  static Response FatalError(std::string type, std::string message) {
    Response r = Error(std::move(type), std::move(message));
    r.fatal = true;
    return r;
  }

  bool is_error = false;
  bool fatal = false;
  std::string payload;        // success only
  std::string error_type;     // error only, e.g. "InvalidInput"
  std::string error_message;  // error only
};

// Must not throw; RunLoop nevertheless turns an escaping std::exception into an error response
// of type "HandlerException".
using Handler = std::function<Response(const Invocation&)>;

}  // namespace mlfaas::runtime
