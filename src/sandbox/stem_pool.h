// Stem cells: generic worker processes started ahead of demand, each already in a cgroup of its
// own and blocked on its worker-protocol socket. A cold start takes one, sets the function's
// limits on its cgroup and sends it a launch frame (working directory, environment and, for a
// custom runtime, the bootstrap to exec). What stays on the request path is the function's own
// init: loading its model. What leaves it is fork, exec, dynamic loading and joining cgroups —
// the latter costs an RCU grace period on cgroup v1 (milliseconds, tens under load), which a
// background thread now pays. OpenWhisk calls the same idea "prewarm/stem cell containers".
//
// Thread-safety: all public methods are thread-safe. Processes are forked by the pool's own
// thread, which lives until Stop(): PR_SET_PDEATHSIG follows the forking thread, so a stem and
// the instance it becomes die with that thread. Stop() only after every instance is gone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "sandbox/cgroups.h"
#include "sandbox/isolation.h"
#include "sandbox/process_launcher.h"

namespace mlfaas::sandbox {

// A started, waiting stem. Whoever takes it owns its fds and must reap the pid.
struct Stem {
  pid_t pid = -1;
  int output_fd = -1;  // stdout+stderr pipe (read end, non-blocking)
  int pidfd = -1;      // readable when the process exits
  int socket_fd = -1;  // gateway end of the worker-protocol socket (the stem's fd 3)
  int api_fd = -1;     // strict: the Runtime API's listening socket in the stem's network
  std::string cgroup_id;
};

struct StemSpec {
  std::string name;                   // names its cgroup (Cgroups::OwnedId)
  std::filesystem::path runtime_bin;  // mlfaas-runtime
  int memory_mb = 128;                // limits while waiting (reset when taken)
  Isolation isolation = Isolation::kOff;
  // How long its jail may take to be ready (an S frame).
  std::chrono::milliseconds ready_timeout{10000};
};

// Starts a stem (in new namespaces under strict) and waits until it says it is ready. The
// error names what the stem printed when it died instead.
StatusOr<Stem> StartStem(ProcessLauncher& launcher, const Cgroups& cgroups, const StemSpec& spec);
// Kills and reaps the stem, closes its fds and removes its cgroups.
void DestroyStem(const Cgroups& cgroups, Stem& s);

struct StemPoolOptions {
  int size = 2;                       // stems kept ready (0: the pool is off)
  std::filesystem::path runtime_bin;  // mlfaas-runtime
  int memory_mb = 128;                // limits while waiting (reset when taken)
  Isolation isolation = Isolation::kOff;
  std::chrono::milliseconds retry{1000};  // after a failed start
  // Pause before replacing a taken stem while others are still ready.
  std::chrono::milliseconds refill_delay{5};
};

class StemPool {
 public:
  StemPool(ProcessLauncher& launcher, const Cgroups& cgroups, StemPoolOptions options);
  ~StemPool();
  StemPool(const StemPool&) = delete;
  StemPool& operator=(const StemPool&) = delete;

  // Starts the refill thread (no-op when size is 0).
  void Start();
  // A live waiting stem, if one is ready; never blocks. Wakes the refill thread.
  std::optional<Stem> Take();
  // Stops refilling, kills and reaps the waiting stems and removes their cgroups.
  void Stop();
  int Ready() const;
  // Stems started so far (for status and tests).
  int Started() const;
  // Kills and reaps a stem taken from the pool, closes its fds and removes its cgroups.
  void Destroy(Stem& s) const;

 private:
  void Run();
  StatusOr<Stem> Spawn();

  ProcessLauncher& launcher_;
  const Cgroups& cgroups_;
  const StemPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Stem> ready_;
  bool stop_ = false;
  int started_ = 0;
  int next_id_ = 1;
  std::thread thread_;
};

}  // namespace mlfaas::sandbox
