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
#include "sandbox/stem_cell.h"

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
  int id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
  }
  StemSpec spec;
  spec.name = "stem-" + std::to_string(id);
  spec.runtime_bin = options_.runtime_bin;
  spec.memory_mb = options_.memory_mb;
  spec.isolation = options_.isolation;
  return StartStem(launcher_, cgroups_, spec);
}

void StemPool::Destroy(Stem& s) const { DestroyStem(cgroups_, s); }

namespace {

// Up to 4 KiB of what a dead stem printed (its output pipe is non-blocking).
std::string LastWords(int output_fd) {
  char buf[4096];
  ssize_t n = read(output_fd, buf, sizeof buf);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Waits for the stem's S frame (taking the listener that rides along) or its I frame (why it
// cannot start), within `timeout`.
Status AwaitReady(Stem& s, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string buf;
  for (;;) {
    wire::Frame frame;
    auto used = wire::ParseFrame(buf, &frame);
    if (!used.ok()) return used.status();
    if (*used > 0) {
      if (frame.type == wire::FrameType::kInitError) {
        auto err = wire::DecodeInitError(frame.data);
        return Unavailable("stem cell failed: " +
                           (err ? std::string(err->body) : std::string("malformed I frame")));
      }
      auto has = frame.type == wire::FrameType::kStemReady ? wire::DecodeStemReady(frame.data)
                                                           : std::nullopt;
      if (!has || *has != (s.api_fd >= 0) || *used != buf.size()) {
        return Unavailable("stem cell: unexpected first frame");
      }
      return Status::Ok();
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{s.socket_fd, POLLIN, 0};
    int ready = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0)
      return Unavailable("stem cell not ready within " + std::to_string(timeout.count()) + " ms");
    char chunk[512];
    iovec iov{chunk, sizeof chunk};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(s.socket_fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (s.api_fd < 0) {
          s.api_fd = fd;
        } else {
          close(fd);  // only one listener is expected
        }
      }
    }
    if (n <= 0) {
      // Its pipe may hold the reason only once it has exited.
      int st;
      while (waitpid(s.pid, &st, 0) < 0 && errno == EINTR) {
      }
      s.pid = -1;
      std::string words = LastWords(s.output_fd);
      return Unavailable("stem cell exited before it was ready" +
                         (words.empty() ? std::string() : ": " + words));
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

StatusOr<Stem> StartStem(ProcessLauncher& launcher, const Cgroups& cgroups, const StemSpec& spec) {
  Stem s;
  s.cgroup_id = Cgroups::OwnedId(spec.name);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  LaunchSpec ls;
  ls.executable = spec.runtime_bin;
  const char* path = std::getenv("PATH");
  ls.env = {wire::WorkerFdEntry(wire::kStemFdEnv),
            std::string(kIsolationEnv) + "=" + IsolationName(spec.isolation),
            std::string("PATH=") + (path ? path : "/usr/bin:/bin")};
  // Sanitizer builds of the worker: where the sanitizers' options come from.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) ls.env.push_back(std::string(name) + "=" + v);
  }
  ls.cwd = "/";
  ls.pass_fd = sv[1];
  ls.namespaces = spec.isolation == Isolation::kStrict;
  // Prepared under the waiting limits' CPU quota: a stem refilling in the background must not
  // take the CPU from the cold start that took the last one (in one run without the quota, the
  // cold start's p99 rose from 13 to 20 ms). The function's limits come with its launch frame.
  auto join = cgroups.Create(s.cgroup_id, spec.memory_mb);  // none when cgroups are off
  if (join.ok()) {
    ls.join_files = *join;
  } else if (spec.isolation == Isolation::kStrict) {
    close(sv[0]);
    close(sv[1]);
    return Unavailable("stem cell: " + join.status().message() +
                       " (strict isolation needs cgroups)");
  } else {
    spdlog::warn("stem cell: {} (runs without limits)", join.status().message());
  }
  auto launched = launcher.Launch(ls);
  close(sv[1]);
  if (!launched.ok()) {
    close(sv[0]);
    cgroups.Remove(s.cgroup_id);
    return launched.status();
  }
  s.pid = launched->pid;
  s.output_fd = launched->output_fd;
  s.pidfd = launched->pidfd;
  s.socket_fd = sv[0];
  if (Status ready = AwaitReady(s, spec.ready_timeout); !ready.ok()) {
    DestroyStem(cgroups, s);
    return ready;
  }
  return s;
}

void DestroyStem(const Cgroups& cgroups, Stem& s) {
  if (s.pid > 0) {
    KillGroup(s.pid, SIGKILL);
    int st;
    while (waitpid(s.pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  for (int fd : {s.output_fd, s.pidfd, s.socket_fd, s.api_fd}) {
    if (fd >= 0) close(fd);
  }
  cgroups.Remove(s.cgroup_id);
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
