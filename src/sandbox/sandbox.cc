#include "sandbox/sandbox.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/worker_protocol.h"
#include "sandbox/jail.h"

namespace mlfaas::sandbox {
namespace {

// Writes all of `bytes` to a blocking socket. The launch frame is small (the environment) and
// the socket fresh, so this does not wait; false when the stem is gone (EPIPE).
bool WriteAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string SafeName(std::string name) {
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return name;
}

ProcessSandbox::ProcessSandbox(ProcessLauncher& launcher, ProcessSandboxOptions options)
    : launcher_(launcher), options_(std::move(options)), uids_(options_.uids) {
  std::error_code ec;
  if (options_.stem_cells > 0 && std::filesystem::exists(options_.runtime_bin, ec)) {
    StemPoolOptions so;
    so.size = options_.stem_cells;
    so.runtime_bin = options_.runtime_bin;
    so.isolation = options_.isolation;
    stems_ = std::make_unique<StemPool>(launcher_, options_.cgroups, so);
    stems_->Start();
  }
}

ProcessSandbox::~ProcessSandbox() {
  if (stems_) stems_->Stop();
}

int ProcessSandbox::StemsReady() const { return stems_ ? stems_->Ready() : 0; }

std::filesystem::path ProcessSandbox::TaskRoot(const std::filesystem::path& code_dir) const {
  return options_.isolation == Isolation::kStrict ? std::filesystem::path(kTaskRoot) : code_dir;
}

std::optional<std::string> ProcessSandbox::RuntimeApiAddress() const {
  if (options_.isolation == Isolation::kStrict) return std::string(kRuntimeApiAddress);
  return std::nullopt;
}

StatusOr<int64_t> ProcessSandbox::TakeUid() {
  if (options_.isolation == Isolation::kOff) return int64_t{-1};
  std::optional<uid_t> taken = uids_.Take();
  if (!taken) {
    return ResourceExhausted("no free uid in the range " + std::to_string(options_.uids.first) +
                             "-" + std::to_string(options_.uids.last) +
                             " (one per live environment)");
  }
  return int64_t{*taken};
}

void ProcessSandbox::GiveUid(int64_t uid) {
  if (uid >= 0) uids_.Give(static_cast<uid_t>(uid));
}

StatusOr<Environment> ProcessSandbox::Start(const EnvironmentSpec& spec) {
  auto env = StartWithUid(spec);
  if (!env.ok()) GiveUid(spec.uid);  // its identity is free again: nothing runs as it
  return env;
}

StatusOr<Environment> ProcessSandbox::StartWithUid(const EnvironmentSpec& spec) {
  if (options_.isolation != Isolation::kOff && spec.uid < 0) {
    return InvalidArgument(spec.name + ": a confined environment needs a uid (TakeUid)");
  }
  if (auto stem = stems_ ? stems_->Take() : std::nullopt) {
    auto env = FromStem(*stem, spec);
    if (env.ok()) return env;
    spdlog::warn("{}: {} (starting it without a waiting stem cell)", spec.name,
                 env.status().message());
  }
  if (options_.isolation == Isolation::kOff) return Launch(spec);
  // Confined environments always start as stem cells: the jail is the stem's work.
  StemSpec ss;
  ss.name = SafeName(spec.name);
  ss.runtime_bin = options_.runtime_bin;
  ss.memory_mb = spec.memory_mb;
  ss.isolation = options_.isolation;
  MLFAAS_ASSIGN_OR_RETURN(Stem stem, StartStem(launcher_, options_.cgroups, ss));
  return FromStem(stem, spec);
}

StatusOr<Environment> ProcessSandbox::FromStem(Stem stem, const EnvironmentSpec& spec) {
  const Isolation level = options_.isolation;
  const int64_t uid = level == Isolation::kOff ? -1 : spec.uid;
  if (Status st = options_.cgroups.SetLimits(stem.cgroup_id, spec.memory_mb); !st.ok()) {
    spdlog::warn("{}: {}", spec.name, st.message());
  }
  // The stem is mlfaas-runtime: the built-in runtime needs no exec. Anything else is exec'd,
  // and seen inside a strict jail only when it is part of the code.
  const bool become = spec.builtin_runtime && spec.executable == options_.runtime_bin;
  wire::LaunchMsg launch{
      become ? std::string() : spec.executable.string(), spec.cwd.string(), {}, spec.env};
  launch.uid = launch.gid = uid;
  launch.tmp_mb = level == Isolation::kStrict ? spec.ephemeral_mb : 0;
  std::string frame;
  wire::AppendLaunch(frame, launch);
  if (!WriteAll(stem.socket_fd, frame)) {
    const std::string why = std::string("stem cell gone: ") + std::strerror(errno);
    DestroyStem(options_.cgroups, stem);
    return Unavailable(why);
  }
  Environment env;
  env.pid = stem.pid;
  env.output_fd = stem.output_fd;
  env.exit_fd = stem.pidfd;
  env.channel_fd = stem.socket_fd;
  env.cgroup_id = stem.cgroup_id;
  env.peak_fd = options_.cgroups.OpenPeak(env.cgroup_id);
  env.from_stem = true;
  env.uid = uid;
  env.signal_as_exit_code = level == Isolation::kStrict;
  if (spec.channel) {
    if (stem.api_fd >= 0) close(stem.api_fd);  // the worker protocol needs no Runtime API
  } else {
    env.api_fd = stem.api_fd;
  }
  return env;
}

StatusOr<Environment> ProcessSandbox::Launch(const EnvironmentSpec& spec) {
  Environment env;
  env.cgroup_id = Cgroups::OwnedId(SafeName(spec.name));
  LaunchSpec ls;
  auto join = options_.cgroups.Create(env.cgroup_id, spec.memory_mb);
  if (join.ok()) {
    ls.join_files = *join;
  } else {
    spdlog::warn("{}: {} (runs without limits)", spec.name, join.status().message());
  }
  ls.executable = spec.executable;
  ls.cwd = spec.cwd;
  ls.env = spec.env;
  int sv[2] = {-1, -1};
  if (spec.channel && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    options_.cgroups.Remove(env.cgroup_id);
    return Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  ls.pass_fd = sv[1];
  auto launched = launcher_.Launch(ls);
  if (sv[1] >= 0) close(sv[1]);
  if (!launched.ok()) {
    if (sv[0] >= 0) close(sv[0]);
    options_.cgroups.Remove(env.cgroup_id);
    return launched.status();
  }
  env.pid = launched->pid;
  env.output_fd = launched->output_fd;
  env.exit_fd = launched->pidfd;
  env.channel_fd = sv[0];
  env.peak_fd = options_.cgroups.OpenPeak(env.cgroup_id);
  return env;
}

bool ProcessSandbox::OomKilled(const Environment& env) const {
  return options_.cgroups.OomKilled(env.cgroup_id);
}

void ProcessSandbox::Release(Environment& env) {
  if (env.peak_fd >= 0) close(env.peak_fd);
  env.peak_fd = -1;
  if (!env.cgroup_id.empty()) options_.cgroups.Remove(env.cgroup_id);
  env.cgroup_id.clear();
  // Its processes are gone (the caller reaped its pid 1, or its group was killed): the uid is
  // free again.
  if (env.uid >= 0) uids_.Give(static_cast<uid_t>(env.uid));
  env.uid = -1;
}

}  // namespace mlfaas::sandbox
