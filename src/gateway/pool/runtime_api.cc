// InstanceManager, the worker's side of an invocation: the per-instance Runtime API over HTTP
// (2018-06-01), delivery, results, init errors and invocation timeouts. Starting instances:
// instance_start.cc; worker output and process exit: instance_process.cc; the worker protocol:
// instance_channel.cc.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "common/json.h"
#include "gateway/base/report.h"
#include "gateway/pool/deferred.h"
#include "gateway/pool/instance_manager.h"
#include "sandbox/peer_uid.h"

namespace mlfaas::gateway {
namespace {

constexpr size_t kMaxResponseBytes = 6 * 1024 * 1024;

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

}  // namespace

Status InstanceManager::StartRuntimeApi(const std::shared_ptr<Instance>& inst, int listen_fd,
                                        int64_t uid) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::minutes(30);
  o.read_timeout = std::chrono::seconds(60);
  // Larger than Lambda's 6 MiB: an oversized result fails its invocation (OnResult).
  o.body_limit = wire::kMaxFrame;
  o.error_factory = RuntimeError;
  std::weak_ptr<Instance> weak = inst;
  // On the host's loopback (not inside the instance's own network), any local process could
  // connect and take the instance's invocations: only its own uid is served.
  if (listen_fd < 0 && uid >= 0) {
    o.admit = [uid](int fd) {
      const auto peer = sandbox::LoopbackPeerUid(fd);
      return peer && static_cast<int64_t>(*peer) == uid;
    };
  }
  inst->runtime_api =
      std::make_unique<HttpServer>(ioc_, o, [this, weak](Request&& req, Responder respond) {
        HandleRuntimeApi(weak, std::move(req), std::move(respond));
      });
  return listen_fd >= 0 ? inst->runtime_api->Adopt(listen_fd) : inst->runtime_api->Start();
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
    // A runtime holds at most N long-polls at once (N = 1: one).
    if (static_cast<int>(inst->parked_nexts.size()) >= inst->max_concurrency) {
      return respond(RuntimeError(http::status::bad_request, "TooManyConcurrentNext",
                                  "more concurrent GET /next calls than the function's " +
                                      std::to_string(inst->max_concurrency) +
                                      " invocations per instance"));
    }
    inst->parked_nexts.push_back(std::move(respond));
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
      return respond(
          RuntimeError(http::status::bad_request, "InvalidRequestID", "Invalid request ID: " + id));
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
    if (!inst.inflight.empty()) inst.TransitionTo(InstanceState::kBusy);
  }
  DeliverPending(inst);
}

void InstanceManager::DeliverPending(Instance& inst) {
  if (inst.state() == InstanceState::kStarting) return;  // until its init is done
  while (inst.WaitingForWork()) {
    InFlight* inv = inst.NextUndelivered();
    if (!inv) return;
    Deliver(inst, *inv);
  }
}

void InstanceManager::Deliver(Instance& inst, InFlight& inv) {
  const auto& cfg = inst.pool()->info.config;
  inv.delivered = true;
  inv.sent_at = clock_.Now();
  inv.deadline_epoch_ms = clock_.EpochMillis() + int64_t{cfg.timeout_s} * 1000;
  const std::string& trace = inv.trace_id;
  AppendLog(inst, &inv, StartLine(inv.request_id, inst.pool()->info.version));
  ArmTimeout(inst, inv);
  if (inst.pipelined > 0) {
    // Written by one flush after the io_context's pass over the connections that are ready
    // now, with the invocations they bring: one send, and one wake-up of the worker, for all.
    ++inst.channel_outstanding;
    wire::AppendInvocation(inst.channel_batch, {inv.request_id, inv.deadline_epoch_ms,
                                                inv.invoked_arn, trace, inv.payload});
    inv.payload.clear();
    if (!inst.flush_posted) {
      inst.flush_posted = true;
      boost::asio::post(ioc_, [this, weak = inst.weak_from_this()] {
        auto inst = weak.lock();
        if (!inst) return;
        std::lock_guard<std::mutex> lock(mu_);
        inst->flush_posted = false;
        std::string batch = std::move(inst->channel_batch);
        inst->channel_batch.clear();
        if (batch.empty()) return;
        ++inst->channel_flushes;
        WriteChannel(*inst, std::move(batch));
      });
    }
    return;
  }
  if (inst.channel_next) {
    inst.channel_next = false;
    ++inst.channel_outstanding;
    std::string frame;
    wire::AppendInvocation(
        frame, {inv.request_id, inv.deadline_epoch_ms, inv.invoked_arn, trace, inv.payload});
    inv.payload.clear();
    return WriteChannel(inst, std::move(frame));
  }
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(wire::kRequestIdHeader, inv.request_id);
  res.set(wire::kDeadlineHeader, std::to_string(inv.deadline_epoch_ms));
  res.set(wire::kFunctionArnHeader, inv.invoked_arn);
  res.set(wire::kTraceIdHeader, trace);
  if (!inv.client_context.empty()) res.set(wire::kClientContextHeader, inv.client_context);
  res.body() = std::move(inv.payload);
  Responder next = std::move(inst.parked_nexts.front());
  inst.parked_nexts.pop_front();
  next(std::move(res));
}

