// GET /v1/functions/{name}/logs: the function log (log_reader.h), one bounded page at a time,
// for `mlfaas --remote URL logs`. Needs the read scope on the function.
//
// Query: since (a duration back from now, an RFC 3339 UTC time or epoch ms; default: everything
// kept), next_token (the previous answer's: where to go on; outranks since), request_id, filter
// (a substring of the text), limit (events, 1..10000, default 1000), tail=N (the newest N events
// of the range instead of the oldest, 1..10000; outranks limit), follow=true (only events at
// least a second old, so that polling from next_token misses none that were still being
// written). Answer: {"events":[<stored JSON objects>...],"next_token":"...","truncated":bool};
// at most `limit` events and about 1 MiB of them (at least one). Errors are Lambda-shaped
// (X-Amzn-ErrorType; 400 InvalidParameterValueException, 403 AccessDeniedException,
// 404 ResourceNotFoundException).
#include <charconv>
#include <utility>

#include "gateway/base/log_reader.h"
#include "gateway/frontend/router.h"

namespace mlfaas::gateway {
namespace {

constexpr int64_t kFollowSettleMs = 1000;  // > the function log's writer period (200 ms)

Response Page(const LogPage& page) {
  std::string body = R"({"events":[)";
  bool first = true;
  for (const auto& e : page.events) {
    if (!first) body += ',';
    first = false;
    body += LogEventJson(e);
  }
  body += R"(],"next_token":")" + LogCursor(page.next_ms, page.next_skip) + R"(","truncated":)" +
          (page.truncated ? "true" : "false") + "}";
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

// The answer for `function` (blocking: lists and reads files, asks the registry).
Response Read(ApiContext& ctx, const std::string& function, const LogQuery& q) {
  if (ctx.flush_log) ctx.flush_log();  // what was written before this request is in the files
  auto page = ReadLogs(ctx.log_dir, function, q);
  if (page.ok()) return Page(*page);
  if (page.status().code() != StatusCode::kNotFound) return StatusResponse(page.status());
  // No log dir: an existing function that has not logged yet has an empty log.
  if (ctx.registry) {
    auto f = ctx.registry->GetFunction(function);
    if (f.ok()) return Page(LogPage{{}, false, q.since_ms, q.skip});
    if (f.status().code() == StatusCode::kNotFound) return StatusResponse(f.status());
  }
  return StatusResponse(NotFound("function '" + function + "' does not exist"));
}

}  // namespace

bool HandleLogsApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with("/v1/functions/") || !path.ends_with("/logs")) return false;
  std::vector<std::string> seg;
  if (!PathSegments(path, seg) || seg.size() != 4) {
    return respond(BadParam("malformed path: use /v1/functions/{name}/logs")), true;
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return respond(LambdaError(http::status::method_not_allowed, "MethodNotAllowed",
                               "use GET /v1/functions/{name}/logs")),
           true;
  }
  const std::string& function = seg[2];
  if (!ValidFunctionName(function)) {
    return respond(BadParam("invalid function name '" + function.substr(0, 64) + "'")), true;
  }
  if (auto denied = Authorize(who, auth::Action::kRead, function, "logs:GetLogEvents")) {
    return respond(std::move(*denied)), true;
  }
  if (ctx.log_dir.empty()) {
    return respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                               "this gateway keeps no function log")),
           true;
  }
  LogQuery q;
  std::string v;
  auto param = [&](std::string_view name) { return QueryParamOr400(target, name, v, respond); };
  const int64_t now = ctx.clock.EpochMillis();
  if (!param("since")) return true;
  if (!v.empty()) {
    auto since = ParseSince(v, now);
    if (!since.ok()) return respond(BadParam(since.status().message())), true;
    q.since_ms = *since;
  }
  if (!param("next_token")) return true;
  if (!v.empty() && !ParseLogCursor(v, q.since_ms, q.skip)) {
    return respond(BadParam("next_token: not a token this route returned")), true;
  }
  if (!param("request_id")) return true;
  if (v.size() > 256) return respond(BadParam("request_id: longer than 256 bytes")), true;
  q.request_id = v;
  if (!param("filter")) return true;
  if (v.size() > 1024) return respond(BadParam("filter: longer than 1024 bytes")), true;
  q.filter = v;
  // limit, and tail (the newest events instead of the oldest; it outranks limit).
  auto count = [&](std::string_view name, size_t& out) {
    if (!param(name)) return false;
    if (v.empty()) return true;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec == std::errc() && p == v.data() + v.size() && out >= 1 && out <= kMaxLogLimit) {
      return true;
    }
    respond(
        BadParam(std::string(name) + ": give a number from 1 to " + std::to_string(kMaxLogLimit)));
    return false;
  };
  if (!count("limit", q.limit)) return true;
  size_t tail = 0;
  if (!count("tail", tail)) return true;
  if (tail > 0) {
    q.limit = tail;
    q.newest = true;
  }
  if (!param("follow")) return true;
  if (v == "true" || v == "1") {
    q.until_ms = now - kFollowSettleMs;
  } else if (!v.empty() && v != "false" && v != "0") {
    return respond(BadParam("follow: give true or false")), true;
  }
  Offload(ctx, respond, [&ctx, function, q] { return Read(ctx, function, q); });
  return true;
}

}  // namespace mlfaas::gateway
