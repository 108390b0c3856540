#include "loadtest/self_gateway.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <ostream>
#include <thread>
#include <vector>

extern char** environ;

namespace mlfaas::loadtest {
namespace {

constexpr char kFunction[] = "kdd99-anomaly";

// Spawns `exe args...` with stdout to `out_fd` (or the log) and stderr appended to `log`.
StatusOr<pid_t> Spawn(const std::filesystem::path& exe, const std::vector<std::string>& args,
                      int out_fd, const std::filesystem::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  } else {
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
  }
  std::vector<std::string> argv_s = {exe.string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Internal("cannot start " + exe.string() + ": " + std::strerror(rc));
  return pid;
}

Status RunStep(const std::filesystem::path& exe, const std::filesystem::path& home,
               std::vector<std::string> args, const std::filesystem::path& log) {
  args.insert(args.begin(), {"--home", home.string()});
  MLFAAS_ASSIGN_OR_RETURN(pid_t pid, Spawn(exe, args, -1, log));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Internal("`mlfaas " + args[2] + "` failed while preparing the study gateway; see " +
                    log.string());
  }
  return Status::Ok();
}

// Runs a helper (a bundle script, python3) to completion; fails naming it and the log.
Status RunTool(const std::filesystem::path& exe, const std::vector<std::string>& args,
               const std::filesystem::path& log, const std::string& what) {
  MLFAAS_ASSIGN_OR_RETURN(pid_t pid, Spawn(exe, args, -1, log));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Internal(what + " failed while preparing the study gateway; see " + log.string());
  }
  return Status::Ok();
}

// Reads `fd` until a line "listening on http://HOST:PORT" or the deadline; returns the URL.
StatusOr<std::string> WaitForListening(int fd, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string buf;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char chunk[512];
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return Unavailable("mlfaas serve exited before listening");
    buf.append(chunk, static_cast<size_t>(n));
    const size_t at = buf.find("listening on http://");
    const size_t eol = at == std::string::npos ? at : buf.find('\n', at);
    if (eol != std::string::npos) return buf.substr(at + 13, eol - at - 13);
  }
  return DeadlineExceeded("mlfaas serve did not report listening within 30 s");
}

}  // namespace

StatusOr<std::filesystem::path> FindStudyData(const std::filesystem::path& exe) {
  const std::filesystem::path rel = "data/kdd99-http.csv.gz";
  for (const auto& c : {std::filesystem::current_path() / rel,
                        exe.parent_path() / ".." / ".." / rel, exe.parent_path() / ".." / rel}) {
    if (std::filesystem::exists(c)) return c;
  }
  return NotFound(
      "cannot find data/kdd99-http.csv.gz (run from the source tree, or give --endpoint)");
}

StatusOr<std::unique_ptr<SelfGateway>> SelfGateway::Start(const std::filesystem::path& exe,
                                                          const std::filesystem::path& data,
                                                          int idle_timeout_s,
                                                          std::ostream& progress) {
  std::unique_ptr<SelfGateway> gw(new SelfGateway());
  const auto home = gw->home_.path();
  const auto log = home / "serve.log";
  const std::string pkg = (home / "kdd99.zip").string();
  progress << "== starting a gateway on " << home.string() << " (train, create, publish, serve)\n";
  MLFAAS_RETURN_IF_ERROR(RunStep(
      exe, home, {"train", "--data", data.string(), "--out", pkg, "--name", kFunction}, log));
  MLFAAS_RETURN_IF_ERROR(
      RunStep(exe, home, {"function", "create", kFunction, "--package", pkg}, log));
  MLFAAS_RETURN_IF_ERROR(RunStep(exe, home, {"function", "publish", kFunction}, log));
  MLFAAS_RETURN_IF_ERROR(gw->Serve(exe, idle_timeout_s, progress));
  gw->invoke_url_ = gw->InvokeUrl(kFunction);
  return gw;
}

