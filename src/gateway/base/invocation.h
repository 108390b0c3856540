// The invocation entry point's value types, shared by every front door (Lambda Invoke API,
// TF-Serving / KServe routes, the Event queue).
#pragma once

#include <functional>
#include <string>

namespace mlfaas::gateway {

enum class InvocationType { kRequestResponse, kEvent, kDryRun };

// What the function is told about the call besides the event (Runtime API headers).
struct InvocationContext {
  std::string client_context;  // JSON (Lambda-Runtime-Client-Context); "" = none
  std::string trace_id;        // X-Ray header (Lambda-Runtime-Trace-Id); "" = start a new trace
};

struct InvokeRequest {
  std::string function;
  std::string qualifier;  // "" = $LATEST, a version number or an alias
  std::string payload;    // the event (JSON text)
  InvocationType type = InvocationType::kRequestResponse;
  bool log_tail = false;  // collect the invocation's log lines into InvokeResult::log_tail
  InvocationContext context;
};

// How an invocation ended. Gateway errors (kThrottled, kNotFound, ...) never reached a worker.
enum class Outcome {
  kSuccess,        // worker posted /response
  kFunctionError,  // worker posted /error (Unhandled function error)
  kTimeout,        // deadline passed; instance killed
  kCrash,          // worker exited mid-invocation
  kInitError,      // init failed (or inside its back-off window)
  kThrottled,      // no capacity: 429
  kNotFound,       // function/version/alias unknown: 404
  kBadRequest,     // invalid payload/parameters: 400
  kUnavailable,    // gateway shutting down or internal failure: 5xx
};

const char* OutcomeName(Outcome o);

struct InvokeResult {
  Outcome outcome = Outcome::kSuccess;
  std::string request_id;
  std::string executed_version;  // "$LATEST", "3", ...
  // kSuccess: the function's response. kFunctionError/kTimeout: the error JSON
  // {"errorMessage","errorType"}. Gateway errors: the human-readable message.
  std::string body;
  std::string error_type;  // gateway errors: AWS exception name, e.g. TooManyRequestsException
  bool cold_start = false;
  double init_duration_ms = 0;  // when cold_start
  double duration_ms = 0;
  std::string log_tail;  // raw text (not base64) of the last 4 KB, when requested
};

// Called exactly once, on an arbitrary io_context thread, never under gateway locks.
using InvokeCallback = std::function<void(InvokeResult)>;

}  // namespace mlfaas::gateway
