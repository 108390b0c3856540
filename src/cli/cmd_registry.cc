#include "cli/cli.h"

namespace mlfaas::cli {

void RegisterRegistryCommands(CLI::App& /*app*/, CliContext& /*ctx*/) {}

}  // namespace mlfaas::cli
