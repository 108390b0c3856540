#include "sandbox/jail.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/jail_internal.h"

namespace mlfaas::sandbox {
namespace {

// The jail is built under the base tmpfs mounted over /tmp, then pivoted into (as bubblewrap
// does): the host's root is at kOld until EnterJail detaches it.
constexpr const char* kBase = "/tmp";
constexpr const char* kOld = "/oldroot";
constexpr const char* kNew = "/newroot";

Status JailErrno(const std::string& what) {
  return FailedPrecondition("jail: " + what + ": " + std::strerror(errno));
}

Status Mount(const char* src, const std::string& dst, const char* type, unsigned long flags,
             const char* data = nullptr) {
  if (mount(src, dst.c_str(), type, flags, data) != 0) return JailErrno("mount " + dst);
  return Status::Ok();
}

// A read-only, nosuid, nodev bind of `src` at `dst` (a bind's flags need a remount).
Status BindReadOnly(const std::string& src, const std::string& dst) {
  MLFAAS_RETURN_IF_ERROR(Mount(src.c_str(), dst, nullptr, MS_BIND | MS_REC));
  return Mount(nullptr, dst, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV);
}

Status MakeDir(const std::string& path, mode_t mode = 0755) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return JailErrno("mkdir " + path);
  return Status::Ok();
}

Status MakeFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return JailErrno("create " + path);
  close(fd);
  return Status::Ok();
}

Status Symlink(const std::string& target, const std::string& path) {
  if (symlink(target.c_str(), path.c_str()) != 0) return JailErrno("symlink " + path);
  return Status::Ok();
}

// /bin, /lib, ... as the host has them: a link stays a link (merged /usr), a directory is bound.
Status MirrorTopLevel(const char* name) {
  const std::string host = std::string(kOld) + "/" + name;
  const std::string jail = std::string(kNew) + "/" + name;
  struct stat st;
  if (lstat(host.c_str(), &st) != 0) return Status::Ok();  // the host has none
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(host.c_str(), target, sizeof target - 1);
    if (n < 0) return JailErrno("readlink " + host);
    target[n] = '\0';
    return Symlink(target, jail);
  }
  if (!S_ISDIR(st.st_mode)) return Status::Ok();
  MLFAAS_RETURN_IF_ERROR(MakeDir(jail));
  return BindReadOnly(host, jail);
}

Status BuildDev() {
  const std::string dev = std::string(kNew) + "/dev";
  MLFAAS_RETURN_IF_ERROR(MakeDir(dev));
  MLFAAS_RETURN_IF_ERROR(
      Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64"));
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    const std::string path = dev + "/" + node;
    MLFAAS_RETURN_IF_ERROR(MakeFile(path));
    MLFAAS_RETURN_IF_ERROR(
        Mount((std::string(kOld) + "/dev/" + node).c_str(), path, nullptr, MS_BIND));
  }
  MLFAAS_RETURN_IF_ERROR(Symlink("/proc/self/fd", dev + "/fd"));
  MLFAAS_RETURN_IF_ERROR(Symlink("/proc/self/fd/0", dev + "/stdin"));
  MLFAAS_RETURN_IF_ERROR(Symlink("/proc/self/fd/1", dev + "/stdout"));
  MLFAAS_RETURN_IF_ERROR(Symlink("/proc/self/fd/2", dev + "/stderr"));
  return Mount(nullptr, dev, nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
               "mode=0755,size=64k,nr_inodes=64");
}

