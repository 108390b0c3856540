// Shared plumbing for the `mlfaas` command line.
//
// Each component registers its subcommands in its own cmd_*.cc file. A subcommand's callback
// stores the work to do in `CliContext::action`; main() runs it after parsing and maps the
// returned Status to the exit code: 0 success, 1 user error, 2 internal error. Errors print one
// line on stderr: "mlfaas: <message>".
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "common/status.h"
#include "registry/registry.h"

namespace mlfaas::cli {

struct CliContext {
  // Value of --home / $MLFAAS_HOME / ~/.mlfaas; resolved before the action runs.
  std::filesystem::path home;
  // Set by the chosen subcommand's callback.
  std::function<Status()> action;
  // Path of the running executable (/proc/self/exe), for spawning workers.
  std::filesystem::path self_exe;
  // Value of --remote / $MLFAAS_REMOTE ("" = act on the home directory), resolved before the
  // action runs; `remote_flag`: it came from --remote itself (which outranks status --endpoint).
  std::string remote;
  bool remote_flag = false;
  // Set by the callback of a command that honours --remote (the registry, key, audit and status
  // commands), so that --remote given to any other command is refused instead of ignored.
  bool remote_capable = false;
  // --registry / $MLFAAS_REGISTRY ("" = SQLite under the home) and --blob-dir /
  // $MLFAAS_BLOB_DIR, resolved before the action runs: every command opens the registry with
  // registry::OpenRegistry(ctx.home, ctx.registry).
  registry::RegistryLocation registry;
};

// 0 for OK, 2 for kInternal, 1 for every other code.
int ExitCodeFor(const Status& status);

void RegisterModelCommands(CLI::App& app, CliContext& ctx);     // train, predict, package
void RegisterRegistryCommands(CLI::App& app, CliContext& ctx);  // function, version, alias
void RegisterServeCommands(CLI::App& app, CliContext& ctx);     // serve, status
void RegisterRuntimeCommands(CLI::App& app, CliContext& ctx);   // runtime (worker bootstrap)
void RegisterBenchCommands(CLI::App& app, CliContext& ctx);     // bench run|study
void RegisterKeyCommands(CLI::App& app, CliContext& ctx);       // key, audit
void RegisterLogsCommands(CLI::App& app, CliContext& ctx);      // logs
void RegisterCostCommands(CLI::App& app, CliContext& ctx);      // cost
void RegisterRetrainCommands(CLI::App& app, CliContext& ctx);   // dataset, retrain
void RegisterExportCommands(CLI::App& app, CliContext& ctx);    // export lambda|knative

}  // namespace mlfaas::cli
