// `mlfaas function|version|alias ...`: the registry's command line (Lambda-console analogue).
// Every command opens the registry under --home; tables by default, --json for scripts.
#include <fmt/core.h>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "registry/config_json.h"
#include "registry/registry.h"

namespace mlfaas::cli {
namespace {

using registry::AliasInfo;
using registry::FunctionConfig;
using registry::FunctionInfo;
using registry::Registry;
using registry::VersionInfo;

// Config flags shared by `function create` and `function update-config`. Only the flags given
// on the command line are applied (update-config changes nothing else).
struct ConfigFlags {
  FunctionConfig v;
  int reserved = 0;
  std::vector<std::string> env;
  std::map<std::string, CLI::Option*> opts;
  bool Given(const std::string& name) const {
    auto it = opts.find(name);
    return it != opts.end() && it->second->count() > 0;
  }
};

void AddConfigFlags(CLI::App* cmd, ConfigFlags& f) {
  f.opts["runtime"] = cmd->add_option("--runtime", f.v.runtime, "mlfaas (built-in) | provided");
  f.opts["handler"] = cmd->add_option("--handler", f.v.handler, "Handler name (default predict)");
  f.opts["memory"] = cmd->add_option("--memory", f.v.memory_mb, "Memory MB, 128-10240 (512)");
  f.opts["timeout"] = cmd->add_option("--timeout", f.v.timeout_s, "Timeout s, 1-900 (3)");
  f.opts["env"] = cmd->add_option("--env", f.env, "Environment variable K=V (repeatable)")
                      ->expected(1)
                      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  f.opts["no-env"] = cmd->add_flag("--no-env")->description("Clear the environment variables");
  f.opts["reserved"] =
      cmd->add_option("--reserved-concurrency", f.reserved, "Cap on concurrent instances");
  f.opts["no-reserved"] =
      cmd->add_flag("--no-reserved-concurrency")->description("Remove the concurrency cap");
  f.opts["provisioned"] = cmd->add_option("--provisioned-concurrency", f.v.provisioned_concurrency,
                                          "Instances kept initialized");
  f.opts["idle"] = cmd->add_option("--idle-timeout", f.v.idle_timeout_s,
                                   "Seconds before an idle instance is reaped (600)");
  f.opts["loading"] = cmd->add_option("--model-loading", f.v.model_loading, "eager | lazy (eager)");
  f.opts["description"] = cmd->add_option("--description", f.v.description, "Description");
  f.opts["env"]->excludes(f.opts["no-env"]);
  f.opts["reserved"]->excludes(f.opts["no-reserved"]);
}

Status ApplyConfigFlags(const ConfigFlags& f, FunctionConfig& c) {
  if (f.Given("runtime")) c.runtime = f.v.runtime;
  if (f.Given("handler")) c.handler = f.v.handler;
  if (f.Given("memory")) c.memory_mb = f.v.memory_mb;
  if (f.Given("timeout")) c.timeout_s = f.v.timeout_s;
  if (f.Given("no-env")) c.environment.clear();
  if (f.Given("env")) {
    c.environment.clear();
    for (const auto& kv : f.env) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgument("--env expects K=V, got '" + kv + "'");
      }
      c.environment[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  if (f.Given("reserved")) c.reserved_concurrency = f.reserved;
  if (f.Given("no-reserved")) c.reserved_concurrency.reset();
  if (f.Given("provisioned")) c.provisioned_concurrency = f.v.provisioned_concurrency;
  if (f.Given("idle")) c.idle_timeout_s = f.v.idle_timeout_s;
  if (f.Given("loading")) c.model_loading = f.v.model_loading;
  if (f.Given("description")) c.description = f.v.description;
  return Status::Ok();
}

std::string Short(const std::string& digest) { return digest.empty() ? "-" : digest.substr(0, 12); }

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

// Prints registry records (FunctionInfo, VersionInfo, AliasInfo) as one JSON array.
template <typename T>
void PrintJsonArray(const std::vector<T>& items) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& item : items) j.push_back(registry::ToJson(item));
  PrintJson(j);
}

void PrintFunction(const FunctionInfo& f) {
  const FunctionConfig& c = f.latest.config;
  auto row = [](const char* k, const std::string& v) { fmt::print("{:<24}{}\n", k, v); };
  row("Name:", f.name);
  row("Runtime:", c.runtime);
  row("Handler:", c.handler);
  row("Memory (MB):", std::to_string(c.memory_mb));
  row("Timeout (s):", std::to_string(c.timeout_s));
  row("Reserved concurrency:",
      c.reserved_concurrency ? std::to_string(*c.reserved_concurrency) : "none");
  row("Provisioned:", std::to_string(c.provisioned_concurrency));
  row("Idle timeout (s):", std::to_string(c.idle_timeout_s));
  row("Model loading:", c.model_loading);
  row("Code sha256:", f.latest.code_digest);
  row("Model digest:", f.latest.model_digest.empty() ? "-" : f.latest.model_digest);
  row("Description:", c.description);
  for (const auto& [k, v] : c.environment) row("Environment:", k + "=" + v);
  row("Created:", f.created_at);
  row("Updated:", f.updated_at);
}

void PrintFunctionList(const std::vector<FunctionInfo>& fs) {
  fmt::print("{:<32} {:<9} {:>7} {:>8} {:<13} {}\n", "NAME", "RUNTIME", "MEMORY", "TIMEOUT", "CODE",
             "UPDATED");
  for (const auto& f : fs) {
    const auto& c = f.latest.config;
    fmt::print("{:<32} {:<9} {:>7} {:>8} {:<13} {}\n", f.name, c.runtime, c.memory_mb, c.timeout_s,
               Short(f.latest.code_digest), f.updated_at);
  }
}

void PrintVersionList(const std::vector<VersionInfo>& vs) {
  fmt::print("{:<8} {:<13} {:<13} {:>7} {:<25} {}\n", "VERSION", "CODE", "MODEL", "MEMORY",
             "CREATED", "DESCRIPTION");
  for (const auto& v : vs) {
    fmt::print("{:<8} {:<13} {:<13} {:>7} {:<25} {}\n", v.version, Short(v.code_digest),
               Short(v.model_digest), v.config.memory_mb, v.created_at, v.description);
  }
}

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

// Runs `body` with the registry opened under ctx.home.
template <typename F>
void SetAction(CLI::App* cmd, CliContext& ctx, F body) {
  cmd->callback([&ctx, body] {
    ctx.action = [&ctx, body]() -> Status {
      MLFAAS_ASSIGN_OR_RETURN(std::unique_ptr<Registry> reg, registry::OpenRegistry(ctx.home));
      return body(*reg);
    };
  });
}

struct FunctionArgs {
  std::string name, package, description;
  bool json = false;
  ConfigFlags config;
};

void PrintFunctionOut(const FunctionArgs& a, const FunctionInfo& f) {
  a.json ? PrintJson(registry::ToJson(f)) : PrintFunction(f);
}

// `function create|update-code|update-config`.
void RegisterFunctionWrites(CLI::App* fn, CliContext& ctx) {
  auto cr = std::make_shared<FunctionArgs>();
  auto* create = fn->add_subcommand("create", "Create a function from a package zip");
  create->add_option("NAME", cr->name, "Function name")->required();
  create->add_option("--package", cr->package, "Package zip")->required();
  AddConfigFlags(create, cr->config);
  create->add_flag("--json", cr->json, "JSON output");
  SetAction(create, ctx, [cr](Registry& reg) -> Status {
    FunctionConfig c;
    MLFAAS_RETURN_IF_ERROR(ApplyConfigFlags(cr->config, c));
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, reg.CreateFunction(cr->name, cr->package, c));
    PrintFunctionOut(*cr, f);
    return Status::Ok();
  });