Status BuildRoot() {
  MLFAAS_RETURN_IF_ERROR(Mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE));
  MLFAAS_RETURN_IF_ERROR(
      Mount("tmpfs", kBase, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k"));
  if (chdir(kBase) != 0) return JailErrno("chdir base");
  MLFAAS_RETURN_IF_ERROR(MakeDir("oldroot", 0700));
  MLFAAS_RETURN_IF_ERROR(MakeDir("newroot", 0755));
  if (syscall(SYS_pivot_root, ".", "oldroot") != 0) return JailErrno("pivot_root");
  if (chdir("/") != 0) return JailErrno("chdir /");
  MLFAAS_RETURN_IF_ERROR(Mount("tmpfs", kNew, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k"));
  MLFAAS_RETURN_IF_ERROR(MakeDir(std::string(kNew) + "/usr"));
  MLFAAS_RETURN_IF_ERROR(BindReadOnly(std::string(kOld) + "/usr", std::string(kNew) + "/usr"));
  MLFAAS_RETURN_IF_ERROR(MakeDir(std::string(kNew) + "/etc"));
  MLFAAS_RETURN_IF_ERROR(BindReadOnly(std::string(kOld) + "/etc", std::string(kNew) + "/etc"));
  for (const char* name : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    MLFAAS_RETURN_IF_ERROR(MirrorTopLevel(name));
  }
  MLFAAS_RETURN_IF_ERROR(MakeDir(std::string(kNew) + "/proc"));
  MLFAAS_RETURN_IF_ERROR(
      Mount("proc", std::string(kNew) + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  MLFAAS_RETURN_IF_ERROR(BuildDev());
  MLFAAS_RETURN_IF_ERROR(MakeDir(std::string(kNew) + "/tmp", 01777));
  MLFAAS_RETURN_IF_ERROR(Mount("tmpfs", std::string(kNew) + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                               "mode=1777,size=512m"));
  MLFAAS_RETURN_IF_ERROR(MakeDir(std::string(kNew) + "/opt"));
  MLFAAS_RETURN_IF_ERROR(MakeDir(std::string(kNew) + "/var"));
  return MakeDir(std::string(kNew) + kTaskRoot);
}

}  // namespace

Status LoopbackUp() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return JailErrno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  const int e = errno;
  close(s);
  errno = e;
  return rc == 0 ? Status::Ok() : JailErrno("bring loopback up");
}

StatusOr<int> ListenRuntimeApi() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return JailErrno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kRuntimeApiPort);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
    Status st = JailErrno("listen on " + std::string(kRuntimeApiAddress));
    close(fd);
    return st;
  }
  return fd;
}

namespace {

// Compiled in PrepareJail, loaded in EnterJail.
std::optional<Filter> g_filter;

// The BPF program libseccomp generates for `ctx` (released here), read back through a pipe: a
// program has at most 4096 instructions (32 KiB), less than a pipe holds.
StatusOr<Filter> Export(scmp_filter_ctx ctx) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    seccomp_release(ctx);
    return JailErrno("pipe for the seccomp program");
  }
  const int rc = seccomp_export_bpf(ctx, p[1]);
  seccomp_release(ctx);
  close(p[1]);
  std::string bytes;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || bytes.size() > 64 * 1024) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  if (rc != 0)
    return FailedPrecondition(std::string("jail: seccomp_export_bpf: ") + std::strerror(-rc));
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0 ||
      bytes.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return FailedPrecondition("jail: libseccomp exported a malformed program");
  }
  Filter f;
  f.program.resize(bytes.size() / sizeof(sock_filter));
  std::memcpy(f.program.data(), bytes.data(), bytes.size());
  return f;
}

}  // namespace

