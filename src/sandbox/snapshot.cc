// ProcessSandbox, snapshots: the gateway's side of templates and the instances forked from
// them (the inside: snapshot_cell.h; the design: docs/isolation.md, "Snapshots").
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "common/worker_protocol.h"
#include "sandbox/frame_socket.h"
#include "sandbox/jail.h"
#include "sandbox/sandbox.h"
#include "sandbox/snapshot_cell.h"

namespace mlfaas::sandbox {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

void CloseAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

// Forwards what the template printed (its init line, its errors) to the gateway's log: its
// output pipe must not fill up.
void DrainOutput(int fd, const std::string& name) {
  char buf[4096];
  for (int i = 0; i < 16; ++i) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;
    std::string text(buf, static_cast<size_t>(n));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    spdlog::info("{}: {}", name, text);
  }
}

class ProcessTemplate final : public Template {
 public:
  ProcessTemplate(std::string name, Stem stem, int64_t uid, int64_t child_uid,
                  const Cgroups& cgroups, UidPool& uids)
      : name_(std::move(name)),
        stem_(stem),
        uid_(uid),
        child_uid_(child_uid),
        cgroups_(cgroups),
        uids_(uids),
        reader_(stem.socket_fd) {
    peak_fd_ = cgroups_.OpenPeak(stem_.cgroup_id);
  }

  ~ProcessTemplate() override {
    if (spare_group_) cgroups_.Remove(spare_group_->id);
    DrainOutput(stem_.output_fd, name_);
    if (peak_fd_ >= 0) close(peak_fd_);
    DestroyStem(cgroups_, stem_);  // kills its pid namespace: every child forked from it too
    uids_.Give(static_cast<uid_t>(uid_));
    uids_.Give(static_cast<uid_t>(child_uid_));
  }

  bool Ended() const override { return Readable(stem_.pidfd); }
  int64_t InitMicros() const override { return init_us_.load(); }
  std::optional<uint64_t> PeakBytes() const override {
    return peak_fd_ >= 0 ? Cgroups::ReadPeak(peak_fd_) : std::nullopt;
  }
  int Forks() const override { return forks_.load(); }

  // Forking is one conversation at a time.
  std::mutex mu;

  // Waits for the T frame (once), under mu.
  Status AwaitInit(std::chrono::milliseconds timeout) {
    if (ready_) return Status::Ok();
    if (!failure_.ok()) return failure_;
    auto frame = reader_.Next(timeout, stem_.pidfd);
    DrainOutput(stem_.output_fd, name_);
    if (!frame.ok()) {
      failure_ = Unavailable("snapshot template " + name_ +
                             " did not initialize: " + frame.status().message());
      return failure_;
    }
    if (frame->type == wire::FrameType::kInitError) {
      auto err = wire::DecodeInitError(frame->data);
      failure_ = FailedPrecondition(err ? std::string(err->body) : "malformed init error");
      return failure_;
    }
    auto us = frame->type == wire::FrameType::kTemplateReady
                  ? wire::DecodeTemplateReady(frame->data)
                  : std::nullopt;
    if (!us || !reader_.fds().empty()) {
      failure_ = Unavailable("snapshot template " + name_ + ": unexpected frame");
      return failure_;
    }
    init_us_ = *us;
    ready_ = true;
    return Status::Ok();
  }

  // The next child's cgroups, made ahead (under mu): creating them is ~0.3 ms here, so it is
  // done after a fork, while that child still builds its jail on the other core, not before
  // the next one.
  struct Group {
    std::string id;
    StatusOr<std::vector<std::filesystem::path>> join;
  };
  Group TakeGroup(int memory_mb) {
    if (!spare_group_) PrepareGroup(memory_mb);
    Group g = std::move(*spare_group_);
    spare_group_.reset();
    if (g.join.ok() && memory_mb != spare_memory_mb_) {
      if (Status st = cgroups_.SetLimits(g.id, memory_mb); !st.ok()) g.join = st;
    }
    return g;
  }
  void PrepareGroup(int memory_mb) {
    if (spare_group_) return;
    std::string id = Cgroups::OwnedId(name_ + "-fork-" + std::to_string(++groups_));
    auto join = cgroups_.Create(id, memory_mb);
    spare_group_ = Group{std::move(id), std::move(join)};
    spare_memory_mb_ = memory_mb;
  }

