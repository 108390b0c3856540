// The sandbox: "start an environment with these limits". What the gateway's pool asks of the
// operating system, behind one small interface, so the pool is testable with a fake and the
// isolation work (namespaces, uids, seccomp) lands here without touching it.
//
// ProcessSandbox is the real one: an environment is a worker process in its own process group,
// killed with the gateway (PDEATHSIG), in its own cgroups (memory, CPU proportional to memory,
// pids), confined at its isolation level (isolation.h: its own uid, no capabilities, seccomp,
// and under strict its own namespaces and root; jail.h), started from a stem cell: one waiting in
// the pool, or one started for it there and then. With isolation off, without stems, it is a
// plain fork/exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sandbox/cgroups.h"
#include "sandbox/isolation.h"
#include "sandbox/process_launcher.h"
#include "sandbox/stem_pool.h"
#include "sandbox/uid_pool.h"

namespace mlfaas::sandbox {

// What to start, with which limits.
struct EnvironmentSpec {
  // Unique among live environments: letters, digits, '-' and '_' (others become '_'). Names the
  // environment's cgroup.
  std::string name;
  // The runtime binary, or a custom runtime's bootstrap.
  std::filesystem::path executable;
  // `executable` is the built-in runtime: a stem cell becomes it without an exec (when it is the
  // stems' own executable).
  bool builtin_runtime = false;
  // Give the worker a worker-protocol socket as fd wire::kWorkerFd.
  bool channel = false;
  // The function's code: an absolute path without symlinks (a confined stem reaches it by this
  // path from inside its own mount namespace and binds it at /var/task).
  std::filesystem::path cwd;
  std::vector<std::string> env;  // the complete environment, "KEY=VALUE"
  int memory_mb = 128;
  int ephemeral_mb = 512;  // strict: the size of its /tmp
  // The identity it runs as, from Sandbox::TakeUid (-1 at isolation off). Start owns it from
  // then on: it gives it back when it fails, Release after the environment ended.
  int64_t uid = -1;
};

// A started environment. The caller owns the descriptors, reaps `pid`, and calls
// Sandbox::Release once the process has exited.
struct Environment {
  pid_t pid = -1;       // also its process group (KillGroup)
  int output_fd = -1;   // stdout+stderr, read end, non-blocking
  int exit_fd = -1;     // pidfd: readable when the process exits
  int channel_fd = -1;  // the gateway's end of the worker socket; -1: none. A stem cell always
                        // has one (a custom runtime's exec closes the worker's end: EOF).
  int peak_fd = -1;     // the cgroup's peak-memory file for Cgroups::ReadPeak; -1: none
  int api_fd = -1;      // strict, HTTP Runtime API: the socket listening at RuntimeApiAddress()
                        // inside the environment's network; the caller serves and closes it
  int64_t uid = -1;     // the identity it runs as (-1: the gateway's)
  // `pid` is the environment's init (strict): it ends with 128+S when the runtime dies of
  // signal S.
  bool signal_as_exit_code = false;
  std::string cgroup_id;
  bool from_stem = false;
  // Forked from a snapshot template: its parent is the template, which reaps it; `exit_fd`
  // tells its end, the exit status is not known here.
  bool forked = false;
};

// A snapshot template (model_loading = snapshot): one per published version, initialized once,
// forking an instance per cold start (sandbox/snapshot_cell.h has its inside). Owned through
// the shared_ptr Sandbox::StartTemplate returns; destroying the last reference kills it (and
// with it every instance forked from it, which live in pid namespaces nested in its own).
class Template {
 public:
  virtual ~Template() = default;
  // Whether its process ended (it cannot fork any more).
  virtual bool Ended() const = 0;
  // Its init duration (microseconds) once it said it is ready; 0 before.
  virtual int64_t InitMicros() const = 0;
  // Its peak memory in bytes (its cgroup: the pages its children share copy-on-write stay
  // charged to it), when known.
  virtual std::optional<uint64_t> PeakBytes() const = 0;
  virtual int Forks() const = 0;
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // A uid no live environment has, for EnvironmentSpec::uid (-1 at isolation off), known before
  // the environment starts (e.g. to admit only it to a Runtime API). ResourceExhausted when the
  // range is used up. GiveUid returns one that was never passed to Start.
  virtual StatusOr<int64_t> TakeUid() = 0;
  virtual void GiveUid(int64_t uid) = 0;
  // Starts an environment. Blocking work (fork, exec, cgroup writes): never call it under a lock
  // others wait on.
  virtual StatusOr<Environment> Start(const EnvironmentSpec& spec) = 0;
  // After the process was reaped: whether the kernel's OOM killer ended it.
  virtual bool OomKilled(const Environment& env) const = 0;
  // Releases what Start set up besides the caller's descriptors: the peak descriptor, the
  // cgroups. Idempotent.
  virtual void Release(Environment& env) = 0;
  // Stem cells waiting (for status).
  virtual int StemsReady() const = 0;
  // Snapshots: whether templates can be made here (strict isolation with stem cells' runtime).
  virtual bool SupportsSnapshots() const { return false; }
  // Starts the template of a version: `spec` as for Start (its uid is taken over; the template
  // takes a second one for its children). It initializes in the background.
  virtual StatusOr<std::shared_ptr<Template>> StartTemplate(const EnvironmentSpec& spec) {
    GiveUid(spec.uid);
    return FailedPrecondition("snapshots are not supported here");
  }
  // An environment forked from `t` (waiting up to `init_timeout` for its init first): `spec`
  // gives its name, limits and environment; its uid is given back (it runs as the template's
  // children do). Blocking: never under a lock others wait on.
  virtual StatusOr<Environment> Fork(Template& t, const EnvironmentSpec& spec,
                                     std::chrono::milliseconds init_timeout) {
    (void)t;
    (void)init_timeout;
    GiveUid(spec.uid);
    return FailedPrecondition("snapshots are not supported here");
  }
  virtual Isolation isolation() const = 0;
  // LAMBDA_TASK_ROOT: where an environment sees the code at `code_dir`.
  virtual std::filesystem::path TaskRoot(const std::filesystem::path& code_dir) const = 0;
  // Where an environment reaches its HTTP Runtime API when it has a network of its own (each
  // Environment then brings its listener, api_fd); nullopt: the caller listens on the host's
  // loopback and names that address.
  virtual std::optional<std::string> RuntimeApiAddress() const = 0;
};

struct ProcessSandboxOptions {
  Cgroups cgroups;
  int stem_cells = 0;                 // stem cells kept ready (0: none)
  std::filesystem::path runtime_bin;  // what stem cells run (mlfaas-runtime)
  Isolation isolation = Isolation::kOff;
  UidRange uids;
};

class ProcessSandbox final : public Sandbox {
 public:
  // `launcher` must outlive the sandbox. Starts the stem pool when stem_cells > 0 and
  // runtime_bin exists.
  ProcessSandbox(ProcessLauncher& launcher, ProcessSandboxOptions options);
  // Kills the waiting stem cells. Environments already started are the caller's.
  ~ProcessSandbox() override;
  ProcessSandbox(const ProcessSandbox&) = delete;
  ProcessSandbox& operator=(const ProcessSandbox&) = delete;

