#include "runtime/loop.h"

#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>

namespace mlfaas::runtime {

std::string ErrorBody(std::string_view error_type, std::string_view error_message) {
  nlohmann::json body = {{"errorMessage", error_message}, {"errorType", error_type}};
  // Replace invalid UTF-8 instead of throwing: messages may quote user input.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

Response CallHandler(const Handler& handler, const Invocation& invocation) {
  try {
    return handler(invocation);
  } catch (const std::exception& e) {
    return Response::Error("HandlerException", e.what());
  }
}

// Posts the handler's answer. Only kUnavailable (Runtime API gone) is returned; other failures
// concern this invocation alone and are logged.
Status Post(RuntimeTransport& transport, const std::string& request_id, const Response& r) {
  Status st = r.is_error ? transport.PostError(request_id, r.error_type, r.error_message)
                         : transport.PostResponse(request_id, r.payload);
  if (st.ok() || st.code() == StatusCode::kUnavailable) return st;
  std::fprintf(stderr, "mlfaas-runtime: posting result of %s failed: %s\n", request_id.c_str(),
               st.ToString().c_str());
  return Status::Ok();
}

}  // namespace

Status RunLoop(RuntimeTransport& transport, const Handler& handler, const LoopOptions& options,
               LoopStats* stats) {
  LoopStats local;
  LoopStats& s = stats ? *stats : local;
  while (options.max_invocations == 0 || s.invocations < options.max_invocations) {
    MLFAAS_ASSIGN_OR_RETURN(Invocation invocation, transport.Next());
    Response response = CallHandler(handler, invocation);
    ++s.invocations;
    if (response.is_error) ++s.errors;
    MLFAAS_RETURN_IF_ERROR(Post(transport, invocation.request_id, response));
    if (response.fatal) {
      return FailedPrecondition(response.error_type + ": " + response.error_message);
    }
  }
  return Status::Ok();
}

}  // namespace mlfaas::runtime
