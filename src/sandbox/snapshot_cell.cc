#include "sandbox/snapshot_cell.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/worker_protocol.h"
#include "sandbox/frame_socket.h"
#include "sandbox/jail_internal.h"

namespace mlfaas::sandbox {
namespace {

// Inside the template's user namespace: 0 is the template's own host uid; its children's host
// uid maps to itself (an instance sees the uid the host sees, as a stem cell's does); nobody
// (each child's init) is the host's nobody.
constexpr uid_t kTemplateId = 0;
constexpr uid_t kNobody = 65534;
// How long a template waits, after a fork or its init, before it prepares the next child's
// network namespace.
constexpr std::chrono::milliseconds kSpareDelay(20);
// The children's uid, from kSnapshotChildUidEnv.
uid_t g_child_uid = 0;

constexpr uint64_t Cap(int n) { return uint64_t{1} << n; }
constexpr uint64_t kTemplateCaps =
    Cap(CAP_SYS_ADMIN) | Cap(CAP_SETUID) | Cap(CAP_SETGID) | Cap(CAP_NET_ADMIN) | Cap(CAP_SETPCAP);

Status SnapshotErrno(const std::string& what) {
  return FailedPrecondition("snapshot: " + what + ": " + std::strerror(errno));
}

// Writes a user namespace's id maps: the template's, its children's and nobody.
bool WriteMaps(pid_t pid, int64_t template_uid, int64_t child_uid) {
  const std::string map = "0 " + std::to_string(template_uid) + " 1\n" + std::to_string(child_uid) +
                          " " + std::to_string(child_uid) + " 1\n" + std::to_string(kNobody) + " " +
                          std::to_string(kNobody) + " 1\n";
  for (const char* file : {"uid_map", "gid_map"}) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = write(fd, map.data(), map.size()) == static_cast<ssize_t>(map.size());
    close(fd);
    if (!ok) return false;
  }
  return true;
}

// Effective, permitted and inheritable sets limited to `caps`.
Status KeepCaps(uint64_t caps) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    const auto word = static_cast<uint32_t>(caps >> (32 * i));
    data[i].effective = data[i].permitted = word;
  }
  if (syscall(SYS_capset, &hdr, data) != 0) return SnapshotErrno("capset");
  return Status::Ok();
}

// The child filter, compiled in the template (before any fork) and loaded by each child.
std::optional<Filter> g_child_filter;

// Environment strings must outlive the process image.
std::vector<std::string>& ChildEnv() {
  static std::vector<std::string> env;
  return env;
}

// A network namespace made ahead of the next fork (creating one is the costliest step of a
// fork): loopback up and the Runtime API listening, nothing else. Not an instance: no process
// lives in it until a child enters it.
struct SpareNet {
  int ns = -1;
  int listener = -1;
  void Close() {
    if (ns >= 0) close(ns);
    if (listener >= 0) close(listener);
    ns = listener = -1;
  }
};

// The template steps into a new network namespace, prepares it, keeps a descriptor of it and
// steps back.
StatusOr<SpareNet> PrepareNet() {
  const int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0) return SnapshotErrno("open the template's network namespace");
  SpareNet spare;
  Status st =
      unshare(CLONE_NEWNET) == 0 ? Status::Ok() : SnapshotErrno("unshare a network namespace");
  if (st.ok()) st = LoopbackUp();
  if (st.ok()) {
    auto listener = ListenRuntimeApi();
    if (listener.ok()) {
      spare.listener = *listener;
    } else {
      st = listener.status();
    }
  }
  if (st.ok()) {
    spare.ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (spare.ns < 0) st = SnapshotErrno("open the new network namespace");
  }
  // Back into its own, whatever happened: the template never serves from a spare.
  if (setns(own, CLONE_NEWNET) != 0 && st.ok())
    st = SnapshotErrno("return to the template's network");
  close(own);
  if (!st.ok()) {
    spare.Close();
    return st;
  }
  return spare;
}

