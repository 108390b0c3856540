// Per-instance resource limits through Linux cgroups: memory limit = the function's memory size,
// CPU quota = memory_mb / 1769 of one CPU per 100 ms period (Lambda's proportional CPU), and
// at most kPidsMax processes and threads (the pids controller, where there is one).
//
// v2 (unified, /sys/fs/cgroup/cgroup.controllers): <root>/mlfaas/<id> with memory.max, cpu.max.
// v1: <memory mount>/<our cgroup>/mlfaas/<id> (memory.limit_in_bytes) and
//     <cpu mount>/<our cgroup>/mlfaas/<id> (cpu.cfs_period_us / cpu.cfs_quota_us).
// When neither is writable (or mode "off") every call is a no-op and the gateway logs once
// "cgroups unavailable: limits not enforced". Thread-safe (stateless after construction).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::sandbox {

class Cgroups {
 public:
  enum class Version { kNone, kV1, kV2 };

  // mode: "auto" (probe, fall back to none) | "off". `fs_root` is a test seam.
  static Cgroups Detect(const std::string& mode,
                        const std::filesystem::path& fs_root = "/sys/fs/cgroup");

  Version version() const { return version_; }
  bool enabled() const { return version_ != Version::kNone; }
  // The pids controller too: pids.max = kPidsMax per group (a fork bomb stays inside).
  bool pids() const { return pids_; }
  // Lambda's limit on processes and threads in one execution environment.
  static constexpr int kPidsMax = 1024;
  const std::string& reason() const { return reason_; }

  // Creates the instance's groups with limits. Returns the cgroup.procs files the child must
  // write its pid to (empty when disabled).
  StatusOr<std::vector<std::filesystem::path>> Create(const std::string& id, int memory_mb) const;
  // (Re)sets the limits of existing groups: a stem cell's group when it becomes an instance.
  Status SetLimits(const std::string& id, int memory_mb) const;
  // Peak memory of the group in bytes, when known.
  std::optional<uint64_t> PeakBytes(const std::string& id) const;
  // A descriptor of the group's peak-memory file for ReadPeak (-1 when disabled or absent).
  // The caller owns it.
  int OpenPeak(const std::string& id) const;
  // The peak, read fresh through a descriptor from OpenPeak (one pread).
  static std::optional<uint64_t> ReadPeak(int fd);
  // Whether the kernel's OOM killer killed a process of the group (v1 memory.oom_control /
  // v2 memory.events "oom_kill N"; on older v1 kernels: the limit was hit, memory.failcnt).
  bool OomKilled(const std::string& id) const;
  // Removes the groups (after the process exited). Best effort.
  void Remove(const std::string& id) const;
  // Group ids are "<owner pid>.<name>". Removes the groups left behind by gateways that are gone
  // (crashed or killed): kills whatever still runs in them, then removes them. Groups of live
  // gateways (other pids) are left alone. Returns how many were removed.
  int RemoveStale() const;
  // The id for a group named `name` owned by this process.
  static std::string OwnedId(std::string_view name);

  // CPU quota in microseconds per 100 ms period for `memory_mb` (>= 1 ms).
  static int64_t CpuQuotaUs(int memory_mb);

 private:
  Version version_ = Version::kNone;
  std::string reason_;
  std::filesystem::path memory_base_;  // v1 memory dir or v2 dir holding instance groups
  std::filesystem::path cpu_base_;     // v1 cpu dir (empty for v2)
  std::filesystem::path pids_base_;    // v1 pids dir (empty for v2 or without the controller)
  bool pids_ = false;
};

// Peak resident memory of a live process (VmHWM from /proc/<pid>/status), in bytes.
std::optional<uint64_t> ProcessPeakBytes(int pid);

}  // namespace mlfaas::sandbox
