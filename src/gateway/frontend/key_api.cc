// mlfaas's own admin routes (the admin scope), for `mlfaas --remote ... key|audit`:
//   POST   /mlfaas/v1/keys            {"Name","Scopes":[...],"Rate"} -> 201
//   {"AccessKeyId","SecretAccessKey","Key"} GET    /mlfaas/v1/keys            -> {"Keys":[...]}
//   (never a secret) DELETE /mlfaas/v1/keys/{id|name}  -> {"Key":{...}} GET
//   /mlfaas/v1/audit[?since=RFC3339&limit=N] -> {"Entries":[...]}
// Every key action is recorded in the audit log as the caller's.
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "gateway/frontend/router.h"

namespace mlfaas::gateway {
namespace {

using nlohmann::json;

constexpr std::string_view kKeys = "/mlfaas/v1/keys";
constexpr std::string_view kAudit = "/mlfaas/v1/audit";

void Audit(ApiContext& ctx, const Principal& who, const std::string& action,
           const std::string& resource, const Status& result, const std::string& detail) {
  auth::AuditEntry e;
  e.principal = who.Describe();
  e.source = "http";
  e.action = action;
  e.resource = resource;
  e.result = result.ok() ? "ok" : "error";
  e.detail = result.ok() ? detail : result.message();
  (void)ctx.store->Record(std::move(e));  // a failure to record does not undo the action
}

Response CreateKey(ApiContext& ctx, const Request& req, const Principal& who) {
  auto body = ParseJson(req.body());
  if (!body.ok() || !body->is_object()) {
    return LambdaError(http::status::bad_request, "InvalidRequestContentException",
                       "the body must be {\"Name\", \"Scopes\": [...], \"Rate\"}");
  }
  const std::string name = JsonString(*body, "Name", "");
  std::vector<std::string> scopes;
  if (const json* s = JsonField(*body, "Scopes"); s && s->is_array()) {
    for (const auto& v : *s) {
      if (!v.is_string()) {
        return LambdaError(http::status::bad_request, "InvalidParameterValueException",
                           "Scopes must be strings");
      }
      scopes.push_back(v.get<std::string>());
    }
  }
  const double rate = JsonNumber(*body, "Rate").value_or(auth::kDefaultRate);
  auto created = ctx.store->CreateKey(name, scopes, rate);
  std::string joined;
  for (const auto& s : scopes) joined += (joined.empty() ? "" : " ") + s;
  Audit(ctx, who, "CreateKey",
        "key:" + (created.ok() ? created->key.access_key_id : std::string("?")) + "/" + name,
        created.status(), "scopes " + joined);
  if (!created.ok()) return StatusResponse(created.status());
  return JsonResponse(http::status::created, {{"AccessKeyId", created->key.access_key_id},
                                              {"SecretAccessKey", created->secret},
                                              {"Key", auth::ToJson(created->key)}});
}

}  // namespace

bool HandleKeyApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  const bool under_keys =
      path.starts_with(kKeys) && path.size() > kKeys.size() && path[kKeys.size()] == '/';
  if (path != kKeys && !under_keys && path != kAudit) return false;
  if (!ctx.store) {
    respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                        "this gateway has no key store"));
    return true;
  }
  if (auto denied = AuthorizeAll(who, auth::Action::kAdmin, "mlfaas:ManageKeys")) {
    respond(std::move(*denied));
    return true;
  }
  const auto verb = req.method();
  // Key writes touch the database: off the io threads, as the control plane's writes.
  auto shared_req = std::make_shared<Request>(std::move(req));
  auto principal = std::make_shared<Principal>(who);
  Offload(
      ctx, respond,
      [&ctx, shared_req, principal, verb, path = std::string(path),
       target = std::string(target)]() {
        const Request& r = *shared_req;
        Response res;
        if (path == kAudit) {
          if (verb != http::verb::get) {
            res = LambdaError(http::status::method_not_allowed, "MethodNotAllowedException",
                              "use GET");
          } else {
            auth::AuditQuery q;
            std::string limit;
            if (!QueryParam(target, "since", q.since) || !QueryParam(target, "limit", limit)) {
              res = LambdaError(http::status::bad_request, "InvalidParameterValueException",
                                "malformed query string");
            } else {
              if (!limit.empty())
                q.limit = std::clamp<size_t>(std::strtoul(limit.c_str(), nullptr, 10), 1, 10000);
              auto entries = ctx.store->ListAudit(q);
              if (!entries.ok()) {
                res = StatusResponse(entries.status());
              } else {
                json out = json::array();
                for (const auto& e : *entries) {
                  out.push_back(auth::ToJson(e));
                }
                res = JsonResponse(http::status::ok, {{"Entries", out}});
              }
            }
          }
        } else if (path == kKeys && verb == http::verb::post) {
          res = CreateKey(ctx, r, *principal);
        } else if (path == kKeys && verb == http::verb::get) {
          auto keys = ctx.store->ListKeys();
          if (!keys.ok()) {
            res = StatusResponse(keys.status());
          } else {
            json out = json::array();
            for (const auto& k : *keys) out.push_back(auth::ToJson(k));
            res = JsonResponse(http::status::ok, {{"Keys", out}});
          }
        } else if (path.size() > kKeys.size() + 1 && verb == http::verb::delete_) {
          std::string which;
          if (!PercentDecode(std::string_view(path).substr(kKeys.size() + 1), which)) {
            res = LambdaError(http::status::bad_request, "InvalidParameterValueException",
                              "malformed key id");
          } else {
            auto revoked = ctx.store->RevokeKey(which);
            Audit(ctx, *principal, "RevokeKey",
                  "key:" + (revoked.ok() ? revoked->access_key_id + "/" + revoked->name : which),
                  revoked.status(), "");
            res = revoked.ok() ? JsonResponse(http::status::ok, {{"Key", auth::ToJson(*revoked)}})
                               : StatusResponse(revoked.status());
          }
        } else {
          res = LambdaError(
              http::status::method_not_allowed, "MethodNotAllowedException",
              "use POST/GET " + std::string(kKeys) + " or DELETE " + std::string(kKeys) + "/{id}");
        }
        return res;
      });
  return true;
}

}  // namespace mlfaas::gateway