  const Stem& stem() const { return stem_; }
  const std::string& name() const { return name_; }
  void Forked() { ++forks_; }

 private:
  const std::string name_;
  Stem stem_;
  const int64_t uid_;
  const int64_t child_uid_;
  const Cgroups& cgroups_;
  UidPool& uids_;
  FrameReader reader_;
  int peak_fd_ = -1;
  bool ready_ = false;
  Status failure_;
  std::atomic<int64_t> init_us_{0};
  std::atomic<int> forks_{0};
  std::optional<Group> spare_group_;
  int spare_memory_mb_ = 0;
  uint64_t groups_ = 0;
};

}  // namespace

bool ProcessSandbox::SupportsSnapshots() const {
  std::error_code ec;
  return options_.isolation == Isolation::kStrict &&
         std::filesystem::exists(options_.runtime_bin, ec);
}

StatusOr<std::shared_ptr<Template>> ProcessSandbox::StartTemplate(const EnvironmentSpec& spec) {
  if (!SupportsSnapshots()) {
    GiveUid(spec.uid);
    return FailedPrecondition("snapshots need strict isolation");
  }
  auto child_uid = TakeUid();
  if (!child_uid.ok()) {
    GiveUid(spec.uid);
    return child_uid.status();
  }
  std::optional<Stem> stem = stems_ ? stems_->Take() : std::nullopt;
  if (!stem) {
    StemSpec ss;
    ss.name = SafeName(spec.name);
    ss.runtime_bin = options_.runtime_bin;
    ss.memory_mb = spec.memory_mb;
    ss.isolation = options_.isolation;
    auto started = StartStem(launcher_, options_.cgroups, ss);
    if (!started.ok()) {
      GiveUid(spec.uid);
      GiveUid(*child_uid);
      return started.status();
    }
    stem = *started;
  }
  if (stem->api_fd >= 0) close(stem->api_fd);  // a template serves no Runtime API
  stem->api_fd = -1;
  if (Status st = options_.cgroups.SetLimits(stem->cgroup_id, spec.memory_mb); !st.ok()) {
    spdlog::warn("{}: {}", spec.name, st.message());
  }
  const bool become = spec.builtin_runtime && spec.executable == options_.runtime_bin;
  wire::LaunchMsg launch{
      become ? std::string() : spec.executable.string(), spec.cwd.string(), {}, spec.env};
  launch.env.push_back(wire::WorkerFdEntry(wire::kSnapshotFdEnv));
  launch.env.push_back(std::string(kSnapshotChildUidEnv) + "=" + std::to_string(*child_uid));
  // The fork protocol for custom runtimes (libmlfaas-snapshot.so, next to mlfaas-runtime).
  std::error_code ec;
  const auto lib = options_.runtime_bin.parent_path() / "libmlfaas-snapshot.so";
  if (!become && std::filesystem::exists(lib, ec)) {
    launch.env.push_back(std::string(kSnapshotLibHostEnv) + "=" +
                         std::filesystem::weakly_canonical(lib, ec).string());
    launch.env.push_back(std::string(kSnapshotLibEnv) + "=" + kSnapshotLibPath);
  }
  launch.uid = launch.gid = spec.uid;
  launch.tmp_mb = spec.ephemeral_mb;
  std::string frame;
  wire::AppendLaunch(frame, launch);
  auto tmpl = std::make_shared<ProcessTemplate>(SafeName(spec.name), *stem, spec.uid, *child_uid,
                                                options_.cgroups, uids_);
  MLFAAS_RETURN_IF_ERROR(SendWithFds(stem->socket_fd, frame, {}));
  tmpl->PrepareGroup(spec.memory_mb);  // while it initializes
  return std::shared_ptr<Template>(std::move(tmpl));
}