bool InstanceManager::OnResult(Instance& inst, const std::string& id, std::string body,
                               bool is_error, Deferred& later) {
  InFlight* inv = inst.FindDelivered(id);
  if (!inv) return false;
  // Lines the worker wrote before answering are in the pipe already: they belong before END.
  // (Pipelined, the answers that came in one read were all written after those lines: one
  // drain serves them all.)
  if (!inst.output_eof && !RefreshedThisRead(inst) && DrainOutput(inst, false)) {
    inst.output_eof = true;
  }
  if (!is_error && body.size() > kMaxResponseBytes) {  // Lambda's limit on a function's result
    std::string msg = "Response payload size (" + std::to_string(body.size()) +
                      " bytes) exceeded maximum allowed payload size (" +
                      std::to_string(kMaxResponseBytes) + " bytes).";
    AppendLog(inst, inv, "RequestId: " + id + " Error: " + msg);
    body = ErrorJson("Function.ResponseSizeTooLarge", msg);
    is_error = true;
  }
  Complete(inst, inv, is_error ? Outcome::kFunctionError : Outcome::kSuccess, std::move(body),
           later);
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
  CompleteAll(inst, Outcome::kInitError, body, later);
  Stop(inst, InstanceState::kFailed);
}

// (Re)starts the invocation's timeout: at delivery, and already at assignment (a worker that
// stalls before asking for work must not hold the call forever).
void InstanceManager::ArmTimeout(Instance& inst, InFlight& inv) {
  std::weak_ptr<Instance> weak = inst.weak_from_this();
  inv.timer = clock_.StartTimer(ioc_, std::chrono::seconds(inst.pool()->info.config.timeout_s),
                                [this, weak, id = inv.request_id] { OnTimeout(weak, id); });
}

// A worker broke the protocol (a malformed frame, a frame out of order): its invocation (or its
// init) fails as a crash would, then the instance is stopped.
void InstanceManager::OnProtocolViolation(Instance& inst, const std::string& why, Deferred& later) {
  spdlog::warn("{}: instance {}: {}", inst.pool()->key, inst.id(), why);
  if (inst.state() == InstanceState::kStarting) {
    inst.init_error =
        ErrorJson("Runtime.ExitError", "Runtime protocol violation during init: " + why);
    RecordInitFailure(*inst.pool(), inst.init_error);
    CompleteAll(inst, Outcome::kInitError, inst.init_error, later);
  }
  while (!inst.inflight.empty()) {
    InFlight* inv = inst.inflight.front().get();
    const std::string msg =
        "RequestId: " + inv->request_id + " Error: Runtime protocol violation: " + why;
    AppendLog(inst, inv, msg);
    Complete(inst, inv, Outcome::kCrash, ErrorJson("Runtime.ExitError", msg), later);
  }
  Stop(inst, InstanceState::kFailed);
}

void InstanceManager::OnTimeout(const std::weak_ptr<Instance>& weak,
                                const std::string& request_id) {
  auto inst = weak.lock();
  if (!inst) return;
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  InFlight* inv = nullptr;
  for (const auto& i : inst->inflight) {
    if (i->request_id == request_id) inv = i.get();
  }
  if (!inv) return;
  char secs[32];
  snprintf(secs, sizeof secs, "%.2f", static_cast<double>(inst->pool()->info.config.timeout_s));
  std::string msg =
      "RequestId: " + request_id + " Error: Task timed out after " + secs + " seconds";
  AppendLog(*inst, inv, msg);
  Complete(*inst, inv, Outcome::kTimeout, ErrorJson("Sandbox.Timedout", msg), later);
  if (inst->max_concurrency == 1) return Stop(*inst, InstanceState::kFailed);
  // N > 1: the other invocations are not failed with it. The instance takes no new ones and is
  // stopped once they have finished (AfterInvocation), which also ends the timed-out one.
  spdlog::info("{}: instance {}: invocation {} timed out; draining", inst->pool()->key, inst->id(),
               request_id);
  if (inst->state() == InstanceState::kBusy) inst->TransitionTo(InstanceState::kDraining);
  AfterInvocation(*inst);
}

}  // namespace mlfaas::gateway
