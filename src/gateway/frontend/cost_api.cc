// GET /v1/cost: the metered usage priced (registry/usage_report.h), exactly the JSON
// `mlfaas cost --json` prints, for `mlfaas --remote URL cost`. The usage still in the gateway's
// memory is handed to the store first (off the io threads), so that the answer counts every
// invocation that has answered.
//
// Query: function (one function, which needs the read scope on it; absent: every function the
// caller may read), since (a duration back from now, an RFC 3339 UTC time or epoch ms; default:
// everything recorded), arch (x86 | arm, default x86). Errors are Lambda-shaped
// (X-Amzn-ErrorType; 400 InvalidParameterValueException, 403 AccessDeniedException,
// 404 ResourceNotFoundException).
#include <utility>

#include "gateway/base/log_reader.h"
#include "gateway/frontend/router.h"
#include "registry/usage_report.h"

namespace mlfaas::gateway {
namespace {

struct CostQuery {
  std::string function;  // "": every function `scopes` may read
  int64_t since_ms = 0;
  registry::Arch arch = registry::Arch::kX86;
  auth::ScopeSet scopes;
};

// The answer (blocking: writes the pending usage, reads the database).
Response Report(ApiContext& ctx, const CostQuery& q) {
  if (ctx.flush_usage && !ctx.flush_usage()) {
    return StatusResponse(
        Unavailable("the latest usage cannot be recorded yet (database busy); try again"));
  }
  auto rows = registry::QueryCostUsage(*ctx.usage, ctx.registry, q.function, q.since_ms);
  if (!rows.ok()) return StatusResponse(rows.status());
  if (q.function.empty()) {
    std::erase_if(*rows, [&](const registry::UsageRecord& r) {
      return !q.scopes.Allows(auth::Action::kRead, r.function);
    });
  }
  return JsonResponse(http::status::ok,
                      registry::CostReportJson(*rows, registry::PricesFor(q.arch), q.since_ms));
}

}  // namespace

bool HandleCostApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  if (target.substr(0, target.find('?')) != "/v1/cost") return false;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return respond(LambdaError(http::status::method_not_allowed, "MethodNotAllowed",
                               "use GET /v1/cost")),
           true;
  }
  CostQuery q;
  std::string v;
  auto param = [&](std::string_view name) { return QueryParamOr400(target, name, v, respond); };
  if (!param("function")) return true;
  if (!v.empty() && !ValidFunctionName(v)) {
    return respond(BadParam("invalid function name '" + v.substr(0, 64) + "'")), true;
  }
  q.function = v;
  if (!param("since")) return true;
  if (!v.empty()) {
    auto since = ParseSince(v, ctx.clock.EpochMillis());
    if (!since.ok()) return respond(BadParam(since.status().message())), true;
    q.since_ms = *since;
  }
  if (!param("arch")) return true;
  if (!v.empty()) {
    auto arch = registry::ParseArch(v);
    if (!arch)
      return respond(BadParam("arch must be x86 or arm, not '" + v.substr(0, 64) + "'")), true;
    q.arch = *arch;
  }
  if (!q.function.empty()) {
    if (auto denied = Authorize(who, auth::Action::kRead, q.function, "mlfaas:GetCost")) {
      return respond(std::move(*denied)), true;
    }
  }
  if (!ctx.usage) {
    return respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                               "this gateway meters no usage")),
           true;
  }
  q.scopes = who.scopes;
  Offload(ctx, respond, [&ctx, q = std::move(q)] { return Report(ctx, q); });
  return true;
}

}  // namespace mlfaas::gateway
