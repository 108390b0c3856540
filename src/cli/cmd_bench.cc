#include "cli/cli.h"

namespace mlfaas::cli {

void RegisterBenchCommands(CLI::App& /*app*/, CliContext& /*ctx*/) {}

}  // namespace mlfaas::cli
