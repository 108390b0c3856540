#include "cli/cli.h"

namespace mlfaas::cli {

void RegisterModelCommands(CLI::App& /*app*/, CliContext& /*ctx*/) {}

}  // namespace mlfaas::cli
