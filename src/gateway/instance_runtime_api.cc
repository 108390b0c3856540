// InstanceManager, worker side: spawning (from a stem cell or by fork/exec), the per-instance
// Runtime API over HTTP (2018-06-01), delivery, results and invocation timeouts. Worker output
// and process exit: instance_process.cc; the worker protocol: instance_channel.cc.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "common/json.h"
#include "gateway/deferred.h"
#include "gateway/instance_manager.h"
#include "gateway/report.h"

namespace mlfaas::gateway {
namespace {

constexpr size_t kMaxResponseBytes = 6 * 1024 * 1024;

double Millis(Clock::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Response RuntimeError(http::status status, const std::string& type, const std::string& msg) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = ErrorJson(type, msg);
  return res;
}

Response Accepted() {
  Response res{http::status::accepted, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = R"({"status":"OK"})";
  return res;
}

std::string SafeId(std::string s) {
  for (char& c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return s;
}

}  // namespace

StatusOr<std::shared_ptr<Instance>> InstanceManager::StartInstance(Pool& pool, bool provisioned) {
  auto inst = std::make_shared<Instance>(next_instance_id_++, &pool);
  const auto& v = pool.info;
  const bool builtin = v.config.runtime != "provided";
  const bool socket = builtin && options_.worker_transport == WorkerTransport::kSocket;
  std::vector<std::string> env = pool.base_env;
  if (socket) {
    env.push_back(wire::WorkerFdEntry(wire::kRuntimeFdEnv));
  } else {
    HttpServerOptions o;
    o.idle_timeout = std::chrono::minutes(30);
    o.read_timeout = std::chrono::seconds(60);
    // Larger than Lambda's 6 MiB: an oversized result fails its invocation (OnResult).
    o.body_limit = wire::kMaxFrame;
    o.error_factory = RuntimeError;
    std::weak_ptr<Instance> weak = inst;
    inst->runtime_api =
        std::make_unique<HttpServer>(ioc_, o, [this, weak](Request&& req, Responder respond) {
          HandleRuntimeApi(weak, std::move(req), std::move(respond));
        });
    MLFAAS_RETURN_IF_ERROR(inst->runtime_api->Start());
    env.push_back(std::string(wire::kRuntimeApiEnv) +
                  "=127.0.0.1:" + std::to_string(inst->runtime_api->port()));
  }
  inst->log_stream = LogStreamName(clock_.EpochMillis(), v.version, random_);
  env.push_back("AWS_LAMBDA_LOG_STREAM_NAME=" + inst->log_stream);
  if (options_.function_log)
    inst->log = options_.function_log->OpenStream(v.function, inst->log_stream);
  env.push_back(std::string("AWS_LAMBDA_INITIALIZATION_TYPE=") +
                (provisioned ? "provisioned-concurrency" : "on-demand"));
  const std::filesystem::path exe = builtin ? options_.runtime_bin : pool.code_dir / "bootstrap";
  inst->created_at = clock_.Now();
  int output_fd = -1, pidfd = -1;
  if (auto stem = stems_ ? stems_->Take() : std::nullopt) {
    // A waiting stem cell becomes the instance: its limits, then its launch frame.
    inst->cgroup_id = stem->cgroup_id;
    if (Status st = options_.cgroups.SetLimits(inst->cgroup_id, v.config.memory_mb); !st.ok()) {
      spdlog::warn("{}: {}", pool.key, st.message());
    }
    std::string frame;
    wire::AppendLaunch(frame, {builtin ? std::string() : exe.string(), pool.code_dir.string(), {},
                               std::move(env)});
    inst->pid = stem->pid;
    output_fd = stem->output_fd;
    pidfd = stem->pidfd;
    AttachChannel(*inst, stem->socket_fd);
    WriteChannel(*inst, std::move(frame));
    // A custom runtime speaks HTTP: the channel stays open only to hear a failed launch (an I
    // frame) and closes at EOF, when the exec'd bootstrap drops the close-on-exec socket.
  } else {
    LaunchSpec spec;
    inst->cgroup_id =
        Cgroups::OwnedId(SafeId(v.function + "-" + v.version + "-" + std::to_string(inst->id())));
    auto join = options_.cgroups.Create(inst->cgroup_id, v.config.memory_mb);
    if (join.ok()) {
      spec.join_files = *join;
    } else {
      spdlog::warn("{}: {} (instance runs without limits)", pool.key, join.status().message());
    }
    spec.executable = exe;
    spec.cwd = pool.code_dir;
    spec.env = std::move(env);
    int sv[2] = {-1, -1};
    if (socket && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      options_.cgroups.Remove(inst->cgroup_id);
      return Internal(std::string("socketpair: ") + strerror(errno));
    }
    spec.pass_fd = sv[1];
    auto launched = launcher_.Launch(spec);
    if (sv[1] >= 0) close(sv[1]);
    if (!launched.ok()) {
      if (sv[0] >= 0) close(sv[0]);
      options_.cgroups.Remove(inst->cgroup_id);
      if (inst->runtime_api) inst->runtime_api->Stop();
      return launched.status();
    }
    inst->pid = launched->pid;
    output_fd = launched->output_fd;
    pidfd = launched->pidfd;
    if (socket) AttachChannel(*inst, sv[0]);
  }
  inst->peak_fd = options_.cgroups.OpenPeak(inst->cgroup_id);
  inst->output = std::make_unique<boost::asio::posix::stream_descriptor>(ioc_, output_fd);
  inst->exit_watch = std::make_unique<boost::asio::posix::stream_descriptor>(ioc_, pidfd);
  inst->provisioned = provisioned;
  pool.instances.push_back(inst);
  ++live_;
  ++pool.cold_starts;
  WatchExit(inst);
  WatchOutput(inst);
  if (inst->channel) ReadChannel(inst);
  return inst;
}

void InstanceManager::HandleRuntimeApi(const std::weak_ptr<Instance>& weak, Request&& req,
                                       Responder respond) {
  auto inst = weak.lock();
  if (!inst)
    return respond(RuntimeError(http::status::gone, "InstanceStopped", "instance stopped"));
  const wire::RuntimeApiPath path =
      wire::ParseRuntimeApiPath(std::string_view(req.target().data(), req.target().size()));
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  if (get && path.call == wire::RuntimeCall::kNext) {
    inst->parked_next = std::move(respond);
    return OnNext(*inst);
  }
  if (post && path.call == wire::RuntimeCall::kInitError) {
    respond(Accepted());
    return OnInitError(*inst, WorkerErrorBody(std::move(req.body()), ""), later);
  }
  const bool error = path.call == wire::RuntimeCall::kError;
  if (post && (error || path.call == wire::RuntimeCall::kResponse)) {
    std::string id(path.request_id);
    std::string body = std::move(req.body());
    if (error) {
      auto h = req[wire::kErrorTypeHeader];
      body = WorkerErrorBody(std::move(body), std::string_view(h.data(), h.size()));
    }
    if (!OnResult(*inst, id, std::move(body), error, later)) {
      return respond(RuntimeError(http::status::bad_request, "InvalidRequestID",
                                  "Invalid request ID: " + id));
    }
    return respond(Accepted());
  }
  respond(RuntimeError(http::status::not_found, "NotFound", "unknown Runtime API path"));
}

void InstanceManager::OnNext(Instance& inst) {
  Pool& pool = *inst.pool();
  if (inst.state() == InstanceState::kStarting) {
    inst.init_duration_ms = Millis(clock_.Now() - inst.created_at);
    inst.TransitionTo(InstanceState::kIdle);
    inst.idle_since = clock_.Now();
    pool.consecutive_init_failures = 0;
    pool.backoff_until = {};
    metrics_.RecordColdStart(pool.info.function, pool.info.version, inst.init_duration_ms);
    if (inst.current) inst.TransitionTo(InstanceState::kBusy);
  }
  if (inst.current && !inst.current->delivered) Deliver(inst);
}

void InstanceManager::Deliver(Instance& inst) {
  InFlight& inv = *inst.current;
  const auto& cfg = inst.pool()->info.config;
  inv.delivered = true;
  inv.sent_at = clock_.Now();
  inv.deadline_epoch_ms = clock_.EpochMillis() + int64_t{cfg.timeout_s} * 1000;
  const std::string trace =
      "Root=1-00000000-" + inv.request_id.substr(0, 8) + ";Parent=0000000000000000;Sampled=0";
  AppendLog(inst, &inv, StartLine(inv.request_id, inst.pool()->info.version));
  ArmTimeout(inst);
  if (inst.channel_next) {
    inst.channel_next = false;
    std::string frame;
    wire::AppendInvocation(frame,
                           {inv.request_id, inv.deadline_epoch_ms, inv.invoked_arn, trace, inv.payload});
    inv.payload.clear();
    return WriteChannel(inst, std::move(frame));
  }
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(wire::kRequestIdHeader, inv.request_id);
  res.set(wire::kDeadlineHeader, std::to_string(inv.deadline_epoch_ms));
  res.set(wire::kFunctionArnHeader, inv.invoked_arn);
  res.set(wire::kTraceIdHeader, trace);
  res.body() = std::move(inv.payload);
  Responder next = std::move(inst.parked_next);
  inst.parked_next = Responder();
  next(std::move(res));
}

bool InstanceManager::OnResult(Instance& inst, const std::string& id, std::string body,
                               bool is_error, Deferred& later) {
  if (!inst.current || !inst.current->delivered || inst.current->request_id != id) return false;
  // Lines the worker wrote before answering are in the pipe already: they belong before END.
  if (!inst.output_eof && DrainOutput(inst, false)) inst.output_eof = true;
  if (!is_error && body.size() > kMaxResponseBytes) {  // Lambda's limit on a function's result
    std::string msg = "Response payload size (" + std::to_string(body.size()) +
                      " bytes) exceeded maximum allowed payload size (" +
                      std::to_string(kMaxResponseBytes) + " bytes).";
    AppendLog(inst, inst.current.get(), "RequestId: " + id + " Error: " + msg);
    body = ErrorJson("Function.ResponseSizeTooLarge", msg);
    is_error = true;
  }
  Complete(inst, is_error ? Outcome::kFunctionError : Outcome::kSuccess, std::move(body), later);
  AfterInvocation(inst);
  return true;
}

void InstanceManager::OnInitError(Instance& inst, std::string body, Deferred& later) {
  if (inst.state() != InstanceState::kStarting) {
    spdlog::warn("{}: instance {} posted init/error after init", inst.pool()->key, inst.id());
    return;
  }
  inst.init_error = body;
  RecordInitFailure(*inst.pool(), body);
  Complete(inst, Outcome::kInitError, body, later);
  Stop(inst, InstanceState::kFailed);
}

// (Re)starts the invocation's timeout: at delivery, and already at assignment (a worker that
// stalls before asking for work must not hold the call forever).
void InstanceManager::ArmTimeout(Instance& inst) {
  InFlight& inv = *inst.current;
  inv.timer = std::make_unique<boost::asio::steady_timer>(
      ioc_, std::chrono::seconds(inst.pool()->info.config.timeout_s));
  std::weak_ptr<Instance> weak = inst.weak_from_this();
  inv.timer->async_wait([this, weak, id = inv.request_id](boost::system::error_code ec) {
    if (!ec) OnTimeout(weak, id);
  });
}

// A worker broke the protocol (a malformed frame, a frame out of order): its invocation (or its
// init) fails as a crash would, then the instance is stopped.
void InstanceManager::OnProtocolViolation(Instance& inst, const std::string& why, Deferred& later) {
  spdlog::warn("{}: instance {}: {}", inst.pool()->key, inst.id(), why);
  if (inst.state() == InstanceState::kStarting) {
    inst.init_error =
        ErrorJson("Runtime.ExitError", "Runtime protocol violation during init: " + why);
    RecordInitFailure(*inst.pool(), inst.init_error);
    Complete(inst, Outcome::kInitError, inst.init_error, later);
  } else if (inst.current) {
    const std::string msg =
        "RequestId: " + inst.current->request_id + " Error: Runtime protocol violation: " + why;
    AppendLog(inst, inst.current.get(), msg);
    Complete(inst, Outcome::kCrash, ErrorJson("Runtime.ExitError", msg), later);
  }
  Stop(inst, InstanceState::kFailed);
}

void InstanceManager::OnTimeout(const std::weak_ptr<Instance>& weak,
                                const std::string& request_id) {
  auto inst = weak.lock();
  if (!inst) return;
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  if (!inst->current || inst->current->request_id != request_id) return;
  char secs[32];
  snprintf(secs, sizeof secs, "%.2f", static_cast<double>(inst->pool()->info.config.timeout_s));
  std::string msg =
      "RequestId: " + request_id + " Error: Task timed out after " + secs + " seconds";
  AppendLog(*inst, inst->current.get(), msg);
  Complete(*inst, Outcome::kTimeout, ErrorJson("Sandbox.Timedout", msg), later);
  Stop(*inst, InstanceState::kFailed);
}

}  // namespace mlfaas::gateway