StatusOr<std::unique_ptr<SelfGateway>> SelfGateway::StartWith(
    const std::filesystem::path& exe, const std::filesystem::path& data,
    const std::vector<GatewayFunction>& functions, int idle_timeout_s, std::ostream& progress) {
  using Code = GatewayFunction::Code;
  std::unique_ptr<SelfGateway> gw(new SelfGateway());
  const auto home = gw->home_.path();
  const auto log = home / "serve.log";
  const auto root = data.parent_path().parent_path();  // <root>/data/kdd99-http.csv.gz
  const std::string pkg = (home / "kdd99.zip").string();
  progress << "== starting a gateway on " << home.string() << " (train once, create "
           << functions.size() << " functions, serve)\n";
  MLFAAS_RETURN_IF_ERROR(RunStep(
      exe, home, {"train", "--data", data.string(), "--out", pkg, "--name", kFunction}, log));
  auto needs = [&](Code c) {
    return std::any_of(functions.begin(), functions.end(),
                       [c](const GatewayFunction& f) { return f.code == c; });
  };
  std::map<Code, std::string> code = {{Code::kModel, pkg}};
  const std::pair<Code, const char*> bundles[] = {{Code::kPythonBundle, "examples/python"},
                                                  {Code::kJavaBundle, "examples/java"}};
  for (const auto& [c, dir] : bundles) {
    if (!needs(c)) continue;
    const auto out = home / (std::string(c == Code::kJavaBundle ? "java" : "python") + ".zip");
    MLFAAS_RETURN_IF_ERROR(
        RunTool(root / dir / "make_bundle.sh", {pkg, out.string()}, log, "make_bundle.sh"));
    code[c] = out.string();
  }
  if (needs(Code::kCpuFixture)) {
    const auto out = home / "cpu_burn.zip";
    const auto bootstrap = root / "bench" / "fixtures" / "cpu_burn" / "bootstrap";
    if (!std::filesystem::exists(bootstrap)) return NotFound("missing " + bootstrap.string());
    MLFAAS_RETURN_IF_ERROR(RunTool(
        "/usr/bin/env", {"python3", "-m", "zipfile", "-c", out.string(), bootstrap.string()}, log,
        "python3 -m zipfile"));
    code[Code::kCpuFixture] = out.string();
  }
  for (const GatewayFunction& f : functions) {
    std::vector<std::string> args = {"function",
                                     "create",
                                     f.name,
                                     "--package",
                                     code.at(f.code),
                                     "--memory",
                                     std::to_string(f.memory_mb)};
    if (f.code != Code::kModel) args.insert(args.end(), {"--runtime", "provided"});
    if (!f.model_loading.empty()) args.insert(args.end(), {"--model-loading", f.model_loading});
    if (f.timeout_s > 0) args.insert(args.end(), {"--timeout", std::to_string(f.timeout_s)});
    MLFAAS_RETURN_IF_ERROR(RunStep(exe, home, args, log));
  }
  MLFAAS_RETURN_IF_ERROR(gw->Serve(exe, idle_timeout_s, progress));
  return gw;
}

Status SelfGateway::Serve(const std::filesystem::path& exe, int idle_timeout_s,
                          std::ostream& progress) {
  const auto home = home_.path();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Internal("pipe failed");
  auto pid = Spawn(exe,
                   {"--home", home.string(), "serve", "--host", "127.0.0.1", "--port", "0",
                    "--idle-timeout", std::to_string(idle_timeout_s)},
                   fds[1], home / "serve.log");
  close(fds[1]);
  stdout_fd_ = fds[0];
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  MLFAAS_ASSIGN_OR_RETURN(std::string base, WaitForListening(fds[0], std::chrono::seconds(30)));
  if (base.ends_with(":0")) return Internal("mlfaas serve reported port 0: " + base);
  base_url_ = base;
  progress << "== gateway at " << base << " (idle timeout " << idle_timeout_s << " s)\n";
  return Status::Ok();
}

SelfGateway::~SelfGateway() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

}  // namespace mlfaas::loadtest
