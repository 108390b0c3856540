// `mlfaas runtime`: the worker loop in-process, for users who only have the `mlfaas` binary
// (same code as the standalone `mlfaas-runtime`; configuration comes from the Lambda
// environment, see docs/runtime.md). With --http, the HTTP adapter mode instead.
#include <memory>
#include <string>

#include "cli/cli.h"
#include "runtime/worker.h"

namespace mlfaas::cli {

void RegisterRuntimeCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "runtime",
      "Run the worker: a Lambda Runtime API client serving the model in $LAMBDA_TASK_ROOT "
      "(env AWS_LAMBDA_RUNTIME_API, _HANDLER=predict, MLFAAS_MODEL_LOADING=init|lazy|per-invoke)");
  auto listen = std::make_shared<std::string>();
  cmd->add_option("--http", *listen,
                  "Serve the function as a plain HTTP server on [HOST]:PORT instead (POST / "
                  "and the KServe V2 routes; ':8080' = every interface), until SIGTERM");
  cmd->callback([&ctx, listen] {
    ctx.action = [listen] {
      return listen->empty() ? runtime::RunWorker() : runtime::RunHttpWorker(*listen);
    };
  });
}

}  // namespace mlfaas::cli
