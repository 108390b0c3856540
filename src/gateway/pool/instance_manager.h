// The mechanism behind scaling: pools of worker instances per function version, the Runtime API
// each instance talks to, timeouts, reaping, back-off and shutdown. Decisions come from
// scaling_policy.h; this class carries them out.
//
// Thread-safety: all public methods are thread-safe (one mutex guards pools and instances).
// Invocation callbacks are always run after the mutex is released.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/worker_protocol.h"
#include "gateway/base/code_store.h"
#include "gateway/base/function_log.h"
#include "gateway/base/invocation.h"
#include "gateway/base/metrics.h"
#include "gateway/pool/deferred.h"
#include "gateway/pool/instance.h"
#include "gateway/pool/scaling_policy.h"
#include "registry/registry.h"
#include "registry/usage_store.h"
#include "sandbox/sandbox.h"

namespace mlfaas::gateway {

// How the built-in runtime talks to the gateway: the worker protocol over an inherited Unix
// socket (default), or the HTTP Runtime API that custom runtimes always use.
enum class WorkerTransport { kSocket, kHttp };

struct ManagerOptions {
  int max_instances = 64;
  std::filesystem::path runtime_bin;  // worker for runtime "mlfaas"
  WorkerTransport worker_transport = WorkerTransport::kSocket;
  std::optional<int> idle_timeout_override_s;  // --idle-timeout
  std::chrono::milliseconds init_timeout{10'000};
  // Sink for worker output and START/END/REPORT lines (may be null: lines are only kept for
  // log tails).
  std::shared_ptr<FunctionLog> function_log;
};

// The snapshot template of a version (model_loading = snapshot). Its own mutex: starting a
// template and forking from it are blocking work, done outside the manager's lock.
struct SnapshotSlot {
  std::mutex mu;
  std::shared_ptr<sandbox::Template> tmpl;
  Clock::TimePoint accounted_until{};  // its cache GB-seconds are counted up to here (Tick)
};

// All instances of one function version. Guarded by the manager's mutex.
class Pool {
 public:
  std::string key;  // "<function>:<version>"
  registry::VersionInfo info;
  std::filesystem::path code_dir;
  std::vector<std::string> base_env;  // environment shared by the pool's instances
  std::vector<std::shared_ptr<Instance>> instances;
  int consecutive_init_failures = 0;
  Clock::TimePoint backoff_until{};
  std::string last_init_error;  // error JSON of the last failed init
  int64_t invocations = 0;
  int64_t cold_starts = 0;
  // Set when the version loads its model by snapshot and the sandbox can make templates.
  std::shared_ptr<SnapshotSlot> snapshot;
  // Metered usage not yet taken (TakeUsage), one record per UTC hour, oldest first.
  std::vector<registry::UsageRecord> usage;
  Clock::TimePoint provisioned_accounted_until{};  // provisioned instances counted up to here
};

class InstanceManager {
 public:
  // How long an exited worker's output pipe may stay open (held by a process it left behind)
  // before its exit is acted on anyway.
  static constexpr std::chrono::milliseconds kExitDrainLimit{500};

  // `sandbox` must outlive the manager (the gateway destroys it after).
  InstanceManager(boost::asio::io_context& ioc, Clock& clock, Random& random,
                  sandbox::Sandbox& sandbox, CodeStore& code, Metrics& metrics,
                  ManagerOptions options);
  // Kills and reaps every worker.
  ~InstanceManager();
  InstanceManager(const InstanceManager&) = delete;
  InstanceManager& operator=(const InstanceManager&) = delete;

  // Runs one RequestResponse invocation of the resolved version `v` (invoked as
  // `invoked_arn`). `done` is called exactly once.
  void Invoke(const registry::VersionInfo& v, const std::string& invoked_arn,
              std::string request_id, std::string payload, bool log_tail, InvocationContext context,
              InvokeCallback done);

  // Housekeeping, driven by a periodic timer (tests call it after advancing a FakeClock):
  // reaps idle instances past their idle timeout and fails inits older than init_timeout.
  void Tick();
  // Keeps `v.config.provisioned_concurrency` initialized instances of published version `v`.
  void EnsureProvisioned(const registry::VersionInfo& v);

  // Shutdown, phase 1: refuse new invocations, stop idle/starting instances; busy instances
  // finish their invocation and are then stopped.
  void BeginShutdown();
  // Shutdown, phase 2: SIGKILL every worker, fail what is still in flight, reap all.
  void KillAll();

  int InFlightCount() const;
  int LiveInstances() const;
  nlohmann::json StatusJson() const;
  // Instances by state and invocations running, for /metrics.
  Metrics::Live LiveCounts() const;
  // Hands over (and forgets) the usage metered since the last call: per version and UTC hour,
  // requests and billed MB-ms (Complete), provisioned and snapshot MB-ms (Tick).
  std::vector<registry::UsageRecord> TakeUsage();

 private:
  using Deferred = DeferredCalls;

