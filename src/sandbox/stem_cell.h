// A stem cell's own side (in mlfaas-runtime, started with MLFAAS_STEM_FD): it prepares its jail
// for its isolation level (MLFAAS_ISOLATION: strict, relaxed or off), tells the gateway it is
// ready with an S frame (carrying the Runtime API's listening socket under strict), waits for its
// L frame, enters the jail, and then either execs the custom runtime's bootstrap (not returning)
// or returns to become the built-in runtime, its environment replaced by the launch's.
// The gateway's side: stem_pool.h.
#pragma once

#include "common/status.h"

namespace mlfaas::sandbox {

// Environment variable naming a stem's isolation level.
inline constexpr const char* kIsolationEnv = "MLFAAS_ISOLATION";

// `fd` is the stem's socket. Returns Ok to run the built-in runtime; an error when the stem
// cannot become the environment (the caller reports it on the socket and exits).
Status RunStemCell(int fd);

}  // namespace mlfaas::sandbox
