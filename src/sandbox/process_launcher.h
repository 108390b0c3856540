// Starting worker processes (the OS seam of the instance manager).
//
// ForkExecLauncher uses fork (or clone, for new namespaces) + execve rather than posix_spawn
// because the child must call
// prctl(PR_SET_PDEATHSIG, SIGKILL) — so workers die with the gateway even on SIGKILL (no
// orphans) — and join its cgroup before exec; both are async-signal-safe calls done between
// fork and exec, everything else is prepared before fork. Note PDEATHSIG fires when the forking
// *thread* exits: the gateway forks only from io_context threads and the stem pool's thread
// (stem_pool.h), which live until every worker has been killed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace mlfaas::sandbox {

struct LaunchSpec {
  std::filesystem::path executable;
  std::vector<std::string> args;  // argv[1..]
  std::vector<std::string> env;   // complete environment, "KEY=VALUE"
  std::filesystem::path cwd;
  // Files the child writes its pid to before exec (cgroup.procs of its cgroups).
  std::vector<std::filesystem::path> join_files;
  // An open descriptor the child inherits as wire::kWorkerFd (3) (-1: none): its worker-protocol
  // socket.
  int pass_fd = -1;
  // Start the child in new mount, pid, ipc, uts and network namespaces (it is pid 1 of its own:
  // when it dies, everything it started dies with it).
  bool namespaces = false;
};

// A started child. The caller owns the fds (close them) and must reap the pid.
struct LaunchedProcess {
  pid_t pid = -1;      // also the process group id
  int output_fd = -1;  // read end of the child's stdout+stderr pipe, O_NONBLOCK | O_CLOEXEC
  int pidfd = -1;      // becomes readable when the child exits, O_CLOEXEC
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts the child in its own process group. Fails with the exec error (e.g. NotFound for a
  // missing executable) only once the child is known not to have started.
  virtual StatusOr<LaunchedProcess> Launch(const LaunchSpec& spec) = 0;
};

class ForkExecLauncher final : public ProcessLauncher {
 public:
  StatusOr<LaunchedProcess> Launch(const LaunchSpec& spec) override;
};

// Sends `sig` to the process group `pid` (workers may have children of their own).
void KillGroup(pid_t pid, int sig);

}  // namespace mlfaas::sandbox
