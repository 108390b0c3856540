// Snapshot templates, their inside (model_loading = snapshot; docs/isolation.md, "Snapshots").
//
// A template is a stem cell launched with kSnapshotFdEnv in its environment. It enters its jail
// like any instance, then moves into a user namespace of its own: uid 0 there is the template's
// host uid, its children's host uid maps to itself, 65534 is nobody; it keeps only CAP_SYS_ADMIN,
// CAP_SETUID, CAP_SETGID and CAP_NET_ADMIN, and only over namespaces that user namespace owns.
// It runs the function's init once (loads the model), says so with a T frame, and then forks
// an instance per F frame. Each child gets new mount, pid, network, ipc and uts namespaces, its
// own /proc and /tmp, loopback and its Runtime API listening at 127.0.0.1:9001, says it is ready
// (S frame; the gateway moves it into its cgroups), waits for G, splits into its init and its
// runtime, and the runtime drops to the children's uid with no capabilities, no_new_privs and the
// seccomp filter of every instance before it serves.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "sandbox/jail.h"

namespace mlfaas::sandbox {

// The launch environment entry naming the host uid a template's children run as.
inline constexpr const char* kSnapshotChildUidEnv = "MLFAAS_SNAPSHOT_CHILD_UID";
// The launch environment entry naming libmlfaas-snapshot.so on the host (bound read-only into
// the template's sandbox at kSnapshotLibPath), and the one telling the runtime where it is.
inline constexpr const char* kSnapshotLibHostEnv = "MLFAAS_SNAPSHOT_LIB_HOST";
inline constexpr const char* kSnapshotLibEnv = "MLFAAS_SNAPSHOT_LIB";
inline constexpr const char* kSnapshotLibPath = "/opt/mlfaas/libmlfaas-snapshot.so";

// Instead of EnterJail, for a stem launched as a template. Runs as root; afterwards the process
// is confined in its own user namespace as described above.
// `lib_host_path`: libmlfaas-snapshot.so on the host ("" for none).
Status EnterTemplateJail(const JailEntry& entry, int64_t child_uid,
                         const std::string& lib_host_path);

// After the function's init: sends T (init_us) on `fd` and serves F frames until the gateway
// goes away (then the template exits: never returns there). Returns in each forked child, once
// it is confined: its channel is wire::kWorkerFd, stdout and stderr its own output, the F
// frame's environment applied and kSnapshotFdEnv removed.
Status ServeForks(int fd, int64_t init_us);

}  // namespace mlfaas::sandbox
