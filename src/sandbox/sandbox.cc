#include "sandbox/sandbox.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/worker_protocol.h"

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
    : launcher_(launcher), options_(std::move(options)) {
  std::error_code ec;
  if (options_.stem_cells > 0 && std::filesystem::exists(options_.runtime_bin, ec)) {
    StemPoolOptions so;
    so.size = options_.stem_cells;
    so.runtime_bin = options_.runtime_bin;
    stems_ = std::make_unique<StemPool>(launcher_, options_.cgroups, so);
    stems_->Start();
  }
}

ProcessSandbox::~ProcessSandbox() {
  if (stems_) stems_->Stop();
}

int ProcessSandbox::StemsReady() const { return stems_ ? stems_->Ready() : 0; }

StatusOr<Environment> ProcessSandbox::Start(const EnvironmentSpec& spec) {
  if (auto stem = stems_ ? stems_->Take() : std::nullopt) {
    auto env = FromStem(*stem, spec);
    if (env.ok()) return env;
    spdlog::warn("{}: {} (starting it without a stem cell)", spec.name, env.status().message());
  }
  return Launch(spec);
}

StatusOr<Environment> ProcessSandbox::FromStem(Stem stem, const EnvironmentSpec& spec) {
  if (Status st = options_.cgroups.SetLimits(stem.cgroup_id, spec.memory_mb); !st.ok()) {
    spdlog::warn("{}: {}", spec.name, st.message());
  }
  std::string frame;
  wire::AppendLaunch(frame, {spec.builtin_runtime ? std::string() : spec.executable.string(),
                             spec.cwd.string(),
                             {},
                             spec.env});
  if (!WriteAll(stem.socket_fd, frame)) {
    const std::string why = std::string("stem cell gone: ") + std::strerror(errno);
    stems_->Destroy(stem);
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
}

}  // namespace mlfaas::sandbox