StatusOr<Filter> BuildFilter(bool for_template) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return FailedPrecondition("jail: seccomp_init failed");
  for (const std::string& name : DeniedSyscalls()) {
    // A template mounts each child's /proc and /tmp and prepares its network namespace ahead
    // (all in namespaces its user namespace owns).
    if (for_template && (name == "mount" || name == "unshare" || name == "setns")) continue;
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0) {
      seccomp_release(ctx);
      return FailedPrecondition("jail: seccomp rule for " + name + ": " + std::strerror(-rc));
    }
  }
  // New namespaces through clone: its flags are an argument the filter can see, one rule per
  // flag. clone3 passes them in memory, which a filter cannot read: ENOSYS makes libcs fall back
  // to clone.
  // A template forks each child into new mount, pid, network, ipc and uts namespaces.
  const std::vector<uint64_t> flags =
      for_template
          ? std::vector<uint64_t>{CLONE_NEWUSER, CLONE_NEWCGROUP}
          : std::vector<uint64_t>{CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET,
                                  CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP};
  for (uint64_t flag : flags) {
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
        rc != 0) {
      seccomp_release(ctx);
      return FailedPrecondition(std::string("jail: seccomp rule for clone: ") + std::strerror(-rc));
    }
    // A template may unshare a network namespace (its next child's), never the others.
    if (for_template) {
      if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                    SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
          rc != 0) {
        seccomp_release(ctx);
        return FailedPrecondition(std::string("jail: seccomp rule for unshare: ") +
                                  std::strerror(-rc));
      }
    }
  }
  if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0) {
    seccomp_release(ctx);
    return FailedPrecondition(std::string("jail: seccomp rule for clone3: ") + std::strerror(-rc));
  }
  return Export(ctx);
}

Status LoadFilter(const Filter& filter) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return JailErrno("no_new_privs");
  sock_fprog prog{static_cast<unsigned short>(filter.program.size()),
                  const_cast<sock_filter*>(filter.program.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    return JailErrno("load the seccomp filter");
  }
  return Status::Ok();
}

namespace {

Status CompileFilter() {
  if (g_filter) return Status::Ok();
  MLFAAS_ASSIGN_OR_RETURN(g_filter, BuildFilter(false));
  return Status::Ok();
}

}  // namespace

Status DropBoundingSet(uint64_t keep) {
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (keep & (uint64_t{1} << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return JailErrno("drop capability " + std::to_string(cap));
    }
  }
  return Status::Ok();
}

namespace {

Status SwitchIdentity(uid_t uid, gid_t gid) {
  MLFAAS_RETURN_IF_ERROR(DropBoundingSet());
  if (setgroups(0, nullptr) != 0) return JailErrno("setgroups");
  if (setresgid(gid, gid, gid) != 0) return JailErrno("setresgid " + std::to_string(gid));
  // From uid 0 to another: the kernel clears the permitted, effective and ambient sets.
  if (setresuid(uid, uid, uid) != 0) return JailErrno("setresuid " + std::to_string(uid));
  if (setuid(0) == 0) return FailedPrecondition("jail: could regain uid 0 after dropping it");
  return Status::Ok();
}

}  // namespace

Status EnterStrict(const JailEntry& e) {
  const std::string task = std::string(kNew) + kTaskRoot;
  if (!e.task_dir.empty()) {
    MLFAAS_RETURN_IF_ERROR(BindReadOnly(std::string(kOld) + e.task_dir, task));
  }
  if (e.tmp_mb > 0) {
    const std::string data = "mode=1777,size=" + std::to_string(e.tmp_mb) + "m";
    MLFAAS_RETURN_IF_ERROR(Mount(nullptr, std::string(kNew) + "/tmp", nullptr,
                                 MS_REMOUNT | MS_NOSUID | MS_NODEV, data.c_str()));
  }
  // Into the new root; the old one (the base holding the host's root) stacked beneath it is
  // detached with everything under it.
  if (chdir(kNew) != 0) return JailErrno("chdir " + std::string(kNew));
  if (syscall(SYS_pivot_root, ".", ".") != 0) return JailErrno("pivot_root");
  if (umount2(".", MNT_DETACH) != 0) return JailErrno("detach the host's root");
  if (chdir("/") != 0) return JailErrno("chdir /");
  MLFAAS_RETURN_IF_ERROR(
      Mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV));
  static constexpr char kHost[] = "localhost";
  if (sethostname(kHost, sizeof kHost - 1) != 0) return JailErrno("sethostname");
  if (chdir(kTaskRoot) != 0) return JailErrno(std::string("chdir ") + kTaskRoot);
  return Status::Ok();
}