  auto uc = std::make_shared<FunctionArgs>();
  auto* code = fn->add_subcommand("update-code", "Replace the package of $LATEST");
  code->add_option("NAME", uc->name, "Function name")->required();
  code->add_option("--package", uc->package, "Package zip")->required();
  code->add_flag("--json", uc->json, "JSON output");
  SetAction(code, ctx, [uc](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, reg.UpdateCode(uc->name, uc->package));
    PrintFunctionOut(*uc, f);
    return Status::Ok();
  });

  auto cf = std::make_shared<FunctionArgs>();
  auto* conf = fn->add_subcommand("update-config", "Change the configuration of $LATEST");
  conf->add_option("NAME", cf->name, "Function name")->required();
  AddConfigFlags(conf, cf->config);
  conf->add_flag("--json", cf->json, "JSON output");
  SetAction(conf, ctx, [cf](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, reg.GetFunction(cf->name));
    FunctionConfig c = f.latest.config;
    MLFAAS_RETURN_IF_ERROR(ApplyConfigFlags(cf->config, c));
    MLFAAS_ASSIGN_OR_RETURN(f, reg.UpdateConfig(cf->name, c));
    PrintFunctionOut(*cf, f);
    return Status::Ok();
  });
}

// `function publish|get|list|delete`.
void RegisterFunctionReads(CLI::App* fn, CliContext& ctx) {
  auto pb = std::make_shared<FunctionArgs>();
  auto* publish = fn->add_subcommand("publish", "Snapshot $LATEST as a new version");
  publish->add_option("NAME", pb->name, "Function name")->required();
  publish->add_option("--description", pb->description, "Version description");
  publish->add_flag("--json", pb->json, "JSON output (default: the version number alone)");
  SetAction(publish, ctx, [pb](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, reg.PublishVersion(pb->name, pb->description));
    if (pb->json) {
      PrintJson(registry::ToJson(v));
    } else {
      std::cout << v.version << "\n";
    }
    return Status::Ok();
  });

  auto gt = std::make_shared<FunctionArgs>();
  auto* get = fn->add_subcommand("get", "Show a function ($LATEST)");
  get->add_option("NAME", gt->name, "Function name")->required();
  get->add_flag("--json", gt->json, "JSON output");
  SetAction(get, ctx, [gt](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, reg.GetFunction(gt->name));
    PrintFunctionOut(*gt, f);
    return Status::Ok();
  });

  auto ls = std::make_shared<FunctionArgs>();
  auto* list = fn->add_subcommand("list", "List functions");
  list->add_flag("--json", ls->json, "JSON output");
  SetAction(list, ctx, [ls](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(auto fs, reg.ListFunctions());
    if (!ls->json) {
      PrintFunctionList(fs);
      return Status::Ok();
    }
    PrintJsonArray(fs);
    return Status::Ok();
  });

  auto dl = std::make_shared<FunctionArgs>();
  auto* del = fn->add_subcommand("delete", "Delete a function, its versions and aliases");
  del->add_option("NAME", dl->name, "Function name")->required();
  SetAction(del, ctx, [dl](Registry& reg) -> Status {
    MLFAAS_RETURN_IF_ERROR(reg.DeleteFunction(dl->name));
    std::cout << "Deleted function " << dl->name << "\n";
    return Status::Ok();
  });
}