StatusOr<Environment> ProcessSandbox::Fork(Template& base, const EnvironmentSpec& spec,
                                           std::chrono::milliseconds init_timeout) {
  GiveUid(spec.uid);  // it runs as the template's children do
  auto& t = static_cast<ProcessTemplate&>(base);
  std::lock_guard<std::mutex> lock(t.mu);
  MLFAAS_RETURN_IF_ERROR(t.AwaitInit(init_timeout));
  if (t.Ended()) return Unavailable("snapshot template " + t.name() + " ended");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  int one = 1;
  setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);  // the child's pid, checked
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    CloseAll({sv[0], sv[1]});
    return Internal(std::string("pipe: ") + std::strerror(errno));
  }
  Environment env;
  auto group = t.TakeGroup(spec.memory_mb);
  env.cgroup_id = group.id;
  auto& join = group.join;
  if (!join.ok()) spdlog::warn("{}: {} (runs without limits)", spec.name, join.status().message());
  wire::ForkMsg msg{SafeName(spec.name), spec.ephemeral_mb, spec.env};
  std::string frame;
  wire::AppendFork(frame, msg);
  Status sent = SendWithFds(t.stem().socket_fd, frame, {sv[1], out[1]});
  CloseAll({sv[1], out[1]});
  auto fail = [&](const Status& why) {
    CloseAll({sv[0], out[0], env.exit_fd, env.api_fd});
    options_.cgroups.Remove(env.cgroup_id);
    return why;
  };
  if (!sent.ok()) return fail(sent.WithPrefix("snapshot template " + t.name()));
  FrameReader reader(sv[0]);
  auto ready = reader.Next(init_timeout, t.stem().pidfd);
  if (!ready.ok()) {
    DrainOutput(t.stem().output_fd, t.name());
    return fail(ready.status().WithPrefix("forked instance"));
  }
  auto has = ready->type == wire::FrameType::kStemReady ? wire::DecodeStemReady(ready->data)
                                                        : std::nullopt;
  if (!has || !*has || reader.fds().size() != 1 || reader.pid() <= 0) {
    return fail(Unavailable("forked instance: unexpected first frame"));
  }
  env.api_fd = reader.fds()[0];
  reader.fds().clear();
  env.pid = reader.pid();
  // Into its own cgroups before it runs any code of its own (it waits for G).
  if (join.ok()) {
    const std::string pid = std::to_string(env.pid);
    for (const auto& file : *join) {
      const int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
      const bool ok =
          fd >= 0 && write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
      if (fd >= 0) close(fd);
      if (!ok) return fail(Internal("cannot move the forked instance into " + file.string()));
    }
  }
  env.exit_fd = static_cast<int>(syscall(SYS_pidfd_open, env.pid, 0));
  if (env.exit_fd < 0) return fail(Internal(std::string("pidfd_open: ") + std::strerror(errno)));
  std::string go;
  wire::AppendGo(go);
  if (Status st = SendWithFds(sv[0], go, {}); !st.ok()) return fail(st);
  int no = 0;
  setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &no, sizeof no);
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  env.output_fd = out[0];
  if (spec.channel) {
    env.channel_fd = sv[0];
    close(env.api_fd);  // the worker protocol needs no Runtime API
    env.api_fd = -1;
  } else {
    close(sv[0]);
  }
  env.peak_fd = options_.cgroups.OpenPeak(env.cgroup_id);
  t.PrepareGroup(spec.memory_mb);  // the next child's, while this one finishes its jail
  env.signal_as_exit_code = true;
  env.forked = true;
  t.Forked();
  DrainOutput(t.stem().output_fd, t.name());
  return env;
}

}  // namespace mlfaas::sandbox
