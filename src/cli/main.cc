#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/cli.h"

namespace mlfaas::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return 0;
  return status.code() == StatusCode::kInternal ? 2 : 1;
}

namespace {

std::filesystem::path DefaultHome() {
  if (const char* env = std::getenv("MLFAAS_HOME"); env && *env) return env;
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".mlfaas";
  return ".mlfaas";
}

int Run(int argc, char** argv) {
  CLI::App app{"mlfaas: serve machine-learning models the way AWS Lambda serves functions"};
  app.set_version_flag("--version", "mlfaas " MLFAAS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  CliContext ctx;
  std::string home;
  app.add_option("--home", home, "State directory (env MLFAAS_HOME, default ~/.mlfaas)");
  std::string remote;
  CLI::Option* remote_opt =
      app.add_option("--remote", remote,
                     "Run function, version, alias, key, audit, logs, cost and status against the "
                     "gateway at http://HOST:PORT instead of the home (env MLFAAS_REMOTE)")
          ->type_name("URL");
  app.add_option("--registry", ctx.registry.url,
                 "Registry database: postgres://... (PostgreSQL, shared by several gateways; env "
                 "MLFAAS_REGISTRY), default SQLite under the home")
      ->type_name("URL");
  app.add_option("--blob-dir", ctx.registry.blob_dir,
                 "Package store directory, shared by gateways sharing a registry (env "
                 "MLFAAS_BLOB_DIR, default HOME/blobs)")
      ->type_name("DIR");

  RegisterModelCommands(app, ctx);
  RegisterRegistryCommands(app, ctx);
  RegisterServeCommands(app, ctx);
  RegisterRuntimeCommands(app, ctx);
  RegisterBenchCommands(app, ctx);
  RegisterKeyCommands(app, ctx);
  RegisterLogsCommands(app, ctx);
  RegisterCostCommands(app, ctx);
  RegisterRetrainCommands(app, ctx);
  RegisterExportCommands(app, ctx);
  // After the subcommands, which would inherit it: it is about the options above.
  app.footer(
      "With --remote, requests are signed (AWS SigV4) with MLFAAS_ACCESS_KEY_ID and\n"
      "MLFAAS_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; region\n"
      "MLFAAS_REGION, AWS_REGION or AWS_DEFAULT_REGION (us-east-1). Without a key they go\n"
      "unsigned. --remote '' acts on the home even when MLFAAS_REMOTE is set.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "mlfaas: " << e.what() << " (see --help)\n";
    return 1;
  }
  ctx.home = home.empty() ? DefaultHome() : std::filesystem::path(home);
  if (const char* env = std::getenv("MLFAAS_REGISTRY"); ctx.registry.url.empty() && env) {
    ctx.registry.url = env;
  }
  if (const char* env = std::getenv("MLFAAS_BLOB_DIR"); ctx.registry.blob_dir.empty() && env) {
    ctx.registry.blob_dir = env;
  }
  std::error_code ec;
  ctx.self_exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) ctx.self_exe = argv[0];
  if (!ctx.action) {
    std::cerr << "mlfaas: nothing to do (see --help)\n";
    return 1;
  }
  // The flag outranks the environment; the environment is only a default, so commands that act
  // locally by nature (serve, train, bench...) ignore it, but refuse the flag rather than
  // silently act on the home.
  if (remote_opt->count() > 0) {
    ctx.remote = remote;
    ctx.remote_flag = !remote.empty();
  } else if (const char* env = std::getenv("MLFAAS_REMOTE"); env && *env) {
    ctx.remote = env;
  }
  if (ctx.remote_flag && !ctx.remote_capable) {
    std::cerr << "mlfaas: --remote applies to the function, version, alias, key, audit, logs, "
                 "cost and status commands only\n";
    return 1;
  }
  Status st = ctx.action();
  if (!st.ok()) std::cerr << "mlfaas: " << st.message() << "\n";
  return ExitCodeFor(st);
}

}  // namespace
}  // namespace mlfaas::cli

int main(int argc, char** argv) {
  try {
    return mlfaas::cli::Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mlfaas: internal error: " << e.what() << "\n";
    return 2;
  }
}
