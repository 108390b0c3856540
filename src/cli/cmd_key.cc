// `mlfaas key create|list|revoke` and `mlfaas audit`: API keys and the audit log
// (docs/security.md). Locally they act on the home directory and need no key; with --remote on a
// gateway's keys, through its HTTP API (which needs an admin key once authentication is on).
#include <fmt/core.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/auth_store.h"
#include "cli/cli.h"
#include "cli/gateway_client.h"
#include "cli/remote_key_admin.h"
#include "loadtest/duration.h"

namespace mlfaas::cli {
namespace {

using auth::ApiKey;
using auth::AuditEntry;
using auth::AuthStore;

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// The local key store with its writes recorded in the audit log as the local user's, as
// AuditedRegistry does for the registry. A gateway audits what --remote asks of it itself.
class AuditedKeys final : public auth::KeyAdmin {
 public:
  explicit AuditedKeys(AuthStore& store) : store_(store) {}

  StatusOr<auth::KeyWithSecret> CreateKey(const std::string& name,
                                          const std::vector<std::string>& scopes,
                                          double rate) override {
    auto created = store_.CreateKey(name, scopes, rate);
    Audit("CreateKey",
          "key:" + (created.ok() ? created->key.access_key_id : std::string("?")) + "/" + name,
          created.status(), "scopes " + Joined(scopes) + fmt::format(", rate {:g}/s", rate));
    return created;
  }
  StatusOr<std::vector<ApiKey>> ListKeys() override { return store_.ListKeys(); }
  StatusOr<ApiKey> RevokeKey(const std::string& which) override {
    auto revoked = store_.RevokeKey(which);
    Audit("RevokeKey",
          "key:" + (revoked.ok() ? revoked->access_key_id + "/" + revoked->name : which),
          revoked.status(), "");
    return revoked;
  }
  StatusOr<std::vector<AuditEntry>> ListAudit(const auth::AuditQuery& q) override {
    return store_.ListAudit(q);
  }

 private:
  // Records an admin action; its own failure is reported, not hidden, but the action stands.
  void Audit(const std::string& action, const std::string& resource, const Status& result,
             const std::string& detail) {
    AuditEntry e;
    e.principal = auth::LocalPrincipal();
    e.source = "cli";
    e.action = action;
    e.resource = resource;
    e.result = result.ok() ? "ok" : "error";
    e.detail = result.ok() ? detail : result.message();
    if (Status st = store_.Record(e); !st.ok()) {
      std::cerr << "mlfaas: warning: the audit log did not record " << action << ": "
                << st.message() << "\n";
    }
  }