  Pool& PoolFor(const registry::VersionInfo& v, Deferred& later);
  // Counts the version's template memory since the last tick as snapshot cache GB-seconds.
  void AccountSnapshot(Pool& pool, Clock::TimePoint now);
  // Counts the version's live provisioned instances since the last tick as provisioned MB-ms.
  void AccountProvisioned(Pool& pool, Clock::TimePoint now);
  Status InitPool(Pool& pool, const registry::VersionInfo& v);
  // Starting an instance (instance_start.cc): Reserve under mu_, Launch without it (LaunchLater
  // defers it until mu_ is released), Attach (or FailLaunch, or Discard) under it again.
  struct Reserved {
    std::shared_ptr<Instance> inst;
    sandbox::EnvironmentSpec spec;
    // Snapshot: the version's template slot, and how to start its template if there is none.
    std::shared_ptr<SnapshotSlot> snapshot;
    sandbox::EnvironmentSpec template_spec;
    // The version's names, copied under the lock: Launch runs outside it, while Invoke may
    // rewrite the pool's info.
    std::string function;
    std::string version;
  };
  // Forks the instance from the version's template, starting the template first if needed.
  StatusOr<sandbox::Environment> LaunchFromSnapshot(Reserved& r);
  StatusOr<Reserved> Reserve(Pool& pool, bool provisioned);
  void LaunchLater(Reserved r, Deferred& later);
  void Launch(Reserved r);
  void Attach(const std::shared_ptr<Instance>& inst, sandbox::Environment env);
  void FailLaunch(Instance& inst, const Status& why, Deferred& later);
  // Kills, reaps and releases an environment no instance will use.
  void Discard(sandbox::Environment& env);
  // Binds `inv` to `inst` (which has a free slot) and delivers it if the worker waits for work.
  void Assign(Instance& inst, std::unique_ptr<InFlight> inv);
  // Hands the bound, undelivered invocations to the worker while it waits for work.
  void DeliverPending(Instance& inst);
  void Deliver(Instance& inst, InFlight& inv);
  // Answers `inv` (bound to `inst`) and unbinds it. `error_type` overrides the type the outcome
  // implies (Runtime.ExitError for a crash).
  void Complete(Instance& inst, InFlight* inv, Outcome outcome, std::string body, Deferred& later,
                std::string_view error_type = {});
  // Complete for every invocation bound to `inst`, with the same answer.
  void CompleteAll(Instance& inst, Outcome outcome, const std::string& body, Deferred& later,
                   std::string_view error_type = {});
  void FailUnbound(std::unique_ptr<InFlight> inv, const std::string& function,
                   const std::string& version, Outcome outcome, std::string body,
                   std::string error_type, Deferred& later);
  void AfterInvocation(Instance& inst);
  void RefreshPeak(Instance& inst);
  // Pipelined instances: whether the output was drained and the peak read for an answer of the
  // channel read being handled (the answers of one read share them).
  static bool RefreshedThisRead(const Instance& inst) {
    return inst.pipelined > 0 && inst.refreshed_at_read == inst.channel_reads;
  }
  void Stop(Instance& inst, InstanceState terminal_or_draining);
  void RecordInitFailure(Pool& pool, const std::string& error_json);
  bool EvictLruIdle(const Pool& except);
  // What the scaling policy decides on, and the instance ChooseInstance picks (null if none).
  InvokeSnapshot Snapshot(const Pool& pool, const registry::VersionInfo& v,
                          Instance** chosen) const;
  void StartFor(Pool& pool, std::unique_ptr<InFlight> inv, Deferred& later);

  // The instance's HTTP Runtime API, on a port of its own or (listen_fd) on the socket its
  // environment listens on inside its own network (runtime_api.cc).
  // `uid` >= 0: only connections from processes of that uid are served (a port on the host's
  // loopback that any local process could reach).
  Status StartRuntimeApi(const std::shared_ptr<Instance>& inst, int listen_fd = -1,
                         int64_t uid = -1);
  // Runtime API events (runtime_api.cc).
  void HandleRuntimeApi(const std::weak_ptr<Instance>& weak, Request&& req, Responder respond);
  // The worker asked for work (a GET /next is parked, or an N or P frame came).
  void OnNext(Instance& inst);
  // False for an unknown request id.
  bool OnResult(Instance& inst, const std::string& id, std::string body, bool is_error,
                Deferred& later);
  void OnInitError(Instance& inst, std::string body, Deferred& later);
  void OnTimeout(const std::weak_ptr<Instance>& weak, const std::string& request_id);
  void ArmTimeout(Instance& inst, InFlight& inv);
  void OnProtocolViolation(Instance& inst, const std::string& why, Deferred& later);
  // Worker protocol (instance_channel.cc).
  void AttachChannel(Instance& inst, int fd);
  void ReadChannel(const std::shared_ptr<Instance>& inst);
  bool OnChannelFrame(Instance& inst, const wire::Frame& frame, Deferred& later);
  void OnChannelResult(Instance& inst, const std::string& id, std::string body, bool is_error,
                       Deferred& later);
  void WriteChannel(Instance& inst, std::string frame);
  void WatchExit(const std::shared_ptr<Instance>& inst);
  void WatchOutput(const std::shared_ptr<Instance>& inst);
  // Reads what the worker wrote so far; true at EOF.
  bool DrainOutput(Instance& inst, bool flush_partial);
  void AppendLog(Instance& inst, InFlight* inv, std::string_view line);
  // After the process was reaped: acts on the exit once its output and channel reached EOF (or
  // kExitDrainLimit passed).
  void FinishExitWhenDrained(const std::shared_ptr<Instance>& inst, Deferred& later);
  void OnExit(Instance& inst, int wait_status, Deferred& later);
  void Retire(Instance& inst);

  boost::asio::io_context& ioc_;
  Clock& clock_;
  Random& random_;  // log stream names
  sandbox::Sandbox& sandbox_;
  CodeStore& code_;
  Metrics& metrics_;
  const ManagerOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  // Snapshot's list of candidates, kept between calls (its capacity: no allocation per call).
  mutable std::vector<InstanceLoadView> views_;
  int next_instance_id_ = 1;
  int live_ = 0;
  int in_flight_ = 0;
  bool shutting_down_ = false;
};

}  // namespace mlfaas::gateway
