// `mlfaas runtime`: the worker loop in-process, for users who only have the `mlfaas` binary
// (same code as the standalone `mlfaas-runtime`; configuration comes from the Lambda
// environment, see docs/runtime.md).
#include "cli/cli.h"
#include "runtime/worker.h"

namespace mlfaas::cli {

void RegisterRuntimeCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "runtime",
      "Run the worker: a Lambda Runtime API client serving the model in $LAMBDA_TASK_ROOT "
      "(env AWS_LAMBDA_RUNTIME_API, _HANDLER=predict, MLFAAS_MODEL_LOADING=eager|lazy)");
  cmd->callback([&ctx] { ctx.action = [] { return runtime::RunWorker(); }; });
}

}  // namespace mlfaas::cli
