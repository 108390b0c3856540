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

  RegisterModelCommands(app, ctx);
  RegisterRegistryCommands(app, ctx);
  RegisterServeCommands(app, ctx);
  RegisterRuntimeCommands(app, ctx);
  RegisterBenchCommands(app, ctx);
  RegisterKeyCommands(app, ctx);

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
  std::error_code ec;
  ctx.self_exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) ctx.self_exe = argv[0];
  if (!ctx.action) {
    std::cerr << "mlfaas: nothing to do (see --help)\n";
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
