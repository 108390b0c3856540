// `mlfaas key create|list|revoke` and `mlfaas audit`: API keys and the audit log
// (docs/security.md). Local commands: they act on the home directory and need no key.
#include <fmt/core.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/auth_store.h"
#include "cli/cli.h"
#include "loadtest/duration.h"

namespace mlfaas::cli {
namespace {

using auth::ApiKey;
using auth::AuditEntry;
using auth::AuthStore;

nlohmann::json KeyJson(const ApiKey& k) {
  return {{"AccessKeyId", k.access_key_id}, {"Name", k.name},
          {"Scopes", k.scopes},             {"Rate", k.rate},
          {"CreatedAt", k.created_at},      {"Status", k.active() ? "Active" : "Revoked"},
          {"RevokedAt", k.revoked_at}};
}

// Records an admin action; its own failure is reported, not hidden, but the action stands.
void Audit(AuthStore& store, const std::string& action, const std::string& resource,
           const Status& result, const std::string& detail) {
  AuditEntry e;
  e.principal = auth::LocalPrincipal();
  e.source = "cli";
  e.action = action;
  e.resource = resource;
  e.result = result.ok() ? "ok" : "error";
  e.detail = result.ok() ? detail : result.message();
  if (Status st = store.Record(e); !st.ok()) {
    std::cerr << "mlfaas: warning: the audit log did not record " << action << ": "
              << st.message() << "\n";
  }
}

struct CreateArgs {
  std::string name;
  std::vector<std::string> scopes;
  double rate = auth::kDefaultRate;
  bool json = false;
};

Status CreateKey(const CliContext& ctx, const CreateArgs& a) {
  MLFAAS_ASSIGN_OR_RETURN(auto store, AuthStore::Open(ctx.home));
  auto created = store->CreateKey(a.name, a.scopes, a.rate);
  std::string joined;
  for (const auto& s : a.scopes) joined += (joined.empty() ? "" : " ") + s;
  Audit(*store, "CreateKey",
        "key:" + (created.ok() ? created->key.access_key_id : std::string("?")) + "/" + a.name,
        created.status(), "scopes " + joined + fmt::format(", rate {:g}/s", a.rate));
  MLFAAS_RETURN_IF_ERROR(created.status());
  if (a.json) {
    std::cout << nlohmann::json{{"AccessKeyId", created->key.access_key_id},
                                {"SecretAccessKey", created->secret}}
                     .dump(2)
              << "\n";
    return Status::Ok();
  }
  std::cout << "AccessKeyId      " << created->key.access_key_id << "\n"
            << "SecretAccessKey  " << created->secret << "\n"
            << "Scopes           " << joined << "\n"
            << "Rate             " << fmt::format("{:g}", a.rate) << " requests/s (burst "
            << fmt::format("{:g}", 2 * a.rate) << ")\n\n"
            << "The secret is shown only now. Use it as an AWS secret key:\n"
            << "  AWS_ACCESS_KEY_ID=" << created->key.access_key_id
            << " AWS_SECRET_ACCESS_KEY=... aws lambda invoke --endpoint-url http://HOST:PORT ...\n"
            << "or with curl: -H 'Authorization: Bearer " << created->key.access_key_id
            << ":<secret>'\n";
  return Status::Ok();
}

Status ListKeys(const CliContext& ctx, bool json) {
  MLFAAS_ASSIGN_OR_RETURN(auto store, AuthStore::Open(ctx.home));
  MLFAAS_ASSIGN_OR_RETURN(auto keys, store->ListKeys());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : keys) out.push_back(KeyJson(k));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  if (keys.empty()) {
    std::cout << "No keys: authentication is off on loopback addresses (mlfaas key create "
                 "--name NAME --scope 'invoke:*')\n";
    return Status::Ok();
  }
  std::cout << fmt::format("{:<22}{:<20}{:<9}{:<10}{:<26}{}\n", "ACCESS KEY ID", "NAME",
                           "STATUS", "RATE/S", "CREATED", "SCOPES");
  for (const auto& k : keys) {
    std::string scopes;
    for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : " ") + s;
    std::cout << fmt::format("{:<22}{:<20}{:<9}{:<10}{:<26}{}\n", k.access_key_id, k.name,
                             k.active() ? "active" : "revoked", fmt::format("{:g}", k.rate),
                             k.created_at, scopes);
  }
  return Status::Ok();
}

