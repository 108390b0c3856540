// The parts of jail.cc that snapshot_cell.cc builds on (not for use beyond src/sandbox).
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "sandbox/jail.h"

namespace mlfaas::sandbox {

// Strict: the code at /var/task, /tmp sized, into the new root, the host's detached, the root
// read-only, the hostname set. Runs as root in the stem's namespaces.
Status EnterStrict(const JailEntry& e);
// Brings up loopback in the caller's network namespace.
Status LoopbackUp();
// The Runtime API's listening socket at kRuntimeApiAddress in the caller's network namespace.
StatusOr<int> ListenRuntimeApi();
// Every capability but those in `keep` (bit n: capability n) out of the bounding set.
Status DropBoundingSet(uint64_t keep = 0);
// A seccomp program compiled by libseccomp ahead of time: loading it is one system call, where
// seccomp_load would generate the program again on the cold start's path (~0.3-0.5 ms here).
struct Filter {
  std::vector<sock_filter> program;
};
// The seccomp deny filter. `for_template`: mount and clone into new mount, pid, network, ipc and
// uts namespaces stay allowed (a template builds each child's jail).
StatusOr<Filter> BuildFilter(bool for_template);
// Loads a filter from BuildFilter into the calling thread (no_new_privs is set first).
Status LoadFilter(const Filter& filter);
// The environment's pid 1 (reaps, relays the runtime's status, runs as nobody).
[[noreturn]] void RunInit(pid_t main);

}  // namespace mlfaas::sandbox
