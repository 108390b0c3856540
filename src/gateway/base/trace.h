// Tracing headers as AWS X-Ray writes them: what a runtime gets as Lambda-Runtime-Trace-Id.
//   Root=1-<8 hex: epoch seconds>-<24 hex: random>;Parent=<16 hex>;Sampled=<0|1>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/random.h"

namespace mlfaas::gateway {

// A new trace (not sampled) begun at `epoch_ms`.
std::string NewTraceHeader(int64_t epoch_ms, Random& random);

// A caller's X-Amzn-Trace-Id, kept when its Root is well formed: "Root=...;Parent=...;Sampled=.."
// rebuilt from the fields it had (a Parent of 16 hex digits, Sampled 0 or 1; others dropped).
// nullopt for anything else (the caller then gets a new trace), including headers over 256
// bytes.
std::optional<std::string> CallerTraceHeader(std::string_view header);

}  // namespace mlfaas::gateway
