// `mlfaas alias ...`: named pointers to published versions, with an optional weighted canary.
#include <fmt/core.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/registry_cli.h"

namespace mlfaas::cli {
namespace {

using registry::AliasInfo;
using registry::Registry;

std::string CanaryText(const AliasInfo& a) {
  if (!a.canary_version) return "-";
  return fmt::format("{} ({:g}%)", *a.canary_version, a.canary_weight * 100.0);
}

void PrintAliasList(const std::vector<AliasInfo>& as) {
  fmt::print("{:<24} {:<8} {:<18} {}\n", "NAME", "VERSION", "CANARY", "DESCRIPTION");
  for (const auto& a : as) {
    fmt::print("{:<24} {:<8} {:<18} {}\n", a.name, a.version, CanaryText(a), a.description);
  }
}

void PrintAlias(const AliasInfo& a) {
  fmt::print("{:<14}{}\n{:<14}{}\n{:<14}{}\n{:<14}{}\n{:<14}{}\n", "Alias:", a.name,
             "Function:", a.function, "Version:", a.version, "Canary:", CanaryText(a),
             "Description:", a.description);
}

struct AliasArgs {
  std::string function, name, version, canary_version, description;
  double canary_weight = 0.0;
  bool json = false;
  CLI::Option* version_opt = nullptr;
  CLI::Option* canary_opt = nullptr;
  CLI::Option* weight_opt = nullptr;
  CLI::Option* description_opt = nullptr;
  CLI::Option* no_canary_opt = nullptr;
  CanaryFlags canary;  // update only
};

// FUNCTION ALIAS [--version V] [--canary-version V2 --canary-weight W] [--description D].
void AddAliasFlags(CLI::App* cmd, AliasArgs& a, bool version_required) {
  cmd->add_option("FUNCTION", a.function, "Function name")->required();
  cmd->add_option("ALIAS", a.name, "Alias name")->required();
  a.version_opt = cmd->add_option("--version", a.version, "Published version it points at");
  if (version_required) a.version_opt->required();
  a.canary_opt = cmd->add_option("--canary-version", a.canary_version, "Second (canary) version");
  a.weight_opt =
      cmd->add_option("--canary-weight", a.canary_weight, "Share of requests for the canary, 0-1");
  a.description_opt = cmd->add_option("--description", a.description, "Description");
  a.canary_opt->needs(a.weight_opt);
}

void PrintAliasOut(const AliasArgs& a, const AliasInfo& info) {
  a.json ? PrintJson(registry::ToJson(info)) : PrintAlias(info);
}

// `alias create|update`.
void RegisterAliasWrites(CLI::App* al, CliContext& ctx) {
  auto cr = std::make_shared<AliasArgs>();
  auto* create = al->add_subcommand("create", "Point a new alias at a published version");
  AddAliasFlags(create, *cr, /*version_required=*/true);
  cr->weight_opt->needs(cr->canary_opt);
  create->add_flag("--json", cr->json, "JSON output");
  SetAction(create, ctx, [cr](Registry& reg) -> Status {
    AliasInfo a{cr->function, cr->name, cr->version, std::nullopt, 0.0, cr->description};
    if (cr->canary_opt->count() > 0) {
      a.canary_version = cr->canary_version;
      a.canary_weight = cr->canary_weight;
    }
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo out, reg.CreateAlias(a));
    PrintAliasOut(*cr, out);
    return Status::Ok();
  });

  auto up = std::make_shared<AliasArgs>();
  auto* update = al->add_subcommand(
      "update", "Repoint an alias (rollback: --version <older>); only given flags change");
  AddAliasFlags(update, *up, /*version_required=*/false);
  up->no_canary_opt = update->add_flag("--no-canary")->description("Remove the canary version");
  up->no_canary_opt->excludes(up->canary_opt)->excludes(up->weight_opt);
  AddCanaryFlags(update, up->canary);
  up->canary.bake_opt->excludes(up->no_canary_opt);
  up->canary.linear_opt->excludes(up->no_canary_opt);
  update->add_flag("--json", up->json, "JSON output");
  SetAction(update, ctx, [up, &ctx](Registry& reg) -> Status {
    if (up->canary.Given() && !ctx.remote.empty()) {
      return InvalidArgument("--bake and --linear act on the home directory, not with --remote");
    }
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, reg.GetAlias(up->function, up->name));
    if (up->version_opt->count() > 0) a.version = up->version;
    if (up->canary_opt->count() > 0) a.canary_version = up->canary_version;
    if (up->weight_opt->count() > 0) a.canary_weight = up->canary_weight;
    if (up->description_opt->count() > 0) a.description = up->description;
    if (up->no_canary_opt->count() > 0) {
      a.canary_version.reset();
      a.canary_weight = 0.0;
    }
    std::optional<registry::CanaryDeployment> deployment;
    if (up->canary.Given()) {
      if (!a.canary_version) {
        return InvalidArgument("--bake and --linear need a canary (--canary-version)");
      }
      MLFAAS_ASSIGN_OR_RETURN(deployment,
                              CanaryFrom(up->canary, a.function, a.name, *a.canary_version,
                                         up->weight_opt->count() > 0 ? a.canary_weight : 0.0));
      a.canary_weight = deployment->weight;
    } else {
      MLFAAS_RETURN_IF_ERROR(
          CanaryFrom(up->canary, a.function, a.name, "", 0.1).status());  // --max-* alone
    }
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo out, reg.UpdateAlias(a));
    if (deployment) MLFAAS_RETURN_IF_ERROR(StartCanary(ctx.home, *deployment));
    PrintAliasOut(*up, out);
    return Status::Ok();
  });
}

// `alias get|list|delete`.
void RegisterAliasReads(CLI::App* al, CliContext& ctx) {
  auto gt = std::make_shared<AliasArgs>();
  auto* get = al->add_subcommand("get", "Show an alias");
  get->add_option("FUNCTION", gt->function, "Function name")->required();
  get->add_option("ALIAS", gt->name, "Alias name")->required();
  get->add_flag("--json", gt->json, "JSON output");
  SetAction(get, ctx, [gt](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, reg.GetAlias(gt->function, gt->name));
    PrintAliasOut(*gt, a);
    return Status::Ok();
  });

  auto ls = std::make_shared<AliasArgs>();
  auto* list = al->add_subcommand("list", "List a function's aliases");
  list->add_option("FUNCTION", ls->function, "Function name")->required();
  list->add_flag("--json", ls->json, "JSON output");
  SetAction(list, ctx, [ls](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(auto as, reg.ListAliases(ls->function));
    if (!ls->json) {
      PrintAliasList(as);
      return Status::Ok();
    }
    PrintJsonArray(as);
    return Status::Ok();
  });

  auto dl = std::make_shared<AliasArgs>();
  auto* del = al->add_subcommand("delete", "Delete an alias");
  del->add_option("FUNCTION", dl->function, "Function name")->required();
  del->add_option("ALIAS", dl->name, "Alias name")->required();
  SetAction(del, ctx, [dl](Registry& reg) -> Status {
    MLFAAS_RETURN_IF_ERROR(reg.DeleteAlias(dl->function, dl->name));
    std::cout << "Deleted alias " << dl->name << " of " << dl->function << "\n";
    return Status::Ok();
  });
}

}  // namespace

void RegisterAliasCommands(CLI::App& app, CliContext& ctx) {
  auto* al = app.add_subcommand("alias", "Named pointers to versions, with optional canary");
  al->require_subcommand(1);
  RegisterAliasWrites(al, ctx);
  RegisterAliasReads(al, ctx);
}

}  // namespace mlfaas::cli
