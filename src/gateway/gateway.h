// The assembled gateway: public HTTP server + router + invoker + instance manager + the
// maintenance thread (reaping every second, provisioned concurrency every few seconds).
//
// Usage: Gateway g(options, registry, code_store); g.Start(); ... g.Shutdown();
// Thread-safety: Start/Shutdown from one controlling thread; everything else is internal.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/guard.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "gateway/base/code_store.h"
#include "gateway/base/error_once.h"
#include "gateway/base/http_server.h"
#include "gateway/base/metrics.h"
#include "gateway/canary_controller.h"
#include "gateway/frontend/dashboard_feed.h"
#include "gateway/frontend/router.h"
#include "gateway/invoke/invoker.h"
#include "gateway/pool/instance_manager.h"
#include "gateway/retrain_scheduler.h"
#include "registry/registry.h"
#include "registry/training_store.h"
#include "registry/usage_store.h"
#include "sandbox/process_launcher.h"
#include "sandbox/sandbox.h"

namespace spdlog {
class logger;
}

namespace mlfaas::gateway {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  // io threads; 0 = half the cores (at least 1): the workers need the rest. With one thread
  // the io_context runs its single-threaded fast paths.
  int threads = 0;
  int max_instances = 64;
  std::filesystem::path runtime_bin;  // the built-in runtime
  // What stem cells (and so every confined instance) start as: mlfaas-runtime, which becomes
  // the built-in runtime without an exec when runtime_bin is itself. Empty: runtime_bin.
  std::filesystem::path stem_bin;
  std::string worker_transport = "socket";  // socket | http: the built-in runtime's channel
  int stem_cells = 0;                       // pre-started generic workers kept ready (stem_pool.h)
  std::string cgroups = "auto";             // auto | off (off: isolation off, deprecated)
  // strict | relaxed | off (sandbox/isolation.h). The gateway runs at the strongest level the
  // machine offers up to this one, and says so once when that is less.
  std::string isolation = "strict";
  sandbox::UidRange uids;  // the environments' uids
  std::optional<int> idle_timeout_s;
  std::chrono::milliseconds grace{10'000};
  std::chrono::milliseconds init_timeout{10'000};
  size_t event_queue_limit = 1024;
  std::chrono::milliseconds tick_interval{1000};
  // Worker output + START/END/REPORT lines go to <log_dir>/<function>/<log stream>.log, at most
  // log_retention_bytes per function ("" = not written to disk). function_log.h.
  std::filesystem::path log_dir;
  uint64_t log_retention_bytes = 256ull << 20;
  // API keys (auth/guard.h). Null: no authentication at all (in-process tests, benchmarks).
  auth::KeySource* keys = nullptr;
  auth::AuthMode auth_mode = auth::AuthMode::kAuto;
  // Records control-plane writes and serves /mlfaas/v1/keys (usually the same store as `keys`).
  auth::AuthStore* store = nullptr;
  bool control_plane = true;  // the Lambda control plane over the registry (control_api.cc)
  // Where metered usage goes (`mlfaas cost`): flushed every tick and at shutdown. Null: kept
  // nowhere (in-process tests).
  registry::UsageStore* usage = nullptr;
  // Where labelled feedback goes (POST /v1/functions/{name}/feedback, feedback_api.cc). Null:
  // the routes answer 404 (in-process tests).
  registry::TrainingStore* training = nullptr;
  // Automatic retraining (retrain_scheduler.h): the `mlfaas` executable the scheduler starts
  // (`retrain`) and the home it passes. Empty, or no `training` store: no automatic runs. The
  // dashboard lists the bench reports under <home>/reports (empty home: none).
  std::filesystem::path retrain_exe;
  std::filesystem::path home;
  // Where the registry lives (passed on to automatic retrain runs); {} = SQLite under home.
  registry::RegistryLocation registry_location;
};

class Gateway {
 public:
  // The isolation level this gateway runs its environments at.
  sandbox::Isolation isolation() const { return sandbox_->isolation(); }
  // `registry` and `code` must outlive the gateway. `clock` drives idle reaping; `launcher`
  // defaults to ForkExecLauncher; `random` draws canaries, request ids and log stream names.
  Gateway(GatewayOptions options, registry::Registry& registry, CodeStore& code,
          Clock& clock = SystemClock::Get(), sandbox::ProcessLauncher* launcher = nullptr,
          Random& random = SystemRandom::Get());
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the public port and starts the io threads and the maintenance thread.
  Status Start();
  uint16_t port() const { return server_ ? server_->port() : 0; }

  // Graceful stop: refuse new work, let in-flight invocations finish within the grace period,
  // kill and reap every worker, stop the threads. Idempotent.
  void Shutdown();

  // Closes the function log's files; the next lines reopen them (SIGHUP, after logrotate).
  void ReopenLogs();
  // Exceptions caught by the io threads' last-line boundary (0 unless there is a bug).
  uint64_t io_exceptions() const { return io_exceptions_.load(); }

  InstanceManager& manager() { return *manager_; }
  // Null without options.keys, or before Start.
  auth::Guard* guard() { return guard_.get(); }
  Invoker& invoker() { return *invoker_; }

 private:
  void RunIo();
  void MaintenanceLoop();
  // Once a second of real time: the dashboard's sample (dashboard_feed.h), at the clock's time.
  void SamplerLoop();
  void ReconcileProvisioned();
  void RefreshKeys();
  // Hands the usage metered in memory to options_.usage; false: the store could not be written
  // (the usage stays pending there). Thread-safe: the maintenance thread, GET /v1/cost (control
  // pool) and Shutdown call it; one at a time, so that a flush that returns has written all the
  // usage taken before it began.
  bool FlushUsage();

  const GatewayOptions options_;
  const int io_threads_count_;  // resolved options_.threads
  registry::Registry& registry_;
  Clock& clock_;
  Random& random_;
  std::unique_ptr<sandbox::ProcessLauncher> owned_launcher_;
  sandbox::ProcessLauncher* launcher_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  Metrics metrics_;
  std::shared_ptr<FunctionLog> function_log_;  // written by its own thread; flushed at shutdown
  // Destroyed after the manager (its stem cells' refill thread forks; see process_launcher.h).
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<InstanceManager> manager_;
  std::unique_ptr<Invoker> invoker_;
  std::atomic<bool> shutting_down_{false};
  std::unique_ptr<auth::Guard> guard_;
  // Key reload failures, said once (maintenance thread only).
  ErrorOnce guard_errors_{"authentication", "keys readable again"};
  std::unique_ptr<ApiContext> api_;
  // Control-plane work (registry writes, code uploads) runs here, off the io threads.
  boost::asio::thread_pool control_pool_{1};
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> io_threads_;
  std::thread maintenance_;
  DashboardFeed dashboard_;
  std::thread sampler_;  // under maint_mu_/maint_cv_/maint_stop_ as the maintenance thread
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;
  bool stopped_ = false;
  std::atomic<uint64_t> io_exceptions_{0};
  std::mutex usage_mu_;  // serializes FlushUsage
  // Automatic retraining: the cgroups the environments get (a copy: stateless), the runner and
  // the scheduler (maintenance thread only). Null without options_.retrain_exe.
  sandbox::Cgroups cgroups_;
  std::unique_ptr<ProcessRetrainRunner> retrain_runner_;
  std::unique_ptr<RetrainScheduler> retrain_;
  // Canary steps that decide (canary_controller.h); null without options_.training.
  std::unique_ptr<CanaryController> canary_;
};

}  // namespace mlfaas::gateway
