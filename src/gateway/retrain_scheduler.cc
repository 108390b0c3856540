#include "gateway/retrain_scheduler.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

namespace mlfaas::gateway {

std::string DueRetrain(const registry::FunctionConfig& policy, const registry::RetrainState& state,
                       int64_t now_ms, int64_t labels_now) {
  if (policy.retrain_every_s > 0 &&
      now_ms - state.last_run_ms >= int64_t{policy.retrain_every_s} * 1000) {
    return "schedule";
  }
  if (policy.retrain_after_labels > 0 &&
      labels_now - state.labels_at_last_run >= policy.retrain_after_labels) {
    return "labels";
  }
  return "";
}

// ---- ProcessRetrainRunner ----

ProcessRetrainRunner::ProcessRetrainRunner(std::filesystem::path exe, std::filesystem::path home,
                                           const sandbox::Cgroups& cgroups,
                                           registry::RegistryLocation where)
    : exe_(std::move(exe)), home_(std::move(home)), cgroups_(cgroups), where_(std::move(where)) {}

ProcessRetrainRunner::~ProcessRetrainRunner() { StopAll(); }

Status ProcessRetrainRunner::Start(const std::string& function, const std::string& trigger) {
  if (runs_.count(function)) return FailedPrecondition("a retrain of " + function + " is running");
  Run run;
  run.cgroup = sandbox::Cgroups::OwnedId("retrain-" + function);
  sandbox::LaunchSpec spec;
  spec.executable = exe_;
  spec.args = {"--home", home_.string(), "retrain", function, "--trigger", trigger, "--json"};
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "HOME=" + home_.string(), "LANG=C.UTF-8"};
  if (!where_.url.empty()) spec.env.push_back("MLFAAS_REGISTRY=" + where_.url);
  if (!where_.blob_dir.empty()) spec.env.push_back("MLFAAS_BLOB_DIR=" + where_.blob_dir.string());
  // A sanitizer build's settings follow it into the run (the same binary, built the same way).
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) spec.env.push_back(std::string(name) + "=" + v);
  }
  spec.cwd = home_;
  if (cgroups_.enabled()) {
    auto joins = cgroups_.Create(run.cgroup, kMemoryMb);
    if (!joins.ok()) return joins.status().WithPrefix("retrain " + function + ": cgroup");
    spec.join_files = std::move(*joins);
  }
  auto launched = launcher_.Launch(spec);
  if (!launched.ok()) {
    if (cgroups_.enabled()) cgroups_.Remove(run.cgroup);
    return launched.status().WithPrefix("retrain " + function);
  }
  run.pid = launched->pid;
  run.output_fd = launched->output_fd;
  run.pidfd = launched->pidfd;
  spdlog::info("retrain {}: started (trigger {}, pid {})", function, trigger, run.pid);
  runs_.emplace(function, std::move(run));
  return Status::Ok();
}

void ProcessRetrainRunner::Drain(Run& run) {
  char buf[4096];
  while (run.output_fd >= 0) {
    const ssize_t n = ::read(run.output_fd, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // EAGAIN (nothing more now) or EOF
    }
    const size_t room = kMaxOutputBytes - std::min(kMaxOutputBytes, run.output.size());
    run.output.append(buf, std::min(room, static_cast<size_t>(n)));
  }
}

void ProcessRetrainRunner::Finish(const std::string& function, Run& run, bool killed) {
  Drain(run);
  int status = 0;
  while (::waitpid(run.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (run.output_fd >= 0) ::close(run.output_fd);
  if (run.pidfd >= 0) ::close(run.pidfd);
  if (cgroups_.enabled()) cgroups_.Remove(run.cgroup);
  std::string last = run.output;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  if (const size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  if (last.size() > 2000) last = last.substr(0, 2000) + "...";
  if (killed) {
    spdlog::warn("retrain {}: stopped with the gateway", function);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    spdlog::info("retrain {}: done: {}", function, last);
  } else {
    spdlog::warn("retrain {}: failed ({}): {}", function,
                 WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status)),
                 last);
  }
}

bool ProcessRetrainRunner::Running(const std::string& function) {
  auto it = runs_.find(function);
  if (it == runs_.end()) return false;
  Run& run = it->second;
  Drain(run);
  pollfd p{run.pidfd, POLLIN, 0};
  if (::poll(&p, 1, 0) == 0) return true;  // still running
  Finish(function, run, false);
  runs_.erase(it);
  return false;
}

void ProcessRetrainRunner::StopAll() {
  for (auto& [function, run] : runs_) {
    sandbox::KillGroup(run.pid, SIGKILL);
    Finish(function, run, true);
  }
  runs_.clear();
}

// ---- RetrainScheduler ----

RetrainScheduler::RetrainScheduler(registry::Registry& registry, registry::TrainingStore& store,
                                   const Clock& clock, RetrainRunner& runner)
    : registry_(registry), store_(store), clock_(clock), runner_(runner) {}

Status RetrainScheduler::TickFunction(const registry::FunctionInfo& f) {
  const registry::FunctionConfig& policy = f.latest.config;
  if (policy.retrain_every_s <= 0 && policy.retrain_after_labels <= 0) return Status::Ok();
  if (runner_.Running(f.name)) return Status::Ok();
  const int64_t now = clock_.EpochMillis();
  MLFAAS_ASSIGN_OR_RETURN(auto recorded, store_.GetRetrainState(f.name));
  if (!recorded) {
    // First sight of the policy: the schedule counts from now, the labels from none.
    MLFAAS_RETURN_IF_ERROR(store_.SetRetrainState(f.name, registry::RetrainState{now, 0}));
    recorded = registry::RetrainState{now, 0};
  }
  int64_t labels = recorded->labels_at_last_run;
  if (policy.retrain_after_labels > 0) {
    MLFAAS_ASSIGN_OR_RETURN(labels, store_.FeedbackCount(f.name));
  }
  const std::string trigger = DueRetrain(policy, *recorded, now, labels);
  if (trigger.empty()) return Status::Ok();
  // Recorded before the start: a gateway that dies now does not start the same run again.
  MLFAAS_RETURN_IF_ERROR(store_.SetRetrainState(f.name, registry::RetrainState{now, labels}));
  MLFAAS_RETURN_IF_ERROR(runner_.Start(f.name, trigger));
  ++started_;
  return Status::Ok();
}

void RetrainScheduler::Tick() {
  std::string error;
  auto functions = registry_.ListFunctions();
  if (!functions.ok()) {
    error = functions.status().message();
  } else {
    for (const registry::FunctionInfo& f : *functions) {
      Status st = TickFunction(f);
      if (!st.ok() && error.empty()) error = f.name + ": " + st.message();
    }
  }
  errors_.Update(std::move(error));
}

}  // namespace mlfaas::gateway
