#include "sandbox/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace mlfaas::sandbox {
namespace fs = std::filesystem;
namespace {

bool WriteValue(const fs::path& file, const std::string& value) {
  std::ofstream out(file);
  if (!out) return false;
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

std::optional<uint64_t> ReadNumber(const fs::path& file) {
  std::ifstream in(file);
  uint64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

// Our own cgroup path for a v1 controller ("/process_api/abc"), from /proc/self/cgroup.
std::string SelfCgroupV1(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::stringstream ctrls(line.substr(a + 1, b - a - 1));
    std::string c;
    while (std::getline(ctrls, c, ',')) {
      if (c == controller) return line.substr(b + 1);
    }
  }
  return "/";
}

bool MakeWritableDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return !ec && access(dir.c_str(), W_OK) == 0;
}

}  // namespace

int64_t Cgroups::CpuQuotaUs(int memory_mb) {
  return std::max<int64_t>(1000, static_cast<int64_t>(memory_mb) * 100'000 / 1769);
}

Cgroups Cgroups::Detect(const std::string& mode, const fs::path& root) {
  Cgroups c;
  if (mode == "off") {
    c.reason_ = "disabled by --cgroups off";
    return c;
  }
  std::error_code ec;
  if (fs::exists(root / "cgroup.controllers", ec)) {
    fs::path base = root / "mlfaas";
    if (MakeWritableDir(base) && WriteValue(root / "cgroup.subtree_control", "+memory +cpu") &&
        WriteValue(base / "cgroup.subtree_control", "+memory +cpu")) {
      c.version_ = Version::kV2;
      c.memory_base_ = base;
      c.pids_ = WriteValue(root / "cgroup.subtree_control", "+pids") &&
                WriteValue(base / "cgroup.subtree_control", "+pids");
      return c;
    }
    c.reason_ = "cgroup v2 hierarchy not writable";
    return c;
  }
  fs::path mem = root / "memory" / fs::path(SelfCgroupV1("memory")).relative_path() / "mlfaas";
  fs::path cpu = root / "cpu" / fs::path(SelfCgroupV1("cpu")).relative_path() / "mlfaas";
  if (fs::exists(root / "memory" / "memory.limit_in_bytes", ec) && MakeWritableDir(mem) &&
      MakeWritableDir(cpu)) {
    c.version_ = Version::kV1;
    c.memory_base_ = mem;
    c.cpu_base_ = cpu;
    fs::path pids = root / "pids" / fs::path(SelfCgroupV1("pids")).relative_path() / "mlfaas";
    if (fs::exists(root / "pids", ec) && MakeWritableDir(pids)) {
      c.pids_base_ = pids;
      c.pids_ = true;
    }
    return c;
  }
  c.reason_ = "no writable cgroup v1/v2 memory and cpu controllers";
  return c;
}

StatusOr<std::vector<fs::path>> Cgroups::Create(const std::string& id, int memory_mb) const {
  std::vector<fs::path> join;
  if (version_ == Version::kNone) return join;
  std::error_code ec;
  for (const fs::path& base : {memory_base_, cpu_base_, pids_base_}) {
    if (base.empty()) continue;
    fs::create_directory(base / id, ec);
    if (ec) return Internal("cgroup mkdir " + (base / id).string() + ": " + ec.message());
    join.push_back(base / id / "cgroup.procs");
  }
  MLFAAS_RETURN_IF_ERROR(SetLimits(id, memory_mb));
  return join;
}

Status Cgroups::SetLimits(const std::string& id, int memory_mb) const {
  if (version_ == Version::kNone) return Status::Ok();
  const std::string bytes = std::to_string(static_cast<int64_t>(memory_mb) * 1024 * 1024);
  const std::string quota = std::to_string(CpuQuotaUs(memory_mb));
  const fs::path m = memory_base_ / id;
  const std::string pids = std::to_string(kPidsMax);
  if (version_ == Version::kV2) {
    if (!WriteValue(m / "memory.max", bytes) || !WriteValue(m / "cpu.max", quota + " 100000") ||
        (pids_ && !WriteValue(m / "pids.max", pids))) {
      return Internal("cannot set limits in " + m.string());
    }
    return Status::Ok();
  }
  if (!pids_base_.empty() && !WriteValue(pids_base_ / id / "pids.max", pids)) {
    return Internal("cannot set pids.max in " + (pids_base_ / id).string());
  }
  const fs::path c = cpu_base_ / id;
  if (!WriteValue(m / "memory.limit_in_bytes", bytes) ||
      !WriteValue(c / "cpu.cfs_period_us", "100000") ||
      !WriteValue(c / "cpu.cfs_quota_us", quota)) {
    return Internal("cannot set limits in " + m.string() + " / " + c.string());
  }
  return Status::Ok();
}

std::optional<uint64_t> Cgroups::PeakBytes(const std::string& id) const {
  if (version_ == Version::kV1) return ReadNumber(memory_base_ / id / "memory.max_usage_in_bytes");
  if (version_ == Version::kV2) return ReadNumber(memory_base_ / id / "memory.peak");
  return std::nullopt;
}

int Cgroups::OpenPeak(const std::string& id) const {
  fs::path f;
  if (version_ == Version::kV1) f = memory_base_ / id / "memory.max_usage_in_bytes";
  if (version_ == Version::kV2) f = memory_base_ / id / "memory.peak";
  return f.empty() ? -1 : open(f.c_str(), O_RDONLY | O_CLOEXEC);
}

std::optional<uint64_t> Cgroups::ReadPeak(int fd) {
  if (fd < 0) return std::nullopt;
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);  // offset 0: the kernel formats it anew
  if (n <= 0) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, v);
  if (ec != std::errc() || end == buf) return std::nullopt;
  return v;
}