// In a forked child, before any of its own code: the rest of its confinement (see the header).
Status BecomeChild(const wire::ForkMsg& msg, int template_fd, int channel, int output,
                   SpareNet net) {
  close(template_fd);
  if (dup2(output, 1) < 0 || dup2(output, 2) < 0) return SnapshotErrno("dup2 output");
  close(output);
  if (channel != wire::kWorkerFd) {
    if (dup2(channel, wire::kWorkerFd) < 0) return SnapshotErrno("dup2 channel");
    close(channel);
  }
  fcntl(wire::kWorkerFd, F_SETFD, 0);  // kept across a custom runtime's exec, as a stem's is
  setsid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return SnapshotErrno("mount /proc");
  }
  const std::string tmp =
      "mode=1777,size=" + std::to_string(msg.tmp_mb > 0 ? msg.tmp_mb : 512) + "m";
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp.c_str()) != 0) {
    return SnapshotErrno("mount /tmp");
  }
  int listener = net.listener;
  if (net.ns >= 0) {  // the network namespace prepared ahead
    if (setns(net.ns, CLONE_NEWNET) != 0) return SnapshotErrno("enter its network namespace");
    close(net.ns);
  } else {  // none was ready: one of its own now
    if (unshare(CLONE_NEWNET) != 0) return SnapshotErrno("unshare a network namespace");
    MLFAAS_RETURN_IF_ERROR(LoopbackUp());
    MLFAAS_ASSIGN_OR_RETURN(listener, ListenRuntimeApi());
  }
  std::string ready;
  wire::AppendStemReady(ready, true);
  Status sent = SendWithFds(wire::kWorkerFd, ready, {listener});
  close(listener);
  MLFAAS_RETURN_IF_ERROR(sent);
  {
    FrameReader reader(wire::kWorkerFd);
    MLFAAS_ASSIGN_OR_RETURN(wire::Frame go, reader.Next(std::chrono::milliseconds(30'000)));
    if (go.type != wire::FrameType::kGo || !reader.fds().empty()) {
      return InvalidArgument("snapshot: expected a go frame");
    }
  }
  // Pid 1 of the new pid namespace stays behind as the environment's init.
  const pid_t runtime = fork();
  if (runtime < 0) return SnapshotErrno("fork the environment's init");
  if (runtime > 0) RunInit(runtime);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  MLFAAS_RETURN_IF_ERROR(DropBoundingSet());
  if (setgroups(0, nullptr) != 0) return SnapshotErrno("setgroups");
  const uid_t id = g_child_uid;
  if (setresgid(id, id, id) != 0) return SnapshotErrno("setresgid");
  if (setresuid(id, id, id) != 0) return SnapshotErrno("setresuid");
  if (setuid(kTemplateId) == 0) return FailedPrecondition("snapshot: could regain uid 0");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return SnapshotErrno("no_new_privs");
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // cleared by the uid change
  MLFAAS_RETURN_IF_ERROR(LoadFilter(*g_child_filter));
  unsetenv(wire::kSnapshotFdEnv);
  unsetenv(kSnapshotChildUidEnv);
  auto& env = ChildEnv();
  env = msg.env;
  for (auto& e : env) {
    if (e.rfind(std::string(wire::kSnapshotFdEnv) + "=", 0) == 0) continue;
    putenv(e.data());
  }
  return Status::Ok();
}

// libmlfaas-snapshot.so at kSnapshotLibPath, read-only, while the host's root is still at
// /oldroot and the new root still writable (EnterStrict makes it read-only).
Status BindSnapshotLib(const std::string& host_path) {
  if (host_path.empty() || host_path[0] != '/') return InvalidArgument("snapshot: bad lib path");
  for (const char* dir : {"/newroot/opt/mlfaas"}) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return SnapshotErrno(std::string("mkdir ") + dir);
  }
  const std::string target = std::string("/newroot") + kSnapshotLibPath;
  const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return SnapshotErrno("create " + target);
  close(fd);
  const std::string source = "/oldroot" + host_path;
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return SnapshotErrno("bind " + host_path);
  }
  if (mount(nullptr, target.c_str(), nullptr,
            MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return SnapshotErrno("remount " + target);
  }
  return Status::Ok();
}

void ReapChildren() {
  int status;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

}  // namespace

Status EnterTemplateJail(const JailEntry& entry, int64_t child_uid,
                         const std::string& lib_host_path) {
  if (entry.level != Isolation::kStrict) {
    return FailedPrecondition("snapshot: templates need strict isolation");
  }
  if (entry.uid <= 0 || child_uid <= 0 || entry.uid == child_uid || entry.uid == kNobody ||
      child_uid == kNobody || child_uid > 0x7fffffff) {
    return InvalidArgument("snapshot: a template needs two distinct non-root uids");
  }
  if (!lib_host_path.empty()) MLFAAS_RETURN_IF_ERROR(BindSnapshotLib(lib_host_path));
  MLFAAS_RETURN_IF_ERROR(EnterStrict(entry));
  // The template moves into a user namespace of its own by being cloned into it, with a network
  // namespace that user namespace owns (it returns there after preparing a child's); unshare
  // would refuse a process with threads, and a sanitizer's runtime has one. Its parent stays in the
  // parent user namespace, writes the new one's id maps (a process cannot map host uids into its
  // own; newuidmap does this for rootless containers), and then stays behind as the template's
  // keeper: nobody, no capabilities, it reaps and ends with the template's status (RunInit), so
  // the environment's init, which waits for it, ends with the template.
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) return SnapshotErrno("pipe");
  const pid_t tmpl =
      static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | SIGCHLD,
                                 nullptr, nullptr, nullptr, nullptr));
  if (tmpl < 0) {
    const Status st = SnapshotErrno("clone into a user namespace");
    close(sync[0]);
    close(sync[1]);
    return st;
  }
  if (tmpl > 0) {
    close(sync[0]);
    if (WriteMaps(tmpl, entry.uid, child_uid)) {
      const char c = 1;
      ssize_t w = write(sync[1], &c, 1);
      (void)w;
    }
    close(sync[1]);  // without a byte first: the template gives up
    RunInit(tmpl);
  }
  close(sync[1]);
  char c = 0;
  ssize_t n;
  do {
    n = read(sync[0], &c, 1);
  } while (n < 0 && errno == EINTR);
  close(sync[0]);
  if (n != 1) return FailedPrecondition("snapshot: cannot write the user namespace's id maps");
  if (setgroups(0, nullptr) != 0) return SnapshotErrno("setgroups");
  if (setresgid(kTemplateId, kTemplateId, kTemplateId) != 0) return SnapshotErrno("setresgid");
  if (setresuid(kTemplateId, kTemplateId, kTemplateId) != 0) return SnapshotErrno("setresuid");
  MLFAAS_RETURN_IF_ERROR(DropBoundingSet(kTemplateCaps));
  MLFAAS_RETURN_IF_ERROR(KeepCaps(kTemplateCaps));
  rlimit core{0, 0};
  setrlimit(RLIMIT_CORE, &core);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return SnapshotErrno("no_new_privs");
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // cleared by the uid change
  MLFAAS_ASSIGN_OR_RETURN(g_child_filter, BuildFilter(false));
  MLFAAS_ASSIGN_OR_RETURN(Filter own, BuildFilter(true));
  MLFAAS_RETURN_IF_ERROR(LoadFilter(own));
  if (chdir(kTaskRoot) != 0) return SnapshotErrno(std::string("chdir ") + kTaskRoot);
  return Status::Ok();
}

