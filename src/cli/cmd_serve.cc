#include "cli/cli.h"

namespace mlfaas::cli {

void RegisterServeCommands(CLI::App& /*app*/, CliContext& /*ctx*/) {}

}  // namespace mlfaas::cli