bool Cgroups::OomKilled(const std::string& id) const {
  if (version_ == Version::kNone) return false;
  const fs::path events =
      memory_base_ / id / (version_ == Version::kV2 ? "memory.events" : "memory.oom_control");
  std::ifstream in(events);
  std::string key;
  uint64_t value = 0;
  bool has_oom_kill = false;
  while (in >> key >> value) {
    if (key == "oom_kill") {
      if (value > 0) return true;
      has_oom_kill = true;
    }
  }
  if (version_ == Version::kV1 && !has_oom_kill) {
    return ReadNumber(memory_base_ / id / "memory.failcnt").value_or(0) > 0;
  }
  return false;
}

std::string Cgroups::OwnedId(std::string_view name) {
  return std::to_string(getpid()) + "." + std::string(name);
}

namespace {

// The owner of a group named "<pid>.<name>" (new scheme) or, for groups from before it,
// "stem-<pid>-<n>" and "<function>-<version>-<n>-<pid>". 0 when the name says nothing.
pid_t OwnerOf(const std::string& name) {
  auto digits = [](std::string_view s) -> pid_t {
    if (s.empty() || s.size() > 9) return 0;
    pid_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return 0;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (auto dot = name.find('.'); dot != std::string::npos) return digits(name.substr(0, dot));
  if (name.starts_with("stem-")) {
    auto rest = std::string_view(name).substr(5);
    return digits(rest.substr(0, rest.find('-')));
  }
  if (auto dash = name.rfind('-'); dash != std::string::npos) return digits(name.substr(dash + 1));
  return 0;
}

bool ProcessAlive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Kills every process in the group, then removes it (retrying while the kernel finishes the
// kills). True when the directory is gone.
bool KillAndRemove(const fs::path& dir) {
  std::error_code ec;
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::ifstream procs(dir / "cgroup.procs");
    for (pid_t pid; procs >> pid;) ::kill(pid, SIGKILL);
    if (fs::remove(dir, ec) || !fs::exists(dir, ec)) return true;
    usleep(2000);
  }
  return false;
}

}  // namespace

void Cgroups::Remove(const std::string& id) const {
  if (version_ == Version::kNone) return;
  for (const fs::path& base : {memory_base_, cpu_base_, pids_base_}) {
    if (base.empty()) continue;
    // rmdir (cgroup dirs hold only virtual files). A process that left the environment's
    // process group (setsid) but not its cgroup keeps it busy: it is killed first.
    std::error_code ec;
    if (!fs::remove(base / id, ec) && fs::exists(base / id, ec)) KillAndRemove(base / id);
  }
}

int Cgroups::RemoveStale() const {
  if (version_ == Version::kNone) return 0;
  std::set<std::string> removed;  // a group has a directory per controller
  for (const fs::path& base : {memory_base_, cpu_base_, pids_base_}) {
    if (base.empty()) continue;
    std::error_code ec;
    for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      const std::string name = it->path().filename().string();
      const pid_t owner = OwnerOf(name);
      if (owner <= 0 || owner == getpid() || ProcessAlive(owner)) continue;
      if (KillAndRemove(it->path())) removed.insert(name);
    }
  }
  return static_cast<int>(removed.size());
}

std::optional<uint64_t> ProcessPeakBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream ss(line.substr(6));
      uint64_t kb = 0;
      if (ss >> kb) return kb * 1024;
    }
  }
  return std::nullopt;
}

}  // namespace mlfaas::sandbox
