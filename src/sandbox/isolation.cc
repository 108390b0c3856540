#include "sandbox/isolation.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace mlfaas::sandbox {

const char* IsolationName(Isolation level) {
  switch (level) {
    case Isolation::kOff:
      return "off";
    case Isolation::kRelaxed:
      return "relaxed";
    case Isolation::kStrict:
      return "strict";
  }
  return "?";
}

std::optional<Isolation> ParseIsolation(std::string_view name) {
  for (Isolation l : {Isolation::kOff, Isolation::kRelaxed, Isolation::kStrict}) {
    if (name == IsolationName(l)) return l;
  }
  return std::nullopt;
}

StatusOr<UidRange> ParseUidRange(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgument(
        "--uid-range must be FIRST-LAST with 1 <= FIRST <= LAST < 4294967295, not '" +
        std::string(text) + "'");
  };
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return bad();
  uint64_t first = 0, last = 0;
  auto parse = [](std::string_view s, uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  if (!parse(text.substr(0, dash), first) || !parse(text.substr(dash + 1), last)) return bad();
  if (first < 1 || first > last || last >= 0xffffffffull) return bad();
  return UidRange{static_cast<uid_t>(first), static_cast<uid_t>(last)};
}

Isolation IsolationProbe::strongest() const {
  if (!root || !seccomp) return Isolation::kOff;
  if (namespaces && cgroups) return Isolation::kStrict;
  return Isolation::kRelaxed;
}

namespace {

// A child in fresh namespaces that makes its mounts private and mounts a tmpfs, as a confined
// environment's stem does. Only raw system calls between clone and _exit.
bool NamespacesWork(std::string& why) {
  constexpr unsigned long kFlags =
      CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  const long pid = syscall(SYS_clone, kFlags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    int code = 0;
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      code = 10;
    } else if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=16k") != 0) {
      code = 11;
    } else if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      code = 12;
    }
    _exit(code);
  }
  if (pid < 0) {
    why = std::string("namespaces: clone(NEWNS|NEWPID|NEWNET|NEWIPC|NEWUTS) failed: ") +
          std::strerror(errno);
    return false;
  }
  int status = 0;
  while (waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  why = std::string("namespaces: created, but ") + (code == 10   ? "making mounts private failed"
                                                    : code == 11 ? "mounting a tmpfs failed"
                                                    : code == 12 ? "mounting /proc failed"
                                                                 : "the probe child died");
  return false;
}

}  // namespace

IsolationProbe ProbeIsolation(bool cgroups_enabled, std::string_view cgroups_reason) {
  IsolationProbe p;
  p.root = geteuid() == 0;
  if (!p.root) p.missing.push_back("root: not running as root (needed to switch uids)");
  p.seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  if (!p.seccomp) {
    p.missing.push_back(std::string("seccomp: not available: ") + std::strerror(errno));
  }
  p.cgroups = cgroups_enabled;
  if (!p.cgroups) p.missing.push_back("cgroups: " + std::string(cgroups_reason));
  if (p.root) {
    std::string why;
    p.namespaces = NamespacesWork(why);
    if (!p.namespaces) p.missing.push_back(why);
  } else {
    p.missing.push_back("namespaces: not tried (not root)");
  }
  return p;
}

}  // namespace mlfaas::sandbox
