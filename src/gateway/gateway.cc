#include "gateway/gateway.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace mlfaas::gateway {
namespace {

std::shared_ptr<FunctionLog> OpenFunctionLog(const GatewayOptions& o, Clock& clock) {
  if (o.log_dir.empty()) return nullptr;
  FunctionLogOptions lo;
  lo.clock = &clock;
  lo.dir = o.log_dir;
  lo.retention_bytes = o.log_retention_bytes;
  auto log = FunctionLog::Open(lo);
  if (!log.ok()) {
    spdlog::warn("function log disabled: {}", log.status().message());
    return nullptr;
  }
  return std::move(log).value();
}

// The level asked for, or the strongest this machine offers below it (said once); the cgroups
// that go with it.
sandbox::Isolation ChooseIsolation(const GatewayOptions& o, sandbox::Cgroups& cgroups) {
  using sandbox::Isolation;
  Isolation wanted = sandbox::ParseIsolation(o.isolation).value_or(Isolation::kStrict);
  if (o.cgroups == "off") wanted = Isolation::kOff;  // the old switch is part of off now
  cgroups = sandbox::Cgroups::Detect(wanted == Isolation::kOff ? "off" : "auto");
  Isolation level = wanted;
  if (wanted != Isolation::kOff) {
    const sandbox::IsolationProbe probe =
        sandbox::ProbeIsolation(cgroups.enabled(), cgroups.reason());
    level = std::min(wanted, probe.strongest());
    if (level < wanted) {
      std::string why;
      for (const auto& m : probe.missing) why += (why.empty() ? "" : "; ") + m;
      spdlog::warn("isolation {} is not available here ({}): environments run at {}",
                   sandbox::IsolationName(wanted), why, sandbox::IsolationName(level));
    }
    if (level == Isolation::kOff) cgroups = sandbox::Cgroups::Detect("off");
  }
  if (level == Isolation::kOff) {
    spdlog::warn(
        "isolation off: functions run as root in the host's namespaces, without limits "
        "(for debugging only)");
  } else if (!cgroups.enabled()) {
    spdlog::warn("cgroups unavailable: limits not enforced ({})", cgroups.reason());
  } else if (int stale = cgroups.RemoveStale(); stale > 0) {
    spdlog::info("removed {} cgroups left behind by gateways that are gone", stale);
  }
  return level;
}

}  // namespace

Gateway::Gateway(GatewayOptions options, registry::Registry& registry, CodeStore& code,
                 Clock& clock, sandbox::ProcessLauncher* launcher, Random& random)
    : options_(std::move(options)),
      io_threads_count_(
          options_.threads > 0
              ? options_.threads
              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2)),
      registry_(registry),
      clock_(clock),
      random_(random),
      ioc_(io_threads_count_) {
  if (!launcher) {
    owned_launcher_ = std::make_unique<sandbox::ForkExecLauncher>();
    launcher = owned_launcher_.get();
  }
  launcher_ = launcher;
  ManagerOptions mo;
  mo.max_instances = options_.max_instances;
  mo.runtime_bin = options_.runtime_bin;
  mo.worker_transport =
      options_.worker_transport == "http" ? WorkerTransport::kHttp : WorkerTransport::kSocket;
  mo.idle_timeout_override_s = options_.idle_timeout_s;
  mo.init_timeout = options_.init_timeout;
  sandbox::ProcessSandboxOptions so;
  so.isolation = ChooseIsolation(options_, so.cgroups);
  cgroups_ = so.cgroups;
  so.uids = options_.uids;
  so.stem_cells = options_.stem_cells;
  so.runtime_bin = options_.stem_bin.empty() ? options_.runtime_bin : options_.stem_bin;
  sandbox_ = std::make_unique<sandbox::ProcessSandbox>(*launcher_, std::move(so));
  function_log_ = OpenFunctionLog(options_, clock_);
  mo.function_log = function_log_;
  manager_ = std::make_unique<InstanceManager>(ioc_, clock_, random_, *sandbox_, code, metrics_,
                                               std::move(mo));
  InvokerOptions io;
  io.event_queue_limit = options_.event_queue_limit;
  invoker_ = std::make_unique<Invoker>(ioc_, registry_, *manager_, clock_, random_, io);
  api_ = std::make_unique<ApiContext>(ApiContext{*invoker_,
                                                 *manager_,
                                                 metrics_,
                                                 clock_,
                                                 shutting_down_,
                                                 nullptr,
                                                 nullptr,
                                                 nullptr,
                                                 {},
                                                 options_.log_dir,
                                                 {},
                                                 nullptr,
                                                 {}});
  api_->code = &code;
  api_->dashboard = &dashboard_;
  if (!options_.home.empty()) api_->reports_dir = options_.home / "reports";
  if (options_.control_plane) {
    api_->registry = &registry_;
    api_->store = options_.store;
    api_->offload = [this](std::function<void()> work) {
      boost::asio::post(control_pool_, std::move(work));
    };
    // GET /v1/cost writes and reads the database: only where that runs off the io threads.
    api_->usage = options_.usage;
    if (options_.usage) api_->flush_usage = [this] { return FlushUsage(); };
    // POST|GET /v1/functions/{name}/feedback write and read the database (as above).
    api_->training = options_.training;
    // GET /v1/functions/{name}/logs sees every line written before it (blocking, as above).
    if (function_log_) api_->flush_log = [log = function_log_] { log->Flush(); };
  }
}

