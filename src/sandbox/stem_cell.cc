#include "sandbox/stem_cell.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/worker_protocol.h"
#include "sandbox/frame_socket.h"
#include "sandbox/jail.h"
#include "sandbox/snapshot_cell.h"

namespace mlfaas::sandbox {
namespace {

Status SendReady(int fd, int listener) {
  std::string frame;
  wire::AppendStemReady(frame, listener >= 0);
  return SendWithFds(fd, frame, listener >= 0 ? std::vector<int>{listener} : std::vector<int>{})
      .WithPrefix("stem: cannot say ready");
}

// Blocks for the launch frame: the first frame on the socket, bounded by wire::kMaxFrame.
StatusOr<wire::LaunchMsg> ReadLaunch(int fd) {
  FrameReader reader(fd);
  auto frame = reader.Next(std::chrono::milliseconds(-1));
  if (!frame.ok() && frame.status().code() == StatusCode::kUnavailable) {
    return Unavailable("stem: the gateway went away before the launch");
  }
  if (!frame.ok()) return frame.status();
  if (frame->type != wire::FrameType::kLaunch) {
    return InvalidArgument("stem: expected a launch frame");
  }
  auto launch = wire::DecodeLaunch(frame->data);
  if (!launch) return InvalidArgument("stem: malformed launch frame");
  return std::move(*launch);
}

// The value of `name` in a "KEY=VALUE" list ("" when absent).
std::string EnvValue(const std::vector<std::string>& env, const char* name) {
  const std::string prefix = std::string(name) + "=";
  for (const auto& e : env) {
    if (e.rfind(prefix, 0) == 0) return e.substr(prefix.size());
  }
  return "";
}

}  // namespace

Status RunStemCell(int fd) {
  const char* level_name = std::getenv(kIsolationEnv);
  auto level = ParseIsolation(level_name ? level_name : "off");
  if (!level) return InvalidArgument(std::string("stem: bad ") + kIsolationEnv);
  MLFAAS_ASSIGN_OR_RETURN(int listener, PrepareJail(*level));
  Status ready = SendReady(fd, listener);
  if (listener >= 0) close(listener);  // the gateway's copy serves it; never the function's
  MLFAAS_RETURN_IF_ERROR(ready);
  MLFAAS_ASSIGN_OR_RETURN(wire::LaunchMsg launch, ReadLaunch(fd));
  const JailEntry entry{*level, launch.cwd, launch.uid, launch.gid, launch.tmp_mb};
  if (const std::string child_uid = EnvValue(launch.env, kSnapshotChildUidEnv);
      !child_uid.empty()) {  // a snapshot template
    int64_t uid = -1;
    auto [end, ec] = std::from_chars(child_uid.data(), child_uid.data() + child_uid.size(), uid);
    if (ec != std::errc() || end != child_uid.data() + child_uid.size()) {
      return InvalidArgument(std::string("stem: bad ") + kSnapshotChildUidEnv);
    }
    MLFAAS_RETURN_IF_ERROR(
        EnterTemplateJail(entry, uid, EnvValue(launch.env, kSnapshotLibHostEnv)));
  } else {
    MLFAAS_RETURN_IF_ERROR(EnterJail(entry));
  }
  // Strings that become the environment must outlive the process image.
  static std::vector<std::string> env;
  env = std::move(launch.env);
  if (!launch.executable.empty()) {  // a custom runtime: become its bootstrap
    const std::string exe = PathInJail(*level, launch.cwd, launch.executable);
    std::vector<std::string> args{exe};
    args.insert(args.end(), launch.args.begin(), launch.args.end());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    // Relaxed: the code's ancestors may not be searchable by the function's uid; its working
    // directory is the code, so the bootstrap is reached relative to it.
    const std::string path = *level == Isolation::kRelaxed && exe.rfind(launch.cwd + "/", 0) == 0
                                 ? "./" + exe.substr(launch.cwd.size() + 1)
                                 : exe;
    // The socket stays for a runtime that speaks the worker protocol on it (its environment
    // says so); any other runtime must not inherit it.
    const bool keeps_socket =
        std::find(env.begin(), env.end(), wire::WorkerFdEntry(wire::kRuntimeFdEnv)) != env.end() ||
        std::find(env.begin(), env.end(), wire::WorkerFdEntry(wire::kSnapshotFdEnv)) != env.end();
    fcntl(fd, F_SETFD, keeps_socket ? 0 : FD_CLOEXEC);
    execve(path.c_str(), argv.data(), envp.data());
    return FailedPrecondition("stem: cannot execute " + exe + ": " + std::strerror(errno));
  }
  clearenv();
  for (auto& e : env) putenv(e.data());
  return Status::Ok();
}

}  // namespace mlfaas::sandbox
