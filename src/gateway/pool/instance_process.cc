// InstanceManager, process side: worker output capture (log lines, log tails) and process exit.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/json.h"
#include "gateway/pool/instance_manager.h"

namespace mlfaas::gateway {
namespace {

constexpr size_t kMaxInvocationLog = 16 * 1024;
// No wait status: the process was not this one's child (a forked instance). Not a status the
// kernel reports (exit codes fit in 8 bits, signals below 128).
constexpr int kStatusUnknown = -1;

std::string SignalText(int sig) {
  return sig == SIGKILL ? "signal: killed" : "signal: " + std::to_string(sig);
}

// `signal_as_code`: the process was the environment's init, which ends with 128+S when the
// runtime died of signal S (sandbox::Environment::signal_as_exit_code).
std::string ExitText(int wait_status, bool signal_as_code) {
  if (wait_status == kStatusUnknown) return "exited";
  if (WIFEXITED(wait_status)) {
    const int code = WEXITSTATUS(wait_status);
    if (signal_as_code && code > 128 && code < 128 + 65) return SignalText(code - 128);
    return "exit status " + std::to_string(code);
  }
  if (WIFSIGNALED(wait_status)) return SignalText(WTERMSIG(wait_status));
  return "unknown exit";
}

}  // namespace

void InstanceManager::WatchExit(const std::shared_ptr<Instance>& inst) {
  std::weak_ptr<Instance> weak = inst;
  inst->exit_watch->async_wait(
      boost::asio::posix::descriptor::wait_read, [this, weak](boost::system::error_code ec) {
        auto inst = weak.lock();
        if (ec || !inst) return;
        Deferred later;
        std::lock_guard<std::mutex> lock(mu_);
        if (inst->pid <= 0) return;
        int status = 0;
        pid_t r;
        do {
          r = waitpid(inst->pid, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == 0) return WatchExit(inst);  // spurious wake-up
        inst->reaped = true;
        // A forked instance is its template's child: that reaps it; its status is not ours.
        inst->wait_status = r < 0 && inst->env.forked ? kStatusUnknown : status;
        inst->pid = -1;  // reaped: the number may be reused, never signal it again
        FinishExitWhenDrained(inst, later);
      });
}

void InstanceManager::FinishExitWhenDrained(const std::shared_ptr<Instance>& inst,
                                            Deferred& later) {
  if (!inst->reaped || inst->exit_handled) return;
  if (!inst->output_eof && DrainOutput(*inst, false)) inst->output_eof = true;
  const bool drained = inst->output_eof && !inst->channel;
  if (!drained && !inst->exit_drain_over) {
    if (!inst->exit_timer) {
      std::weak_ptr<Instance> weak = inst;
      inst->exit_timer = clock_.StartTimer(ioc_, kExitDrainLimit, [this, weak] {
        auto inst = weak.lock();
        if (!inst) return;
        Deferred later;
        std::lock_guard<std::mutex> lock(mu_);
        inst->exit_drain_over = true;
        FinishExitWhenDrained(inst, later);
      });
    }
    return;
  }
  OnExit(*inst, inst->wait_status, later);
}

void InstanceManager::WatchOutput(const std::shared_ptr<Instance>& inst) {
  std::weak_ptr<Instance> weak = inst;
  inst->output->async_wait(boost::asio::posix::descriptor::wait_read,
                           [this, weak](boost::system::error_code ec) {
                             auto inst = weak.lock();
                             if (ec || !inst) return;
                             Deferred later;
                             std::lock_guard<std::mutex> lock(mu_);
                             if (!inst->output || inst->output_eof) return;
                             if (DrainOutput(*inst, false)) {
                               inst->output_eof = true;
                               return FinishExitWhenDrained(inst, later);
                             }
                             WatchOutput(inst);
                             // asio's reactor is edge-triggered and a wait is not speculative:
                             // output written between the drain above and the new wait would
                             // raise no event. Drain once more now that the wait is queued.
                             if (DrainOutput(*inst, false)) inst->output_eof = true;
                           });
}

bool InstanceManager::DrainOutput(Instance& inst, bool flush_partial) {
  if (!inst.output) return true;
  char buf[8192];
  bool eof = false;
  for (;;) {
    ssize_t n = ::read(inst.output->native_handle(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = n == 0;
      break;
    }
    inst.partial_line.append(buf, static_cast<size_t>(n));
    size_t start = 0, nl;
    while ((nl = inst.partial_line.find('\n', start)) != std::string::npos) {
      AppendLog(inst, inst.SoleInFlight(),
                std::string_view(inst.partial_line).substr(start, nl - start));
      start = nl + 1;
    }
    inst.partial_line.erase(0, start);
    if (inst.partial_line.size() > kMaxInvocationLog) {
      AppendLog(inst, inst.SoleInFlight(), inst.partial_line);
      inst.partial_line.clear();
    }
  }
  if ((flush_partial || eof) && !inst.partial_line.empty()) {
    AppendLog(inst, inst.SoleInFlight(), inst.partial_line);
    inst.partial_line.clear();
  }
  return eof;
}

void InstanceManager::AppendLog(Instance& inst, InFlight* inv, std::string_view line) {
  if (inv && inv->log_tail) {
    inv->log.append(line);
    inv->log.push_back('\n');
    if (inv->log.size() > kMaxInvocationLog)
      inv->log.erase(0, inv->log.size() - kMaxInvocationLog / 2);
  }
  if (inst.log) inst.log->Write(line, inv ? std::string_view(inv->request_id) : std::string_view());
}

void InstanceManager::OnExit(Instance& inst, int wait_status, Deferred& later) {
  if (inst.exit_handled) return;
  inst.exit_handled = true;
  DrainOutput(inst, true);
  Pool& pool = *inst.pool();
  const std::string why = ExitText(wait_status, inst.env.signal_as_exit_code);
  // As on Lambda, a worker the kernel killed for exceeding its memory is not a plain crash.
  const bool oom = !inst.killed && sandbox_.OomKilled(inst.env);
  const char* exit_type = oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
  if (inst.state() == InstanceState::kStarting) {
    std::string err = inst.init_error;
    if (err.empty()) {
      err = ErrorJson(exit_type, "Runtime exited during init with error: " + why);
      if (!inst.killed) RecordInitFailure(pool, err);
    }
    CompleteAll(inst, inst.killed && shutting_down_ ? Outcome::kUnavailable : Outcome::kInitError,
                err, later);
  }
  while (!inst.inflight.empty()) {
    InFlight* inv = inst.inflight.front().get();
    std::string msg = "RequestId: " + inv->request_id + " Error: Runtime exited with error: " + why;
    if (inst.killed && shutting_down_) {
      Complete(inst, inv, Outcome::kUnavailable, "instance stopped (gateway shutting down)", later);
    } else {
      AppendLog(inst, inv, msg);
      if (oom) AppendLog(inst, inv, std::string(exit_type));
      Complete(inst, inv, Outcome::kCrash, ErrorJson(exit_type, msg), later, exit_type);
    }
  }
  if (inst.state() == InstanceState::kDraining) {
    inst.TransitionTo(InstanceState::kStopped);
  } else if (inst.state() != InstanceState::kFailed && inst.state() != InstanceState::kStopped) {
    if (!inst.killed)
      spdlog::warn("{}: instance {} exited unexpectedly ({})", pool.key, inst.id(), why);
    inst.TransitionTo(InstanceState::kFailed);
  }
  Retire(inst);
}

// The end of an exited instance: its channels, watches, log stream and environment are
// released and it leaves its pool.
void InstanceManager::Retire(Instance& inst) {
  inst.pid = -1;
  inst.parked_nexts.clear();
  inst.channel_next = false;
  if (inst.channel) {
    boost::system::error_code ec;
    inst.channel->close(ec);
    inst.channel.reset();
  }
  if (inst.runtime_api) inst.runtime_api->Stop();
  inst.output.reset();
  inst.exit_watch.reset();
  inst.log.reset();  // ends the stream: its file is closed once its lines are written
  inst.exit_timer.reset();
  sandbox_.Release(inst.env);
  auto& v = inst.pool()->instances;
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& p) { return p.get() == &inst; });
  if (it != v.end()) {
    v.erase(it);
    --live_;
  }
}

}  // namespace mlfaas::gateway
