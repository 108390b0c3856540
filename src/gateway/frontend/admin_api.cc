// Operator routes: GET /metrics (Prometheus text), GET /v1/status (JSON), GET /healthz.
// /metrics and /v1/status show every function: they need read:* (a read scope with pattern "*").
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "gateway/frontend/router.h"

namespace mlfaas::gateway {

bool HandleAdminApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  if (target != "/metrics" && target != "/v1/status" && target != "/healthz") return false;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    respond(JsonErrorResponse(http::status::method_not_allowed, "MethodNotAllowed",
                              "use GET " + std::string(target)));
    return true;
  }
  if (target != "/healthz") {
    auto denied = AuthorizeAll(who, auth::Action::kRead,
                               target == "/metrics" ? "mlfaas:GetMetrics" : "mlfaas:GetStatus");
    if (denied) return respond(std::move(*denied)), true;
  }
  Response res{http::status::ok, 11};
  if (target == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = ctx.metrics.Render(ctx.manager.LiveCounts());
  } else if (target == "/v1/status") {
    nlohmann::json j = ctx.manager.StatusJson();
    j["queued_events"] = ctx.invoker.QueuedEvents();
    j["shutting_down"] = ctx.shutting_down.load();
    res.set(http::field::content_type, "application/json");
    res.body() = DumpJson(j, 2);
  } else {
    res.set(http::field::content_type, "application/json");
    res.body() = ctx.shutting_down ? R"({"status":"draining"})" : R"({"status":"ok"})";
    if (ctx.shutting_down) res.result(http::status::service_unavailable);
  }
  respond(std::move(res));
  return true;
}

}  // namespace mlfaas::gateway