Status ServeForks(int fd, int64_t init_us) {
  const char* child_uid = std::getenv(kSnapshotChildUidEnv);
  char* end = nullptr;
  const long uid = child_uid ? std::strtol(child_uid, &end, 10) : 0;
  if (!child_uid || *end != '\0' || uid <= 0 || uid == kNobody || uid > 0x7fffffff) {
    return InvalidArgument(std::string("snapshot: bad ") + kSnapshotChildUidEnv);
  }
  g_child_uid = static_cast<uid_t>(uid);
  // Compiled before the exec when the template is mlfaas-runtime; a custom runtime's process
  // (this code in libmlfaas-snapshot.so) compiles its own.
  if (!g_child_filter) {
    MLFAAS_ASSIGN_OR_RETURN(g_child_filter, BuildFilter(false));
  }
  std::string ready;
  wire::AppendTemplateReady(ready, init_us);
  MLFAAS_RETURN_IF_ERROR(SendWithFds(fd, ready, {}));
  signal(SIGCHLD, SIG_DFL);
  FrameReader reader(fd);
  SpareNet spare;
  bool spare_failed = false;
  for (;;) {
    ReapChildren();
    // The spare is prepared once no fork request came for kSpareDelay: never while the child
    // just forked is still building its jail on the other core (creating a network namespace
    // takes ~0.6 ms and locks the child's setns would wait for).
    const bool want_spare = spare.ns < 0 && !spare_failed;
    auto frame = reader.Next(want_spare ? kSpareDelay : std::chrono::milliseconds(1000));
    if (!frame.ok() && frame.status().code() == StatusCode::kDeadlineExceeded) {
      if (!want_spare) continue;
      auto prepared = PrepareNet();
      if (prepared.ok()) {
        spare = *prepared;
      } else {  // tried again after the next fork
        spare_failed = true;
        std::fprintf(stderr, "snapshot: %s (the next fork makes its own)\n",
                     prepared.status().message().c_str());
      }
      continue;
    }
    if (!frame.ok()) _exit(0);  // the gateway went away (or broke the protocol): so does this
    std::vector<int> fds = std::move(reader.fds());
    reader.fds().clear();
    auto msg = frame->type == wire::FrameType::kFork ? wire::DecodeFork(frame->data) : std::nullopt;
    if (!msg || fds.size() != static_cast<size_t>(wire::kForkFds)) {
      for (int f : fds) close(f);
      std::fprintf(stderr, "snapshot: malformed fork request ignored\n");
      continue;
    }
    // Its network namespace is the spare (or one it makes): entered after the clone.
    constexpr unsigned long kChildNamespaces =
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    const pid_t pid = static_cast<pid_t>(
        syscall(SYS_clone, kChildNamespaces | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid == 0) {
      Status st = BecomeChild(*msg, fd, fds[0], fds[1], spare);
      if (st.ok()) return st;
      std::fprintf(stderr, "snapshot: child %s: %s\n", msg->name.c_str(), st.message().c_str());
      _exit(1);
    }
    if (pid < 0) {
      std::fprintf(stderr, "snapshot: cannot fork %s: %s\n", msg->name.c_str(),
                   std::strerror(errno));
    }
    for (int f : fds) close(f);  // the child's: closing them here tells a failed fork at once
    if (pid > 0) spare.Close();  // the child's now
    spare_failed = false;
  }
}

}  // namespace mlfaas::sandbox