  StatusOr<int64_t> TakeUid() override;
  void GiveUid(int64_t uid) override;
  StatusOr<Environment> Start(const EnvironmentSpec& spec) override;
  bool OomKilled(const Environment& env) const override;
  void Release(Environment& env) override;
  int StemsReady() const override;
  bool SupportsSnapshots() const override;
  StatusOr<std::shared_ptr<Template>> StartTemplate(const EnvironmentSpec& spec) override;
  StatusOr<Environment> Fork(Template& t, const EnvironmentSpec& spec,
                             std::chrono::milliseconds init_timeout) override;
  Isolation isolation() const override { return options_.isolation; }
  std::filesystem::path TaskRoot(const std::filesystem::path& code_dir) const override;
  std::optional<std::string> RuntimeApiAddress() const override;
  size_t UidsInUse() const { return uids_.InUse(); }

 private:
  // A waiting stem becomes the environment: its limits, then its launch frame. Fails (and the
  // stem is destroyed) when the stem died meanwhile.
  StatusOr<Environment> FromStem(Stem stem, const EnvironmentSpec& spec);
  StatusOr<Environment> StartWithUid(const EnvironmentSpec& spec);
  StatusOr<Environment> Launch(const EnvironmentSpec& spec);

  ProcessLauncher& launcher_;
  const ProcessSandboxOptions options_;
  UidPool uids_;
  std::unique_ptr<StemPool> stems_;
};

// `name` with every character other than letters, digits, '-' and '_' replaced by '_'.
std::string SafeName(std::string name);

}  // namespace mlfaas::sandbox
