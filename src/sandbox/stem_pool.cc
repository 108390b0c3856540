#include "sandbox/stem_pool.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/worker_protocol.h"

namespace mlfaas::sandbox {
namespace {

bool Exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

}  // namespace

StemPool::StemPool(ProcessLauncher& launcher, const Cgroups& cgroups, StemPoolOptions options)
    : launcher_(launcher), cgroups_(cgroups), options_(std::move(options)) {}

StemPool::~StemPool() { Stop(); }

void StemPool::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.size <= 0 || thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

std::optional<Stem> StemPool::Take() {
  std::optional<Stem> out;
  std::vector<Stem> dead;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!ready_.empty()) {
      Stem s = ready_.front();
      ready_.pop_front();
      if (Exited(s.pidfd)) {
        dead.push_back(s);
        continue;
      }
      out = s;
      break;
    }
  }
  cv_.notify_all();
  for (auto& s : dead) {
    spdlog::warn("stem cell {} died while waiting", s.pid);
    Destroy(s);
  }
  return out;
}

int StemPool::Ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(ready_.size());
}

int StemPool::Started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

StatusOr<Stem> StemPool::Spawn() {
  Stem s;
  int id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
  }
  s.cgroup_id = Cgroups::OwnedId("stem-" + std::to_string(id));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  LaunchSpec spec;
  spec.executable = options_.runtime_bin;
  const char* path = std::getenv("PATH");
  spec.env = {wire::WorkerFdEntry(wire::kStemFdEnv),
              std::string("PATH=") + (path ? path : "/usr/bin:/bin")};
  spec.cwd = "/";
  spec.pass_fd = sv[1];
  auto join = cgroups_.Create(s.cgroup_id, options_.memory_mb);
  if (join.ok()) {
    spec.join_files = *join;
  } else {
    spdlog::warn("stem cell: {} (runs without limits)", join.status().message());
  }
  auto launched = launcher_.Launch(spec);
  close(sv[1]);
  if (!launched.ok()) {
    close(sv[0]);
    cgroups_.Remove(s.cgroup_id);
    return launched.status();
  }
  s.pid = launched->pid;
  s.output_fd = launched->output_fd;
  s.pidfd = launched->pidfd;
  s.socket_fd = sv[0];
  return s;
}

void StemPool::Destroy(Stem& s) const {
  if (s.pid > 0) {
    KillGroup(s.pid, SIGKILL);
    int st;
    while (waitpid(s.pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  for (int fd : {s.output_fd, s.pidfd, s.socket_fd}) {
    if (fd >= 0) close(fd);
  }
  cgroups_.Remove(s.cgroup_id);
  s = Stem{};
}

void StemPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (static_cast<int>(ready_.size()) >= options_.size) {
      cv_.wait(lock);
      // A stem was just taken: let its launch (the cold start in progress) have the CPU before
      // forking a replacement, unless the pool ran dry.
      if (!ready_.empty()) {
        cv_.wait_for(lock, options_.refill_delay, [this] { return stop_ || ready_.empty(); });
      }
      continue;
    }
    lock.unlock();
    auto stem = Spawn();
    lock.lock();
    if (!stem.ok()) {
      spdlog::warn("stem cell: {} (retrying in {} ms)", stem.status().message(),
                   options_.retry.count());
      cv_.wait_for(lock, options_.retry, [this] { return stop_; });
      continue;
    }
    ++started_;
    ready_.push_back(*stem);
  }
}

void StemPool::Stop() {
  std::deque<Stem> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting.swap(ready_);
  }
  for (auto& s : waiting) Destroy(s);
}

}  // namespace mlfaas::sandbox
