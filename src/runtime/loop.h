// The worker's main loop: next -> handle -> response|error, until the Runtime API goes away.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "runtime/invocation.h"
#include "runtime/transport.h"

namespace mlfaas::runtime {

struct LoopOptions {
  // Stop after this many invocations (0 = unbounded). For tests and benches.
  uint64_t max_invocations = 0;
};

struct LoopStats {
  uint64_t invocations = 0;  // invocations handed to the handler
  uint64_t errors = 0;       // of which answered with a function error
};

// Runs until Next() fails, a post fails with kUnavailable, the handler returns a fatal error, or
// max_invocations is reached. Returns the status that ended the loop (OK only for
// max_invocations). Posts that fail with other codes are reported on stderr and skipped.
// `stats` (optional) is updated as the loop runs.
Status RunLoop(RuntimeTransport& transport, const Handler& handler, const LoopOptions& options = {},
               LoopStats* stats = nullptr);

}  // namespace mlfaas::runtime
