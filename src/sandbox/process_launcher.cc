#include "sandbox/process_launcher.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/worker_protocol.h"

namespace mlfaas::sandbox {
namespace {

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Async-signal-safe decimal formatting for the child.
size_t FormatPid(pid_t pid, char* buf) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid > 0);
  for (size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

// The child's descriptor work, as raw system calls: async-signal-safe, and invisible to
// sanitizer interceptors, whose descriptor bookkeeping was copied from a multi-threaded parent
// at fork (ThreadSanitizer reported the child's open() against another parent thread's recvmsg
// on a reused descriptor number).
int RawOpen(const char* path, int flags) {
  return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags));
}
ssize_t RawWrite(int fd, const void* buf, size_t n) { return syscall(SYS_write, fd, buf, n); }
void RawClose(int fd) { syscall(SYS_close, fd); }
int RawDup2(int from, int to) { return static_cast<int>(syscall(SYS_dup3, from, to, 0)); }

// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void ChildExec(pid_t parent, bool own_pid_ns, int out_w, int err_w, int devnull,
                            int pass_fd, const char* cwd, const char* exe, char** argv, char** envp,
                            const std::vector<const char*>& join_files) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The gateway died before prctl took effect. (In its own pid namespace the parent is outside
  // it: getppid() is 0. Such a child is a stem cell, which ends at EOF on its socket.)
  if (!own_pid_ns && getppid() != parent) _exit(127);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  signal(SIGPIPE, SIG_DFL);
  char pidbuf[24];
  size_t pidlen = FormatPid(getpid(), pidbuf);
  for (const char* f : join_files) {
    int fd = RawOpen(f, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t w = RawWrite(fd, pidbuf, pidlen);
      (void)w;
      RawClose(fd);
    }
  }
  RawDup2(devnull, 0);
  RawDup2(out_w, 1);
  RawDup2(out_w, 2);
  constexpr int kTo = wire::kWorkerFd;  // the contract's descriptor number (3)
  static_assert(kTo > 2, "stdin, stdout and stderr are taken");
  unsigned first_closed = kTo;
  if (pass_fd >= 0) {
    if (pass_fd == kTo) {
      syscall(SYS_fcntl, kTo, F_SETFD, 0);
    } else {
      // err_w must survive as dup2 to kTo would clobber it: move it first if it sits there.
      if (err_w == kTo) err_w = static_cast<int>(syscall(SYS_fcntl, kTo, F_DUPFD_CLOEXEC, kTo + 1));
      RawDup2(pass_fd, kTo);  // the copy does not have FD_CLOEXEC
    }
    first_closed = kTo + 1;
  }
  // Everything else (including err_w, which is O_CLOEXEC) closes at exec.
  syscall(SYS_close_range, first_closed, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
  if (cwd[0] && chdir(cwd) != 0) {
    int e = errno;
    ssize_t w = RawWrite(err_w, &e, sizeof e);
    (void)w;
    _exit(127);
  }
  execve(exe, argv, envp);
  int e = errno;
  ssize_t w = RawWrite(err_w, &e, sizeof e);
  (void)w;
  _exit(127);
}

}  // namespace

void KillGroup(pid_t pid, int sig) {
  if (pid > 0) ::kill(-pid, sig);
}

// Kept as one function: everything the child needs (argv, envp, pipes, the pidfd) is prepared
// in sequence before fork, and each failure must undo exactly what was opened before it.
StatusOr<LaunchedProcess> ForkExecLauncher::Launch(const LaunchSpec& spec) {
  std::vector<std::string> argv_s{spec.executable.string()};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  auto argv = CStrings(argv_s);
  auto envp = CStrings(spec.env);
  std::vector<std::string> join_s;
  std::vector<const char*> join;
  for (const auto& f : spec.join_files) join_s.push_back(f.string());
  for (const auto& f : join_s) join.push_back(f.c_str());
  std::string cwd = spec.cwd.string();
  std::string exe = spec.executable.string();

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return Internal(std::string("pipe: ") + strerror(errno));
  }
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = getpid();
  constexpr unsigned long kNamespaces =
      CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  // clone as fork does it (a copy of this address space, SIGCHLD on exit), plus namespaces.
  pid_t pid = spec.namespaces ? static_cast<pid_t>(syscall(SYS_clone, kNamespaces | SIGCHLD,
                                                           nullptr, nullptr, nullptr, nullptr))
                              : fork();
  if (pid == 0) {
    ChildExec(parent, spec.namespaces, out[1], err[1], devnull, spec.pass_fd, cwd.c_str(),
              exe.c_str(), argv.data(), envp.data(), join);
  }
  int fork_errno = errno;
  close(out[1]);
  close(err[1]);
  if (devnull >= 0) close(devnull);
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
    return Unavailable(std::string(spec.namespaces ? "clone: " : "fork: ") + strerror(fork_errno));
  }
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(err[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(err[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    close(out[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    std::string msg = "cannot execute " + exe + ": " + strerror(exec_errno);
    if (exec_errno == ENOENT) return NotFound(msg);
    return FailedPrecondition(msg);
  }
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  LaunchedProcess p;
  p.pid = pid;
  p.output_fd = out[0];
  p.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (p.pidfd < 0) {
    KillGroup(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close(out[0]);
    return Internal(std::string("pidfd_open: ") + strerror(errno));
  }
  return p;
}

}  // namespace mlfaas::sandbox
