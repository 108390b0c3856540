// InstanceManager, starting an instance: from a waiting stem cell (its launch frame) or by
// fork/exec through the launcher, with its cgroup, its channel or Runtime API, and the watches
// on its output and exit. The Runtime API and delivery: runtime_api.cc; output and exit:
// instance_process.cc; the worker protocol: instance_channel.cc.
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway/base/report.h"
#include "gateway/pool/instance_manager.h"

namespace mlfaas::gateway {
namespace {

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
    MLFAAS_RETURN_IF_ERROR(StartRuntimeApi(inst));
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
    sandbox::LaunchSpec spec;
    inst->cgroup_id =
        sandbox::Cgroups::OwnedId(SafeId(v.function + "-" + v.version + "-" + std::to_string(inst->id())));
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

}  // namespace mlfaas::gateway
