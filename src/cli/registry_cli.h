// Helpers shared by the registry commands (cmd_registry.cc: function, version; cmd_alias.cc:
// alias). Internal to the CLI.
#pragma once

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/audited_registry.h"
#include "auth/auth_store.h"
#include "cli/cli.h"
#include "cli/gateway_client.h"
#include "cli/remote_registry.h"
#include "registry/config_json.h"
#include "registry/registry.h"
#include "registry/training_store.h"

namespace mlfaas::cli {

inline std::string Short(const std::string& digest) {
  return digest.empty() ? "-" : digest.substr(0, 12);
}

inline void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

// Prints registry records (FunctionInfo, VersionInfo, AliasInfo) as one JSON array.
template <typename T>
void PrintJsonArray(const std::vector<T>& items) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& item : items) j.push_back(registry::ToJson(item));
  PrintJson(j);
}

// Runs `body` against the registry of the gateway at ctx.remote (--remote: RemoteRegistry, the
// gateway audits the writes), or else the one opened under ctx.home, every write it makes
// recorded in the audit log as the local user's (auth/audited_registry.h).
template <typename F>
void SetAction(CLI::App* cmd, CliContext& ctx, F body) {
  cmd->callback([&ctx, body] {
    ctx.remote_capable = true;
    ctx.action = [&ctx, body]() -> Status {
      if (!ctx.remote.empty()) {
        MLFAAS_ASSIGN_OR_RETURN(auto gateway, GatewayClient::ForRemote(ctx.remote));
        RemoteRegistry remote(*gateway);
        return body(remote);
      }
      MLFAAS_ASSIGN_OR_RETURN(std::unique_ptr<registry::Registry> reg,
                              registry::OpenRegistry(ctx.home, ctx.registry));
      MLFAAS_ASSIGN_OR_RETURN(auto audit, auth::AuthStore::Open(ctx.home));
      auth::AuditedRegistry audited(*reg, *audit, auth::LocalPrincipal(), "cli");
      return body(audited);
    };
  });
}

// Canary steps that decide (docs/retraining.md; cmd_retrain.cc): --bake DURATION, --linear
// PCT/INTERVAL, --max-error-rate-increase X, --max-p99-ratio R on `alias update` and `retrain`.
struct CanaryFlags {
  std::string bake, linear;
  double max_error_rate_increase = 0.01, max_p99_ratio = 1.5;
  CLI::Option* bake_opt = nullptr;
  CLI::Option* linear_opt = nullptr;
  CLI::Option* error_opt = nullptr;
  CLI::Option* p99_opt = nullptr;
  bool Given() const { return bake_opt->count() + linear_opt->count() > 0; }
};
void AddCanaryFlags(CLI::App* cmd, CanaryFlags& f);
// The deployment for a canary of `function:alias` at `weight` (0: the linear step). InvalidArgument
// for bad values, or --max-* without --bake/--linear.
StatusOr<registry::CanaryDeployment> CanaryFrom(const CanaryFlags& f, const std::string& function,
                                                const std::string& alias,
                                                const std::string& canary_version, double weight);
// Records it in the home's registry: the gateway's canary controller takes it from there.
Status StartCanary(const std::filesystem::path& home, const registry::CanaryDeployment& d);

// `alias create|update|get|list|delete` (cmd_alias.cc).
void RegisterAliasCommands(CLI::App& app, CliContext& ctx);

}  // namespace mlfaas::cli
