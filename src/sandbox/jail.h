// The inside of an execution environment: what a stem cell does to itself to become confined
// (the jailer's part; ForkExecLauncher already created its namespaces and put it in its cgroups).
// Runs in mlfaas-runtime, single-threaded, as root, before any function code.
//
// Two steps, so that a stem pays for everything it can before a function is known:
//   PrepareJail (when the stem starts, off the request path)
//     strict: mounts made private; a new root (tmpfs) holding the host's /usr, /etc and the
//     /bin, /lib... links read-only, a new /proc for its pid namespace, a minimal /dev, a /tmp
//     tmpfs; loopback up and the Runtime API's socket listening at 127.0.0.1:9001 inside its
//     network namespace; the seccomp filter compiled; then the stem forks: pid 1 stays behind
//     as the environment's init (reaps orphans, ends with the runtime's status, runs as nobody)
//     and the child goes on to become the runtime.
//     relaxed: the seccomp filter compiled.
//   EnterJail (when the launch frame names the function)
//     strict: the function's code bound read-only at /var/task, /tmp sized to its ephemeral
//     storage, the host's root detached, the root made read-only, hostname set.
//     relaxed and strict: into the code directory; every capability dropped from the bounding
//     set, supplementary groups cleared, the uid and gid switched, no_new_privs, the seccomp
//     filter loaded, PR_SET_PDEATHSIG set again (a uid change clears it).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/status.h"
#include "sandbox/isolation.h"

namespace mlfaas::sandbox {

// Where a confined function's code is mounted, and where its Runtime API listens.
inline constexpr const char* kTaskRoot = "/var/task";
inline constexpr const char* kRuntimeApiAddress = "127.0.0.1:9001";
inline constexpr uint16_t kRuntimeApiPort = 9001;

// Returns the Runtime API's listening socket under strict (-1 otherwise). The caller passes it
// to the gateway and closes its own copy.
StatusOr<int> PrepareJail(Isolation level);

struct JailEntry {
  Isolation level = Isolation::kOff;
  std::string task_dir;  // the function's code (a host path)
  int64_t uid = -1;      // -1: keep (off)
  int64_t gid = -1;
  int64_t tmp_mb = 0;  // strict: /tmp's size (0: as prepared)
};

// After it, the process is confined and its working directory is the code. Nothing of the host
// beyond what PrepareJail chose stays reachable.
Status EnterJail(const JailEntry& entry);

// Where `host_path` (under `task_dir`) is seen from inside a strict jail; unchanged otherwise or
// when it is not under task_dir.
std::string PathInJail(Isolation level, const std::string& task_dir, const std::string& host_path);

// System calls the seccomp filter denies (EPERM), by name. For docs and tests.
const std::vector<std::string>& DeniedSyscalls();

}  // namespace mlfaas::sandbox
