// Labelled feedback (registry/feedback.h, docs/retraining.md): rows whose true label a caller
// has learnt, kept per function for `mlfaas retrain`.
//   POST /v1/functions/{name}/feedback  {"rows": [{"id", "label", "features": {...}}, ...]}
//        -> {"function", "added", "replaced", "total"} (the deploy scope on the function)
//   GET  /v1/functions/{name}/feedback  -> {"function", "total"} (the read scope)
//
// A body is checked against the features of the function's $LATEST model (its manifest.json,
// read from the code tree as the model API reads it, model_schema.h); a function without a
// manifest (a custom runtime) takes any feature names. The rows of a body are stored in one
// transaction, or none of them. Parsing and the database run off the io threads (Offload).
// Errors are Lambda-shaped (X-Amzn-ErrorType; 400 InvalidParameterValueException, 403
// AccessDeniedException, 404 ResourceNotFoundException, 429 TooManyRequestsException when the
// function holds TrainingStore::kMaxFeedbackRows rows).
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth/auth_store.h"
#include "gateway/frontend/model_schema.h"
#include "gateway/frontend/router.h"
#include "registry/feedback.h"
#include "registry/training_store.h"

namespace mlfaas::gateway {
namespace {

using nlohmann::json;

// Feature lists by code digest. The model API keeps its own (model_api.cc); a digest names the
// same manifest in both, so the two never disagree.
ModelSchemaCache& FeedbackSchemas() {
  static ModelSchemaCache* const cache =
      new ModelSchemaCache(/*max_entries=*/64, /*max_bytes=*/size_t{1} << 20);
  return *cache;
}

// The features a body must give for version `v`: those of its model, none for a version
// without a manifest. Blocking the first time (reads the code tree).
StatusOr<ModelSchemaCache::Features> FeedbackFeatures(ApiContext& ctx,
                                                      const registry::VersionInfo& v) {
  if (auto known = FeedbackSchemas().Cached(v)) return known;
  CodeStore* code = ctx.code;
  if (!code) return FailedPrecondition("this gateway has no code store to read models from");
  return FeedbackSchemas().Load(
      v, [code](const registry::VersionInfo& x) { return code->CodeDir(x); });
}

// 429 for a function whose feedback is full. Not LambdaError's throttle shape: retrying does not
// help (no Retry-After, no concurrency Reason).
Response FeedbackFull(const std::string& msg) {
  Response res = LambdaError(http::status::too_many_requests, "TooManyRequestsException", msg);
  res.erase(http::field::retry_after);
  res.body() = json{{"Type", "User"}, {"message", msg}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

// A stored batch in the audit log (as control-plane writes are), when the gateway keeps one.
void AuditFeedback(ApiContext& ctx, const std::string& caller, const std::string& function,
                   const registry::FeedbackCounts& c) {
  if (!ctx.store) return;
  auth::AuditEntry e;
  e.principal = caller;
  e.source = "http";
  e.action = "PutFeedback";
  e.resource = "function:" + function;
  e.result = "ok";
  e.detail = "added " + std::to_string(c.added) + ", replaced " + std::to_string(c.replaced) +
             ", total " + std::to_string(c.total);
  Status st = ctx.store->Record(std::move(e));
  if (!st.ok()) spdlog::warn("feedback: cannot write the audit log: {}", st.message());
}

// POST: the answer (blocking: the registry, the manifest, parsing, the database).
Response AddFeedback(ApiContext& ctx, const std::string& caller, const std::string& function,
                     const std::string& body) {
  auto latest = ctx.registry->GetVersion(function, registry::kLatest);
  if (!latest.ok()) return StatusResponse(latest.status());  // 404 for an unknown function
  auto features = FeedbackFeatures(ctx, *latest);
  if (!features.ok()) {
    return LambdaError(http::status::internal_server_error, "ServiceException",
                       "cannot read the model's feature list: " + features.status().message());
  }
  // Whatever the parser's code, a refusal is the body's fault: 400 with its message.
  auto rows = registry::ParseFeedback(body, **features);
  if (!rows.ok()) return BadParam(rows.status().message());
  auto counts = ctx.training->AddFeedback(function, *rows);
  if (!counts.ok()) {
    if (counts.status().code() == StatusCode::kResourceExhausted) {
      return FeedbackFull(counts.status().message());
    }
    return StatusResponse(counts.status());
  }
  AuditFeedback(ctx, caller, function, *counts);
  return JsonResponse(http::status::ok, {{"function", function},
                                         {"added", counts->added},
                                         {"replaced", counts->replaced},
                                         {"total", counts->total}});
}

// GET: the answer (blocking: the database, the registry). A deleted function's rows are still
// counted; a name neither registered nor holding rows is 404.
Response CountFeedback(ApiContext& ctx, const std::string& function) {
  auto total = ctx.training->FeedbackCount(function);
  if (!total.ok()) return StatusResponse(total.status());
  if (*total == 0) {
    auto f = ctx.registry->GetFunction(function);
    if (!f.ok()) return StatusResponse(f.status());
  }
  return JsonResponse(http::status::ok, {{"function", function}, {"total", *total}});
}

}  // namespace

bool HandleFeedbackApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with("/v1/functions/") || !path.ends_with("/feedback")) return false;
  std::vector<std::string> seg;
  if (!PathSegments(path, seg) || seg.size() != 4) {
    return respond(BadParam("malformed path: use /v1/functions/{name}/feedback")), true;
  }
  const bool post = req.method() == http::verb::post;
  if (!post && req.method() != http::verb::get && req.method() != http::verb::head) {
    return respond(LambdaError(http::status::method_not_allowed, "MethodNotAllowed",
                               "use POST or GET /v1/functions/{name}/feedback")),
           true;
  }
  const std::string function = seg[2];
  if (!ValidFunctionName(function)) {
    return respond(BadParam("invalid function name '" + function.substr(0, 64) + "'")), true;
  }
  // Names are checked before any scope: what is authorized is what is acted on.
  if (auto denied = post ? Authorize(who, auth::Action::kDeploy, function, "mlfaas:PutFeedback")
                         : Authorize(who, auth::Action::kRead, function, "mlfaas:GetFeedback")) {
    return respond(std::move(*denied)), true;
  }
  if (!ctx.training || !ctx.registry) {
    return respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                               "this gateway keeps no feedback")),
           true;
  }
  if (!post) {
    Offload(ctx, respond, [&ctx, function] { return CountFeedback(ctx, function); });
    return true;
  }
  if (ctx.shutting_down.load(std::memory_order_relaxed)) {
    return respond(LambdaError(http::status::service_unavailable, "ServiceException",
                               "the gateway is shutting down")),
           true;
  }
  // The body (up to the server's 6 MiB) moves to the work, shared: never copied.
  auto body = std::make_shared<const std::string>(std::move(req.body()));
  Offload(ctx, respond, [&ctx, caller = who.Describe(), function, body] {
    return AddFeedback(ctx, caller, function, *body);
  });
  return true;
}

}  // namespace mlfaas::gateway
