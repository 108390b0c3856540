#include "cli/cli.h"

namespace mlfaas::cli {

void RegisterRuntimeCommands(CLI::App& /*app*/, CliContext& /*ctx*/) {}

}  // namespace mlfaas::cli