Gateway::~Gateway() { Shutdown(); }

Status Gateway::Start() {
  if (options_.keys) {
    auth::GuardOptions go;
    go.mode = options_.auth_mode;
    MLFAAS_ASSIGN_OR_RETURN(guard_, auth::Guard::Create(*options_.keys, clock_, go));
    api_->guard = guard_.get();
  }
  HttpServerOptions so;
  so.host = options_.host;
  so.port = options_.port;
  so.error_factory = LambdaError;
  so.large_body_route = IsControlPlaneUpload;
  so.route_of = RouteLabel;
  so.on_exchange = [this](const char* route, unsigned status, std::chrono::nanoseconds elapsed) {
    metrics_.RecordRequest(route, status,
                           std::chrono::duration<double, std::milli>(elapsed).count());
  };
  server_ = std::make_unique<HttpServer>(ioc_, so, [this](Request&& req, Responder respond) {
    Route(*api_, std::move(req), std::move(respond));
  });
  MLFAAS_RETURN_IF_ERROR(server_->Start());
  // spdlog creates its registry (a function-local static in libspdlog) on first use. Do that here,
  // before the threads start, so that its construction happens-before every thread's logging;
  // otherwise the first thread to log builds it while the others read it through the library's
  // uninstrumented guard check (TSan reported the race; pthread_create orders it now).
  (void)spdlog::default_logger_raw();
  work_.emplace(boost::asio::make_work_guard(ioc_));
  for (int i = 0; i < io_threads_count_; ++i) io_threads_.emplace_back([this] { RunIo(); });
  if (options_.training && !options_.retrain_exe.empty()) {
    retrain_runner_ = std::make_unique<ProcessRetrainRunner>(options_.retrain_exe, options_.home,
                                                             cgroups_, options_.registry_location);
    retrain_ =
        std::make_unique<RetrainScheduler>(registry_, *options_.training, clock_, *retrain_runner_);
  }
  if (options_.training) {
    canary_ = std::make_unique<CanaryController>(registry_, *options_.training, metrics_, clock_,
                                                 options_.store);
  }
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  sampler_ = std::thread([this] { SamplerLoop(); });
  return Status::Ok();
}

// The last line of defence of the data plane: nothing in a handler should throw (bytes from
// clients and functions go through bounded, type-checked parsing), but if something does, the
// request it served is lost, the error is logged and the thread goes on serving the others.
void Gateway::RunIo() {
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      io_exceptions_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("io thread: uncaught exception, handler abandoned: {}", e.what());
    } catch (...) {
      io_exceptions_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("io thread: uncaught non-standard exception, handler abandoned");
    }
  }
}

void Gateway::MaintenanceLoop() {
  int ticks = 0;
  std::unique_lock<std::mutex> lock(maint_mu_);
  while (!maint_stop_) {
    lock.unlock();
    try {
      manager_->Tick();
      if (ticks++ % 5 == 0) ReconcileProvisioned();
      RefreshKeys();
      FlushUsage();
      if (retrain_) retrain_->Tick();
      if (canary_) canary_->Tick();
    } catch (const std::exception& e) {
      spdlog::error("maintenance: uncaught exception: {}", e.what());
    }
    lock.lock();
    maint_cv_.wait_for(lock, options_.tick_interval, [this] { return maint_stop_; });
  }
}

