// `mlfaas function|version|alias ...`: the registry's command line (Lambda-console analogue).
// Every command opens the registry under --home, or talks to the gateway at --remote; tables by
// default, --json for scripts.
#include <fmt/core.h>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/registry_cli.h"
#include "loadtest/duration.h"
#include "registry/config_json.h"
#include "registry/registry.h"

namespace mlfaas::cli {
namespace {

using registry::FunctionConfig;
using registry::FunctionInfo;
using registry::Registry;
using registry::VersionInfo;

// Config flags shared by `function create` and `function update-config`. Only the flags given
// on the command line are applied (update-config changes nothing else).
struct ConfigFlags {
  FunctionConfig v;
  int reserved = 0;
  std::string retrain_every;  // a duration ("1h", "30m"), or 0 / off
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
  f.opts["ephemeral"] = cmd->add_option("--ephemeral-storage", f.v.ephemeral_storage_mb,
                                        "/tmp size in MB, 512-10240 (512)");
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
  f.opts["per-instance"] = cmd->add_option(
      "--max-concurrency-per-instance", f.v.max_concurrency_per_instance,
      "Invocations one instance runs at once, 1-1600 (1: one per instance, as on Lambda)");
  f.opts["loading"] = cmd->add_option("--model-loading", f.v.model_loading,
                                      "per-invoke | init | lazy | snapshot (init)");
  f.opts["description"] = cmd->add_option("--description", f.v.description, "Description");
  f.opts["retrain-every"] = cmd->add_option(
      "--retrain-every", f.retrain_every,
      "Retrain automatically this often, e.g. 1h or 30m (0 or off: never; at least 1m)");
  f.opts["retrain-after-labels"] = cmd->add_option(
      "--retrain-after-labels", f.v.retrain_after_labels,
      "Retrain automatically once this many labelled rows arrived since the last run (0: never)");
  f.opts["env"]->excludes(f.opts["no-env"]);
  f.opts["reserved"]->excludes(f.opts["no-reserved"]);
}

Status ApplyConfigFlags(const ConfigFlags& f, FunctionConfig& c) {
  if (f.Given("runtime")) c.runtime = f.v.runtime;
  if (f.Given("handler")) c.handler = f.v.handler;
  if (f.Given("memory")) c.memory_mb = f.v.memory_mb;
  if (f.Given("timeout")) c.timeout_s = f.v.timeout_s;
  if (f.Given("ephemeral")) c.ephemeral_storage_mb = f.v.ephemeral_storage_mb;
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
  if (f.Given("per-instance")) c.max_concurrency_per_instance = f.v.max_concurrency_per_instance;
  if (f.Given("loading")) c.model_loading = f.v.model_loading;
  if (f.Given("description")) c.description = f.v.description;
  if (f.Given("retrain-every")) {
    if (f.retrain_every == "0" || f.retrain_every == "off") {
      c.retrain_every_s = 0;
    } else {
      auto d = loadtest::ParseDuration(f.retrain_every);
      if (!d.ok()) return InvalidArgument("--retrain-every: " + d.status().message());
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
      if (s < 60 || s > 31'536'000) {
        return InvalidArgument("--retrain-every must be between 1m and 365 days, or off");
      }
      c.retrain_every_s = static_cast<int>(s);
    }
  }
  if (f.Given("retrain-after-labels")) c.retrain_after_labels = f.v.retrain_after_labels;
  return Status::Ok();
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
  row("Per instance:", std::to_string(c.max_concurrency_per_instance));
  row("Retrain every:", c.retrain_every_s == 0 ? "-" : std::to_string(c.retrain_every_s) + " s");
  row("Retrain after labels:",
      c.retrain_after_labels == 0 ? "-" : std::to_string(c.retrain_after_labels));
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

}  // namespace

void RegisterRegistryCommands(CLI::App& app, CliContext& ctx) {
  auto* fn = app.add_subcommand("function", "Create, update, publish and inspect functions");
  fn->require_subcommand(1);
  RegisterFunctionWrites(fn, ctx);
  RegisterFunctionReads(fn, ctx);
  RegisterVersion(app, ctx);
  RegisterAliasCommands(app, ctx);
}

}  // namespace mlfaas::cli
