// InstanceManager, starting an instance, in three steps so that no fork, exec or cgroup write
// runs under the pool lock:
//   1. Reserve (under mu_): the Instance exists, kStarting, counted in the pool and live_, so
//      scaling decisions and status see it; its environment spec is built.
//   2. Launch (no lock): sandbox_.Start(spec), a stem cell's launch frame or fork/exec.
//   3. Attach (under mu_): the environment's descriptors become the instance's output, exit
//      watch and channel. If the instance was stopped meanwhile (shutdown, init timeout), the
//      new process is killed and reaped instead; if the launch failed, the instance fails its
//      init (its waiting invocation gets Runtime.InitError, the pool backs off).
// The Runtime API and delivery: runtime_api.cc; output and exit: instance_process.cc; the
// worker protocol: instance_channel.cc.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/json.h"
#include "gateway/base/report.h"
#include "gateway/pool/instance_manager.h"

namespace mlfaas::gateway {

StatusOr<InstanceManager::Reserved> InstanceManager::Reserve(Pool& pool, bool provisioned) {
  auto inst = std::make_shared<Instance>(next_instance_id_++, &pool);
  const auto& v = pool.info;
  inst->max_concurrency = v.config.max_concurrency_per_instance;
  const bool builtin = v.config.runtime != "provided";
  sandbox::EnvironmentSpec spec;
  spec.name = v.function + "-" + v.version + "-" + std::to_string(inst->id());
  spec.builtin_runtime = builtin;
  spec.channel = builtin && options_.worker_transport == WorkerTransport::kSocket;
  spec.executable = builtin ? options_.runtime_bin : pool.code_dir / "bootstrap";
  spec.cwd = pool.code_dir;
  MLFAAS_ASSIGN_OR_RETURN(spec.uid, sandbox_.TakeUid());
  spec.memory_mb = v.config.memory_mb;
  spec.ephemeral_mb = v.config.ephemeral_storage_mb;
  spec.env = pool.base_env;
  if (spec.channel) {
    spec.env.push_back(wire::WorkerFdEntry(wire::kRuntimeFdEnv));
  } else if (auto inside = sandbox_.RuntimeApiAddress()) {
    // The environment has a network of its own: its Runtime API listens there (served once its
    // socket arrives with the environment, Attach).
    spec.env.push_back(std::string(wire::kRuntimeApiEnv) + "=" + *inside);
  } else {
    if (Status st = StartRuntimeApi(inst, -1, spec.uid); !st.ok()) {
      sandbox_.GiveUid(spec.uid);
      return st;
    }
    spec.env.push_back(std::string(wire::kRuntimeApiEnv) +
                       "=127.0.0.1:" + std::to_string(inst->runtime_api->port()));
  }
  inst->log_stream = LogStreamName(clock_.EpochMillis(), v.version, random_);
  spec.env.push_back("AWS_LAMBDA_LOG_STREAM_NAME=" + inst->log_stream);
  spec.env.push_back(std::string("AWS_LAMBDA_INITIALIZATION_TYPE=") +
                     (provisioned ? "provisioned-concurrency" : "on-demand"));
  inst->created_at = clock_.Now();
  inst->provisioned = provisioned;
  pool.instances.push_back(inst);
  ++live_;
  ++pool.cold_starts;
  Reserved r{inst, std::move(spec), pool.snapshot, {}, pool.info.function, pool.info.version};
  if (r.snapshot) {
    // The template: the version's environment with its Runtime API where its children's will
    // be (a runtime may read the address during init), as Lambda's SnapStart init type says.
    sandbox::EnvironmentSpec& t = r.template_spec;
    t = r.spec;
    t.name = v.function + "-" + v.version + "-template";
    t.uid = -1;  // taken when a template is started
    t.env = pool.base_env;
    if (auto inside = sandbox_.RuntimeApiAddress()) {
      t.env.push_back(std::string(wire::kRuntimeApiEnv) + "=" + *inside);
    }
    t.env.push_back("AWS_LAMBDA_LOG_STREAM_NAME=" + inst->log_stream + "-template");
    t.env.push_back("AWS_LAMBDA_INITIALIZATION_TYPE=snap-start");
  }
  return r;
}

StatusOr<sandbox::Environment> InstanceManager::LaunchFromSnapshot(Reserved& r) {
  SnapshotSlot& slot = *r.snapshot;
  std::lock_guard<std::mutex> lock(slot.mu);
  if (!slot.tmpl || slot.tmpl->Ended()) {
    slot.tmpl.reset();
    sandbox::EnvironmentSpec spec = r.template_spec;
    MLFAAS_ASSIGN_OR_RETURN(spec.uid, sandbox_.TakeUid());
    auto started = sandbox_.StartTemplate(spec);
    if (!started.ok()) {
      sandbox_.GiveUid(r.spec.uid);
      return started.status().WithPrefix("snapshot template");
    }
    slot.tmpl = *started;
  }
  auto env = sandbox_.Fork(*slot.tmpl, r.spec, options_.init_timeout);
  if (env.ok()) {
    r.inst->snapshot_template = slot.tmpl;
  } else {
    slot.tmpl.reset();  // a template that failed once is replaced at the next cold start
  }
  return env;
}

void InstanceManager::LaunchLater(Reserved r, Deferred& later) {
  later.Add([this, r = std::move(r)]() mutable { Launch(std::move(r)); });
}

void InstanceManager::Launch(Reserved r) {
  // The log stream's file is opened here too: file I/O stays out of the lock.
  std::unique_ptr<LogStream> log;
  if (options_.function_log) {
    log = options_.function_log->OpenStream(r.function, r.inst->log_stream, r.version);
  }
  StatusOr<sandbox::Environment> env = r.snapshot ? LaunchFromSnapshot(r) : sandbox_.Start(r.spec);
  Deferred later;
  std::unique_lock<std::mutex> lock(mu_);
  Instance& inst = *r.inst;
  inst.log = std::move(log);
  if (!env.ok()) return FailLaunch(inst, env.status(), later);
  if (inst.exit_handled || inst.killed || shutting_down_) {
    // Stopped while its process was starting: that process never becomes the instance. (Not
    // the state: a fast worker may already have asked for work over its Runtime API, which
    // made the instance idle, before this thread got the lock.)
    lock.unlock();
    Discard(*env);
    lock.lock();
    OnExit(inst, 0, later);
    return;
  }
  Attach(r.inst, std::move(*env));
}

void InstanceManager::Attach(const std::shared_ptr<Instance>& inst, sandbox::Environment env) {
  inst->pid = env.pid;
  inst->output = std::make_unique<boost::asio::posix::stream_descriptor>(ioc_, env.output_fd);
  inst->exit_watch = std::make_unique<boost::asio::posix::stream_descriptor>(ioc_, env.exit_fd);
  const int channel_fd = env.channel_fd;
  const int api_fd = env.api_fd;
  env.output_fd = env.exit_fd = env.channel_fd = env.api_fd = -1;  // owned by the instance now
  inst->env = std::move(env);
  const Status api = api_fd >= 0 ? StartRuntimeApi(inst, api_fd) : Status::Ok();
  // A custom runtime from a stem cell speaks HTTP: its channel stays open only to hear a failed
  // launch (an I frame) and closes at EOF, when the exec'd bootstrap drops the socket.
  if (channel_fd >= 0) AttachChannel(*inst, channel_fd);
  WatchExit(inst);
  WatchOutput(inst);
  if (inst->channel) ReadChannel(inst);
  if (!api.ok()) {  // it could never reach its Runtime API: its init fails now, not at timeout
    inst->init_error = ErrorJson("Runtime.InitError", api.message());
    RecordInitFailure(*inst->pool(), inst->init_error);
    Stop(*inst, InstanceState::kFailed);
  }
}

void InstanceManager::FailLaunch(Instance& inst, const Status& why, Deferred& later) {
  if (inst.exit_handled) return;
  const std::string err = ErrorJson("Runtime.InitError", why.message());
  if (!shutting_down_) RecordInitFailure(*inst.pool(), err);
  inst.init_error = err;
  inst.killed = true;  // nothing ran: not an unexpected exit
  OnExit(inst, 0, later);
}

void InstanceManager::Discard(sandbox::Environment& env) {
  sandbox::KillGroup(env.pid, SIGKILL);
  int status;
  while (waitpid(env.pid, &status, 0) < 0 && errno == EINTR) {
  }
  for (int fd : {env.output_fd, env.exit_fd, env.channel_fd, env.api_fd}) {
    if (fd >= 0) close(fd);
  }
  sandbox_.Release(env);
}

}  // namespace mlfaas::gateway