// Wakes just after each whole second of real time, so that every second gets its own point.
void Gateway::SamplerLoop() {
  std::unique_lock<std::mutex> lock(maint_mu_);
  while (!maint_stop_) {
    lock.unlock();
    try {
      dashboard_.Sample(clock_.EpochMillis() / 1000, metrics_, manager_->LiveCounts());
    } catch (const std::exception& e) {
      spdlog::error("dashboard sampler: uncaught exception: {}", e.what());
    }
    lock.lock();
    const auto now = std::chrono::system_clock::now();
    const auto next = std::chrono::floor<std::chrono::seconds>(now) + std::chrono::seconds(1) +
                      std::chrono::milliseconds(5);
    maint_cv_.wait_until(lock, next, [this] { return maint_stop_; });
  }
}

// Metered usage goes to the registry database in one transaction per tick, off the request path.
// A failed write stays pending in the store and is retried at the next tick.
bool Gateway::FlushUsage() {
  if (!options_.usage) return true;
  std::lock_guard<std::mutex> lock(usage_mu_);
  Status st = options_.usage->Add(manager_->TakeUsage());
  if (!st.ok()) spdlog::warn("usage: cannot record it yet (kept for a retry): {}", st.message());
  return st.ok();
}

// Keys created or revoked (by the CLI, another process) take effect within a tick.
void Gateway::RefreshKeys() {
  if (!guard_) return;
  Status st = guard_->Refresh();
  guard_errors_.Update(
      st.ok() ? "" : "cannot reload the keys, keeping the previous ones: " + st.message());
}

void Gateway::ReconcileProvisioned() {
  auto functions = registry_.ListFunctions();
  if (!functions.ok()) return;
  for (const auto& f : *functions) {
    auto versions = registry_.ListVersions(f.name);
    if (!versions.ok()) continue;
    for (const auto& v : *versions) {
      if (v.version != registry::kLatest && v.config.provisioned_concurrency > 0) {
        // On an io thread: a worker forked here would die with this thread (PDEATHSIG), and
        // Shutdown joins it before the grace period.
        boost::asio::post(ioc_, [this, v] { manager_->EnsureProvisioned(v); });
      }
    }
  }
}

void Gateway::ReopenLogs() {
  if (function_log_) function_log_->Reopen();
}

void Gateway::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  shutting_down_ = true;
  if (server_) server_->Stop();
  {
    std::lock_guard<std::mutex> lock(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  if (sampler_.joinable()) sampler_.join();
  dashboard_.CloseAll();  // open pages' streams end (they never count as busy)
  if (retrain_runner_) retrain_runner_->StopAll();  // a run in progress is killed, not waited for
  size_t dropped = invoker_->Shutdown();
  if (dropped) spdlog::warn("dropping {} queued Event invocations", dropped);
  manager_->BeginShutdown();
  // Requests still uploading are read to their end and answered (503: the gateway no longer
  // takes work); invocations in flight finish. Both within the grace period.
  // The grace period is measured by the gateway's clock. Real time bounds it too, so a clock
  // that does not move (a test's FakeClock) cannot hold a shutdown for ever.
  const auto deadline = clock_.Now() + options_.grace;
  const auto backstop =
      std::chrono::steady_clock::now() + options_.grace + std::chrono::seconds(10);
  auto busy = [this] { return manager_->InFlightCount() > 0 || (server_ && server_->Busy() > 0); };
  while (busy() && clock_.Now() < deadline && std::chrono::steady_clock::now() < backstop &&
         !io_threads_.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (int left = manager_->InFlightCount(); left > 0) {
    spdlog::warn("grace period over: {} invocations still running are cancelled", left);
  }
  control_pool_.join();  // control-plane work in progress finishes (registry writes are short)
  manager_->KillAll();
  // After the last invocation ended: nothing metered is lost on a clean stop (a busy database
  // is retried twice, each waiting up to the store's busy timeout).
  for (int i = 0; i < 3 && !FlushUsage(); ++i) {
  }
  if (function_log_) function_log_->Flush();
  // Let the last responses (those of cancelled invocations included) reach their clients.
  const auto flush_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (server_ && server_->Busy() > 0 && std::chrono::steady_clock::now() < flush_deadline &&
         !io_threads_.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
}

}  // namespace mlfaas::gateway