const std::vector<std::string>& DeniedSyscalls() {
  static const std::vector<std::string> kDenied = {
    // the filesystem tree and the namespaces
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    "setns",
    "unshare",
    // the kernel itself
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "bpf",
    "perf_event_open",
    "syslog",
    "acct",
    "quotactl",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "vhangup",
    "userfaultfd",
    // the kernel keyring
    "keyctl",
    "add_key",
    "request_key",
  // other processes' memory (LeakSanitizer stops the world with ptrace at exit: a
  // sanitizer build keeps it, still refused across uids for lack of CAP_SYS_PTRACE)
#if !defined(__SANITIZE_ADDRESS__)
    "ptrace",
#endif
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    // host identity and clocks
    "sethostname",
    "setdomainname",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    // file handles bypass path permissions
    "open_by_handle_at",
    "name_to_handle_at"
  };
  return kDenied;
}

std::string PathInJail(Isolation level, const std::string& task_dir, const std::string& host_path) {
  if (level != Isolation::kStrict || task_dir.empty()) return host_path;
  if (host_path == task_dir) return kTaskRoot;
  if (host_path.size() > task_dir.size() && host_path.compare(0, task_dir.size(), task_dir) == 0 &&
      host_path[task_dir.size()] == '/') {
    return kTaskRoot + host_path.substr(task_dir.size());
  }
  return host_path;
}

// The environment's pid 1. A runtime is not pid 1 on Lambda either: pid 1 gets no signal from
// inside its namespace that it has no handler for (a runtime could not even stop itself) and
// inherits every orphan to reap. This one reaps them all and, when the runtime (`main`) ends,
// ends with its status (a signal S as exit code 128+S: pid 1 cannot be killed from inside).
// It keeps nothing open but the output, and drops to nobody with no capabilities.
[[noreturn]] void RunInit(pid_t main) {
  syscall(SYS_close_range, 3u, ~0u, 0u);
  (void)DropBoundingSet();
  constexpr uid_t kNobody = 65534;
  if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
      setresuid(kNobody, kNobody, kNobody) != 0) {
    _exit(125);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // cleared by the uid change
  for (;;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) _exit(125);  // no child left without the runtime having ended: impossible
    if (pid != main) continue;
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}

StatusOr<int> PrepareJail(Isolation level) {
  if (level == Isolation::kOff) return -1;
  MLFAAS_RETURN_IF_ERROR(CompileFilter());
  if (level != Isolation::kStrict) return -1;
  MLFAAS_RETURN_IF_ERROR(BuildRoot());
  MLFAAS_RETURN_IF_ERROR(LoopbackUp());
  MLFAAS_ASSIGN_OR_RETURN(int listener, ListenRuntimeApi());
  // Off the request path too: the stem splits into pid 1 and the future runtime.
  const pid_t child = fork();
  if (child < 0) {
    close(listener);
    return JailErrno("fork the environment's init");
  }
  if (child > 0) RunInit(child);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  return listener;
}

Status EnterJail(const JailEntry& e) {
  if (e.level == Isolation::kStrict) {
    MLFAAS_RETURN_IF_ERROR(EnterStrict(e));
  } else if (!e.task_dir.empty() && chdir(e.task_dir.c_str()) != 0) {
    return JailErrno("cannot enter " + e.task_dir);
  }
  if (e.level == Isolation::kOff) return Status::Ok();
  if (e.uid < 0 || e.gid < 0) return InvalidArgument("jail: no uid/gid to run as");
  if (e.uid == 0 || e.gid == 0) return InvalidArgument("jail: refusing to run as root");
  rlimit core{0, 0};
  setrlimit(RLIMIT_CORE, &core);
  MLFAAS_RETURN_IF_ERROR(SwitchIdentity(static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid)));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return JailErrno("no_new_privs");
  // A uid change cleared it: the environment still dies with the gateway.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!g_filter) MLFAAS_RETURN_IF_ERROR(CompileFilter());
  return LoadFilter(*g_filter);
}

}  // namespace mlfaas::sandbox