struct VersionArgs {
  std::string function, version;
  bool json = false;
};

void RegisterVersion(CLI::App& app, CliContext& ctx) {
  auto* ver = app.add_subcommand("version", "List and delete published versions");
  ver->require_subcommand(1);
  auto ls = std::make_shared<VersionArgs>();
  auto* list = ver->add_subcommand("list", "List $LATEST and the published versions");
  list->add_option("NAME", ls->function, "Function name")->required();
  list->add_flag("--json", ls->json, "JSON output");
  SetAction(list, ctx, [ls](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(auto vs, reg.ListVersions(ls->function));
    if (!ls->json) {
      PrintVersionList(vs);
      return Status::Ok();
    }
    PrintJsonArray(vs);
    return Status::Ok();
  });

  auto dl = std::make_shared<VersionArgs>();
  auto* del = ver->add_subcommand("delete", "Delete a published version");
  del->add_option("NAME", dl->function, "Function name")->required();
  del->add_option("VERSION", dl->version, "Version number")->required();
  SetAction(del, ctx, [dl](Registry& reg) -> Status {
    MLFAAS_RETURN_IF_ERROR(reg.DeleteVersion(dl->function, dl->version));
    std::cout << "Deleted version " << dl->version << " of " << dl->function << "\n";
    return Status::Ok();
  });
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
  update->add_flag("--json", up->json, "JSON output");
  SetAction(update, ctx, [up](Registry& reg) -> Status {
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, reg.GetAlias(up->function, up->name));
    if (up->version_opt->count() > 0) a.version = up->version;
    if (up->canary_opt->count() > 0) a.canary_version = up->canary_version;
    if (up->weight_opt->count() > 0) a.canary_weight = up->canary_weight;
    if (up->description_opt->count() > 0) a.description = up->description;
    if (up->no_canary_opt->count() > 0) {
      a.canary_version.reset();
      a.canary_weight = 0.0;
    }
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo out, reg.UpdateAlias(a));
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

void RegisterRegistryCommands(CLI::App& app, CliContext& ctx) {
  auto* fn = app.add_subcommand("function", "Create, update, publish and inspect functions");
  fn->require_subcommand(1);
  RegisterFunctionWrites(fn, ctx);
  RegisterFunctionReads(fn, ctx);
  RegisterVersion(app, ctx);
  auto* al = app.add_subcommand("alias", "Named pointers to versions, with optional canary");
  al->require_subcommand(1);
  RegisterAliasWrites(al, ctx);
  RegisterAliasReads(al, ctx);
}

}  // namespace mlfaas::cli