Status RevokeKey(const CliContext& ctx, const std::string& which) {
  MLFAAS_ASSIGN_OR_RETURN(auto store, AuthStore::Open(ctx.home));
  auto revoked = store->RevokeKey(which);
  Audit(*store, "RevokeKey",
        "key:" + (revoked.ok() ? revoked->access_key_id + "/" + revoked->name : which),
        revoked.status(), "");
  MLFAAS_RETURN_IF_ERROR(revoked.status());
  std::cout << "Revoked " << revoked->access_key_id << " (" << revoked->name
            << "); running gateways refuse it within a second\n";
  return Status::Ok();
}

struct AuditArgs {
  std::string since;
  size_t limit = 100;
  bool json = false;
};

// --since: a duration back from now ("10m", "2h") or an RFC 3339 time.
StatusOr<std::string> SinceBound(const std::string& since) {
  if (since.empty()) return std::string();
  if (since.find('T') != std::string::npos) return since;
  auto d = loadtest::ParseDuration(since);
  if (!d.ok()) {
    return InvalidArgument("--since '" + since +
                           "': use a duration (10m, 2h, 1d is 24h) or an RFC 3339 time");
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return Rfc3339Millis(now - std::chrono::duration_cast<std::chrono::milliseconds>(*d).count());
}

Status ShowAudit(const CliContext& ctx, const AuditArgs& a) {
  MLFAAS_ASSIGN_OR_RETURN(auto store, AuthStore::Open(ctx.home));
  auth::AuditQuery q;
  MLFAAS_ASSIGN_OR_RETURN(q.since, SinceBound(a.since));
  q.limit = a.limit;
  MLFAAS_ASSIGN_OR_RETURN(auto entries, store->ListAudit(q));
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"id", e.id},
                     {"at", e.at},
                     {"principal", e.principal},
                     {"source", e.source},
                     {"action", e.action},
                     {"resource", e.resource},
                     {"result", e.result},
                     {"detail", e.detail}});
    }
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  for (const auto& e : entries) {
    std::cout << fmt::format("{}  {:<28} {:<6} {:<28} {:<34} {}{}\n", e.at, e.principal,
                             e.result, e.action, e.resource, e.source,
                             e.detail.empty() ? "" : "  " + e.detail);
  }
  return Status::Ok();
}

}  // namespace

void RegisterKeyCommands(CLI::App& app, CliContext& ctx) {
  auto* key = app.add_subcommand("key", "API keys: who may invoke, deploy, read, administer");
  key->require_subcommand(1);

  auto cr = std::make_shared<CreateArgs>();
  auto* create = key->add_subcommand("create", "Create a key; prints its secret once");
  create->add_option("--name", cr->name, "Unique name")->required();
  create
      ->add_option("--scope", cr->scopes,
                   "CLASS:PATTERN, CLASS one of invoke, deploy, read, admin, * (repeatable); "
                   "PATTERN a glob over function names")
      ->required()
      ->expected(1, -1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  create->add_option("--rate", cr->rate, "Requests per second (burst twice that)")
      ->capture_default_str();
  create->add_flag("--json", cr->json, "Print {\"AccessKeyId\", \"SecretAccessKey\"}");
  create->callback([&ctx, cr] { ctx.action = [&ctx, cr] { return CreateKey(ctx, *cr); }; });

  auto ls_json = std::make_shared<bool>(false);
  auto* list = key->add_subcommand("list", "List keys (never their secrets)");
  list->add_flag("--json", *ls_json, "JSON output");
  list->callback([&ctx, ls_json] { ctx.action = [&ctx, ls_json] { return ListKeys(ctx, *ls_json); }; });

  auto which = std::make_shared<std::string>();
  auto* revoke = key->add_subcommand("revoke", "Revoke a key for good");
  revoke->add_option("KEY", *which, "Access key id or name")->required();
  revoke->callback([&ctx, which] { ctx.action = [&ctx, which] { return RevokeKey(ctx, *which); }; });

  auto au = std::make_shared<AuditArgs>();
  auto* audit = app.add_subcommand("audit", "The audit log: every deploy and admin action");
  audit->add_option("--since", au->since, "Only entries newer than this (10m, 2h, RFC 3339)");
  audit->add_option("--limit", au->limit, "At most this many (the newest)")->capture_default_str();
  audit->add_flag("--json", au->json, "JSON output");
  audit->callback([&ctx, au] { ctx.action = [&ctx, au] { return ShowAudit(ctx, *au); }; });
}

}  // namespace mlfaas::cli
