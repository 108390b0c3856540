// Isolation levels of execution environments, the uid range they run as, and what this machine
// offers (for `serve` and `mlfaas doctor`). docs/isolation.md has the threat model.
//
//   strict   everything: an unprivileged uid of its own, no_new_privs, no capabilities, a seccomp
//            filter, cgroups (memory, CPU, pids), and its own mount, pid, ipc, uts and network
//            namespaces: the function's code read-only at /var/task, a private /tmp, the host
//            read-only, the mlfaas home invisible, only loopback.
//   relaxed  the uid, no_new_privs, capabilities, seccomp and cgroups; no namespaces (hosts that
//            lack them).
//   off      a root process in the host's namespaces, no cgroups (debugging only).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::sandbox {

enum class Isolation { kOff = 0, kRelaxed = 1, kStrict = 2 };

const char* IsolationName(Isolation level);
std::optional<Isolation> ParseIsolation(std::string_view name);

// Host uids (and gids, the same numbers) that environments run as, one per live environment.
struct UidRange {
  uid_t first = 100000;
  uid_t last = 165535;
  size_t size() const { return static_cast<size_t>(last - first) + 1; }
};
// "FIRST-LAST", 1 <= FIRST <= LAST < 2^32-1. InvalidArgument otherwise.
StatusOr<UidRange> ParseUidRange(std::string_view text);

// What the machine offers, probed for real: a child is started in fresh namespaces and mounts a
// tmpfs; seccomp is asked for; cgroups are taken as detected by the caller.
struct IsolationProbe {
  bool root = false;        // euid 0: needed to switch uids and to create namespaces
  bool namespaces = false;  // mount, pid, ipc, uts and network namespaces, and mounts in them
  bool seccomp = false;     // seccomp filters (and no_new_privs)
  bool cgroups = false;     // per-environment memory/CPU/pids limits
  std::vector<std::string> missing;  // one line per missing feature, why
  Isolation strongest() const;
};
IsolationProbe ProbeIsolation(bool cgroups_enabled, std::string_view cgroups_reason);

}  // namespace mlfaas::sandbox