  AuthStore& store_;
};

// Runs `body` against the keys of the gateway at ctx.remote (--remote), or else of the home.
template <typename F>
void SetKeyAction(CLI::App* cmd, CliContext& ctx, F body) {
  cmd->callback([&ctx, body] {
    ctx.remote_capable = true;
    ctx.action = [&ctx, body]() -> Status {
      if (!ctx.remote.empty()) {
        MLFAAS_ASSIGN_OR_RETURN(auto gateway, GatewayClient::ForRemote(ctx.remote));
        RemoteKeyAdmin keys(*gateway);
        return body(keys);
      }
      MLFAAS_ASSIGN_OR_RETURN(auto store, AuthStore::Open(ctx.home));
      AuditedKeys keys(*store);
      return body(keys);
    };
  });
}

struct CreateArgs {
  std::string name;
  std::vector<std::string> scopes;
  double rate = auth::kDefaultRate;
  bool json = false;
};

Status CreateKey(auth::KeyAdmin& keys, const CreateArgs& a) {
  MLFAAS_ASSIGN_OR_RETURN(auth::KeyWithSecret created, keys.CreateKey(a.name, a.scopes, a.rate));
  const std::string joined = Joined(a.scopes);
  if (a.json) {
    std::cout << nlohmann::json{{"AccessKeyId", created.key.access_key_id},
                                {"SecretAccessKey", created.secret}}
                     .dump(2)
              << "\n";
    return Status::Ok();
  }
  std::cout << "AccessKeyId      " << created.key.access_key_id << "\n"
            << "SecretAccessKey  " << created.secret << "\n"
            << "Scopes           " << joined << "\n"
            << "Rate             " << fmt::format("{:g}", a.rate) << " requests/s (burst "
            << fmt::format("{:g}", 2 * a.rate) << ")\n\n"
            << "The secret is shown only now. Use it as an AWS secret key:\n"
            << "  AWS_ACCESS_KEY_ID=" << created.key.access_key_id
            << " AWS_SECRET_ACCESS_KEY=... aws lambda invoke --endpoint-url http://HOST:PORT ...\n"
            << "or with curl: -H 'Authorization: Bearer " << created.key.access_key_id
            << ":<secret>'\n";
  return Status::Ok();
}

Status ListKeys(auth::KeyAdmin& admin, bool json) {
  MLFAAS_ASSIGN_OR_RETURN(auto keys, admin.ListKeys());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : keys) out.push_back(auth::ToJson(k));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  if (keys.empty()) {
    std::cout << "No keys: authentication is off on loopback addresses (mlfaas key create "
                 "--name NAME --scope 'invoke:*')\n";
    return Status::Ok();
  }
  std::cout << fmt::format("{:<22}{:<20}{:<9}{:<10}{:<26}{}\n", "ACCESS KEY ID", "NAME", "STATUS",
                           "RATE/S", "CREATED", "SCOPES");
  for (const auto& k : keys) {
    std::cout << fmt::format("{:<22}{:<20}{:<9}{:<10}{:<26}{}\n", k.access_key_id, k.name,
                             k.active() ? "active" : "revoked", fmt::format("{:g}", k.rate),
                             k.created_at, Joined(k.scopes));
  }
  return Status::Ok();
}

Status RevokeKey(auth::KeyAdmin& keys, const std::string& which) {
  MLFAAS_ASSIGN_OR_RETURN(ApiKey revoked, keys.RevokeKey(which));
  std::cout << "Revoked " << revoked.access_key_id << " (" << revoked.name
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

Status ShowAudit(auth::KeyAdmin& keys, const AuditArgs& a) {
  auth::AuditQuery q;
  MLFAAS_ASSIGN_OR_RETURN(q.since, SinceBound(a.since));
  q.limit = a.limit;
  MLFAAS_ASSIGN_OR_RETURN(auto entries, keys.ListAudit(q));
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back(auth::ToJson(e));
    }
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  for (const auto& e : entries) {
    std::cout << fmt::format("{}  {:<28} {:<6} {:<28} {:<34} {}{}\n", e.at, e.principal, e.result,
                             e.action, e.resource, e.source,
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
  SetKeyAction(create, ctx, [cr](auth::KeyAdmin& keys) { return CreateKey(keys, *cr); });

  auto ls_json = std::make_shared<bool>(false);
  auto* list = key->add_subcommand("list", "List keys (never their secrets)");
  list->add_flag("--json", *ls_json, "JSON output");
  SetKeyAction(list, ctx, [ls_json](auth::KeyAdmin& keys) { return ListKeys(keys, *ls_json); });

  auto which = std::make_shared<std::string>();
  auto* revoke = key->add_subcommand("revoke", "Revoke a key for good");
  revoke->add_option("KEY", *which, "Access key id or name")->required();
  SetKeyAction(revoke, ctx, [which](auth::KeyAdmin& keys) { return RevokeKey(keys, *which); });

  auto au = std::make_shared<AuditArgs>();
  auto* audit = app.add_subcommand("audit", "The audit log: every deploy and admin action");
  audit->add_option("--since", au->since, "Only entries newer than this (10m, 2h, RFC 3339)");
  audit->add_option("--limit", au->limit, "At most this many (the newest)")->capture_default_str();
  audit->add_flag("--json", au->json, "JSON output");
  SetKeyAction(audit, ctx, [au](auth::KeyAdmin& keys) { return ShowAudit(keys, *au); });
}

}  // namespace mlfaas::cli
