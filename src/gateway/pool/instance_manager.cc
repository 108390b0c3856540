#include "gateway/pool/instance_manager.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>

#include "common/json.h"
#include "gateway/base/report.h"
#include "gateway/base/trace.h"
#include "gateway/pool/deferred.h"
#include "gateway/pool/scaling_policy.h"
#include "registry/usage_prices.h"

namespace mlfaas::gateway {
namespace {

// A version's template for status: whether it runs, its init, its forks and its memory (which
// the instances forked from it share copy-on-write; docs/isolation.md, "Snapshots").
nlohmann::json SnapshotJson(SnapshotSlot& slot) {
  std::unique_lock<std::mutex> lock(slot.mu, std::try_to_lock);
  if (!lock.owns_lock()) return {{"template", "busy"}};  // starting or forking right now
  if (!slot.tmpl) return {{"template", "none"}};
  nlohmann::json j = {{"template", slot.tmpl->Ended() ? "ended" : "running"},
                      {"init_duration_ms", slot.tmpl->InitMicros() / 1000.0},
                      {"forks", slot.tmpl->Forks()}};
  if (auto peak = slot.tmpl->PeakBytes()) j["max_memory_used_mb"] = *peak / (1024 * 1024);
  return j;
}

// Whether instances started for `a` can serve `b`: same code and the configuration they were
// started with (other settings, such as concurrency limits, apply without a restart).
bool SameFingerprint(const registry::VersionInfo& a, const registry::VersionInfo& b) {
  const auto &x = a.config, &y = b.config;
  return a.code_digest == b.code_digest && x.runtime == y.runtime && x.handler == y.handler &&
         x.memory_mb == y.memory_mb && x.timeout_s == y.timeout_s &&
         x.max_concurrency_per_instance == y.max_concurrency_per_instance &&
         x.ephemeral_storage_mb == y.ephemeral_storage_mb && x.model_loading == y.model_loading &&
         x.environment == y.environment;
}

bool Live(const Instance& i) {
  return i.state() != InstanceState::kStopped && i.state() != InstanceState::kFailed;
}

// The pool's usage record for the UTC hour of `epoch_ms`: integer adds on the request path, a
// new record (and its strings) once an hour. Bounded: TakeUsage empties it every tick.
registry::UsageRecord& UsageBucket(Pool& pool, int64_t epoch_ms) {
  constexpr size_t kMaxHours = 48;
  const int64_t hour = registry::UsageHour(epoch_ms);
  if (pool.usage.empty() || pool.usage.back().hour != hour) {
    if (pool.usage.size() >= kMaxHours) pool.usage.erase(pool.usage.begin());
    registry::UsageRecord& u = pool.usage.emplace_back();
    u.function = pool.info.function;
    u.version = pool.info.version;
    u.hour = hour;
  }
  return pool.usage.back();
}

int64_t WholeMillis(Clock::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

InstanceManager::InstanceManager(boost::asio::io_context& ioc, Clock& clock, Random& random,
                                 sandbox::Sandbox& sandbox, CodeStore& code, Metrics& metrics,
                                 ManagerOptions options)
    : ioc_(ioc),
      clock_(clock),
      random_(random),
      sandbox_(sandbox),
      code_(code),
      metrics_(metrics),
      options_(std::move(options)) {}

InstanceManager::~InstanceManager() { KillAll(); }

Status InstanceManager::InitPool(Pool& pool, const registry::VersionInfo& v) {
  pool.info = v;
  pool.code_dir.clear();
  MLFAAS_ASSIGN_OR_RETURN(std::filesystem::path dir, code_.CodeDir(v));
  // Once per version: the sandbox takes the code by its real path (sandbox::EnvironmentSpec).
  std::error_code ec;
  pool.code_dir = std::filesystem::weakly_canonical(dir, ec);
  if (ec) pool.code_dir = std::move(dir);
  const auto& c = v.config;
  std::map<std::string, std::string> env = c.environment;
  const char* path = std::getenv("PATH");
  env["PATH"] = path ? path : "/usr/local/bin:/usr/bin:/bin";
  env["_HANDLER"] = c.handler;
  env["LAMBDA_TASK_ROOT"] = sandbox_.TaskRoot(pool.code_dir).string();
  env["AWS_LAMBDA_FUNCTION_NAME"] = v.function;
  env["AWS_LAMBDA_FUNCTION_VERSION"] = v.version;
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(c.memory_mb);
  env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + v.function;
  env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = "us-east-1";
  env["TZ"] = ":UTC";
  env["MLFAAS_MODEL_LOADING"] = c.model_loading;
  if (c.max_concurrency_per_instance > 1) {
    env[wire::kMaxConcurrencyEnv] = std::to_string(c.max_concurrency_per_instance);
  }
  pool.snapshot.reset();  // new code or configuration: a new template (instances keep theirs)
  if (c.model_loading == "snapshot") {
    if (sandbox_.SupportsSnapshots()) {
      pool.snapshot = std::make_shared<SnapshotSlot>();
    } else {
      spdlog::warn("{}:{}: snapshots need strict isolation; its instances load the model at init",
                   v.function, v.version);
    }
  }
  pool.base_env.clear();
  for (const auto& [k, val] : env) pool.base_env.push_back(k + "=" + val);
  return Status::Ok();
}

Pool& InstanceManager::PoolFor(const registry::VersionInfo& v, Deferred& /*later*/) {
  const std::string key = v.function + ":" + v.version;
  auto& slot = pools_[key];
  if (!slot) {
    slot = std::make_unique<Pool>();
    slot->key = key;
  } else if (SameFingerprint(slot->info, v)) {
    // Code that could not be prepared is tried again once its back-off has passed (the blob
    // may have been repaired): an error is never pinned.
    if (!slot->code_dir.empty() || clock_.Now() < slot->backoff_until) return *slot;
  } else {
    // Code or configuration changed ($LATEST updated): retire the old instances.
    for (auto& inst : slot->instances) {
      if (Live(*inst) && inst->state() != InstanceState::kDraining &&
          !(inst->state() == InstanceState::kBusy)) {
        Stop(*inst, InstanceState::kDraining);
      } else if (inst->state() == InstanceState::kBusy) {
        inst->TransitionTo(InstanceState::kDraining);
      }
    }
    slot->consecutive_init_failures = 0;
    slot->backoff_until = {};
  }
  Status st = InitPool(*slot, v);
  if (!st.ok()) {
    spdlog::error("{}: cannot prepare code: {}", key, st.message());
    RecordInitFailure(*slot, ErrorJson("Runtime.InitError", st.message()));
  }
  return *slot;
}

void InstanceManager::Invoke(const registry::VersionInfo& v, const std::string& invoked_arn,
                             std::string request_id, std::string payload, bool log_tail,
                             InvocationContext context, InvokeCallback done) {
  auto inv = std::make_unique<InFlight>();
  inv->request_id = std::move(request_id);
  inv->client_context = std::move(context.client_context);
  inv->trace_id = context.trace_id.empty() ? NewTraceHeader(clock_.EpochMillis(), random_)
                                           : std::move(context.trace_id);
  inv->payload = std::move(payload);
  inv->invoked_arn = invoked_arn;
  inv->log_tail = log_tail;
  inv->done = std::move(done);
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) {
    return FailUnbound(std::move(inv), v.function, v.version, Outcome::kUnavailable,
                       "the gateway is shutting down", "ServiceException", later);
  }
  Pool& pool = PoolFor(v, later);
  pool.info.version = v.version;
  if (pool.code_dir.empty()) {
    return FailUnbound(std::move(inv), v.function, v.version, Outcome::kInitError,
                       pool.last_init_error, "Runtime.InitError", later);
  }
  Instance* chosen = nullptr;
  const InvokeSnapshot s = Snapshot(pool, v, &chosen);
  switch (DecideInvoke(s)) {
    case InvokeAction::kUseIdle:
      return Assign(*chosen, std::move(inv));
    case InvokeAction::kJoinStarting:
      inv->cold_start = true;
      ++in_flight_;
      chosen->inflight.push_back(std::move(inv));
      return;
    case InvokeAction::kEvictIdleAndStart:
      EvictLruIdle(pool);
      [[fallthrough]];
    case InvokeAction::kStartNew:
      return StartFor(pool, std::move(inv), later);
    case InvokeAction::kBackoff:
      return FailUnbound(std::move(inv), v.function, v.version, Outcome::kInitError,
                         pool.last_init_error, "Runtime.InitError", later);
    case InvokeAction::kThrottle: {
      bool reserved =
          v.config.reserved_concurrency && s.function_concurrency >= *v.config.reserved_concurrency;
      return FailUnbound(std::move(inv), v.function, v.version, Outcome::kThrottled,
                         reserved ? "Rate Exceeded. (reserved concurrency of the function reached)"
                                  : "Rate Exceeded. (all instances are busy: --max-instances)",
                         "TooManyRequestsException", later);
    }
  }
}

// What the scaling policy decides on (scaling_policy.h), and the candidates it may pick.
InvokeSnapshot InstanceManager::Snapshot(const Pool& pool, const registry::VersionInfo& v,
                                         Instance** chosen) const {
  InvokeSnapshot s;
  std::vector<InstanceLoadView>& views = views_;
  views.clear();
  for (auto& i : pool.instances) {
    const InstanceState st = i->state();
    if (st != InstanceState::kIdle && st != InstanceState::kBusy && st != InstanceState::kStarting)
      continue;  // draining or ended: takes no new invocations
    if (i->killed) continue;
    views.push_back(
        {i->id(), st != InstanceState::kStarting, i->Load(), i->max_concurrency, i->idle_since});
  }
  CountFreeSlots(views, s);
  if (auto id = ChooseInstance(views)) {
    for (auto& i : pool.instances) {
      if (i->id() == *id) *chosen = i.get();
    }
  }
  const std::string prefix = v.function + ":";
  for (auto it = pools_.lower_bound(prefix); it != pools_.end() && it->first.starts_with(prefix);
       ++it) {
    for (auto& i : it->second->instances) s.function_concurrency += i->Load();
  }
  s.reserved_concurrency = v.config.reserved_concurrency;
  s.live_instances = live_;
  s.max_instances = options_.max_instances;
  s.backing_off = clock_.Now() < pool.backoff_until;
  if (live_ >= options_.max_instances) {
    for (auto& [k, p] : pools_) {
      if (p.get() == &pool) continue;
      for (auto& i : p->instances) s.evictable_idle += i->state() == InstanceState::kIdle;
    }
  }
  return s;
}

// A cold start for `inv`: the instance is reserved now and launched once mu_ is released.
void InstanceManager::StartFor(Pool& pool, std::unique_ptr<InFlight> inv, Deferred& later) {
  auto reserved = Reserve(pool, /*provisioned=*/false);
  if (!reserved.ok()) {
    std::string err = ErrorJson("Runtime.InitError", reserved.status().message());
    RecordInitFailure(pool, err);
    return FailUnbound(std::move(inv), pool.info.function, pool.info.version, Outcome::kInitError,
                       err, "Runtime.InitError", later);
  }
  inv->cold_start = true;
  ++in_flight_;
  reserved->inst->inflight.push_back(std::move(inv));
  LaunchLater(std::move(*reserved), later);
}

bool InstanceManager::EvictLruIdle(const Pool& except) {
  Instance* lru = nullptr;
  for (auto& [k, p] : pools_) {
    if (p.get() == &except) continue;
    for (auto& i : p->instances) {
      if (i->state() == InstanceState::kIdle && (!lru || i->idle_since < lru->idle_since)) {
        lru = i.get();
      }
    }
  }
  if (lru) Stop(*lru, InstanceState::kDraining);
  return lru != nullptr;
}

void InstanceManager::Assign(Instance& inst, std::unique_ptr<InFlight> inv) {
  if (inst.state() == InstanceState::kIdle) inst.TransitionTo(InstanceState::kBusy);
  InFlight& bound = *inst.inflight.emplace_back(std::move(inv));
  ++in_flight_;
  if (inst.WaitingForWork()) return DeliverPending(inst);
  ArmTimeout(inst, bound);  // delivered when the worker asks for work, if it ever does
}

void InstanceManager::FailUnbound(std::unique_ptr<InFlight> inv, const std::string& function,
                                  const std::string& version, Outcome outcome, std::string body,
                                  std::string error_type, Deferred& later) {
  InvokeResult r;
  r.outcome = outcome;
  r.request_id = inv->request_id;
  r.executed_version = version;
  r.body = std::move(body);
  r.error_type = std::move(error_type);
  metrics_.RecordInvocation(function, version, outcome, 0, 0);
  later.Add([done = std::move(inv->done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void InstanceManager::CompleteAll(Instance& inst, Outcome outcome, const std::string& body,
                                  Deferred& later, std::string_view error_type) {
  while (!inst.inflight.empty()) {
    Complete(inst, inst.inflight.front().get(), outcome, body, later, error_type);
  }
}

void InstanceManager::Complete(Instance& inst, InFlight* bound, Outcome outcome, std::string body,
                               Deferred& later, std::string_view error_type) {
  std::unique_ptr<InFlight> inv = inst.Take(bound);
  if (!inv) return;
  --in_flight_;
  Pool& pool = *inst.pool();
  InvokeResult r;
  r.outcome = outcome;
  r.request_id = inv->request_id;
  r.executed_version = pool.info.version;
  r.cold_start = inv->cold_start;
  r.init_duration_ms = inst.init_duration_ms;
  if (outcome == Outcome::kCrash) r.error_type = "Runtime.ExitError";
  if (outcome == Outcome::kInitError) r.error_type = "Runtime.InitError";
  if (outcome == Outcome::kUnavailable) r.error_type = "ServiceException";
  if (!error_type.empty()) r.error_type = error_type;
  double gbs = 0;
  if (inv->delivered) {
    r.duration_ms = Millis(clock_.Now() - inv->sent_at);
    if (!RefreshedThisRead(inst)) RefreshPeak(inst);
    if (inst.pipelined > 0) inst.refreshed_at_read = inst.channel_reads;
    ReportFields f;
    f.request_id = inv->request_id;
    f.duration_ms = r.duration_ms;
    f.memory_mb = pool.info.config.memory_mb;
    f.max_memory_used_mb = static_cast<int64_t>((inst.peak_bytes + (1 << 20) - 1) >> 20);
    if (inv->cold_start) f.init_duration_ms = inst.init_duration_ms;
    AppendLog(inst, inv.get(), EndLine(inv->request_id));
    AppendLog(inst, inv.get(), ReportLine(f));
    gbs = GbSeconds(f.memory_mb, BilledMillis(r.duration_ms));
    const int64_t mb_ms = int64_t{f.memory_mb} * BilledMillis(r.duration_ms);
    registry::UsageRecord& usage = UsageBucket(pool, clock_.EpochMillis());
    ++usage.requests;
    usage.duration_mb_ms += mb_ms;
    if (inst.provisioned) usage.provisioned_duration_mb_ms += mb_ms;
    ++inst.invocations;
    ++pool.invocations;
  }
  metrics_.RecordInvocation(pool.info.function, pool.info.version, outcome, r.duration_ms, gbs);
  if (inv->log_tail) {
    r.log_tail = inv->log.size() > 4096 ? inv->log.substr(inv->log.size() - 4096) : inv->log;
  }
  r.body = std::move(body);
  later.Add([done = std::move(inv->done), r = std::move(r)]() mutable { done(std::move(r)); });
}

// The execution environment's peak memory so far, read fresh as an invocation ends: the cgroup's
// peak (one pread) every time; the process's own VmHWM at most once a second, or every time
// without cgroups (pages first charged to another group, such as shared libraries already in
// the page cache, are missing from the group's peak).
void InstanceManager::RefreshPeak(Instance& inst) {
  uint64_t peak = sandbox::Cgroups::ReadPeak(inst.env.peak_fd).value_or(0);
  const auto now = clock_.Now();
  if (inst.pid > 0 && (inst.env.peak_fd < 0 || inst.peak_bytes == 0 ||
                       now - inst.hwm_read_at >= std::chrono::seconds(1))) {
    peak = std::max(peak, sandbox::ProcessPeakBytes(inst.pid).value_or(0));
    inst.hwm_read_at = now;
  }
  inst.peak_bytes = std::max(inst.peak_bytes, peak);
}

void InstanceManager::AfterInvocation(Instance& inst) {
  const bool empty = inst.inflight.empty();
  if (inst.state() == InstanceState::kBusy && !shutting_down_) {
    if (empty) {
      inst.TransitionTo(InstanceState::kIdle);
      inst.idle_since = clock_.Now();
    }
    return;
  }
  if (!empty) {  // N > 1: the others finish first
    if (inst.state() == InstanceState::kBusy) inst.TransitionTo(InstanceState::kDraining);
    return;
  }
  if (Live(inst)) Stop(inst, InstanceState::kDraining);
}

void InstanceManager::Stop(Instance& inst, InstanceState to) {
  if (inst.state() != to && IsValidTransition(inst.state(), to)) inst.TransitionTo(to);
  if (inst.killed) return;
  // Also before its process exists (still launching): Launch then discards that process.
  inst.killed = true;
  if (inst.pid > 0) sandbox::KillGroup(inst.pid, SIGKILL);
}

void InstanceManager::RecordInitFailure(Pool& pool, const std::string& error_json) {
  ++pool.consecutive_init_failures;
  auto delay = InitBackoff(pool.consecutive_init_failures);
  pool.backoff_until = clock_.Now() + delay;
  pool.last_init_error = error_json;
  spdlog::warn("{}: init failed ({} in a row), backing off {:.0f} ms: {}", pool.key,
               pool.consecutive_init_failures, Millis(delay), error_json);
}

void InstanceManager::AccountSnapshot(Pool& pool, Clock::TimePoint now) {
  SnapshotSlot& slot = *pool.snapshot;
  std::unique_lock<std::mutex> lock(slot.mu, std::try_to_lock);
  if (!lock.owns_lock()) return;  // starting or forking: counted at the next tick
  const auto since = slot.accounted_until;
  slot.accounted_until = now;
  if (!slot.tmpl || slot.tmpl->Ended() || since == Clock::TimePoint{} || now <= since) return;
  const auto peak = slot.tmpl->PeakBytes();
  if (!peak) return;
  // Whole MB (rounded up) x whole ms; the rest of a millisecond counts at the next tick.
  const int64_t ms = WholeMillis(now - since);
  slot.accounted_until = since + std::chrono::milliseconds(ms);
  const int64_t mb_ms = static_cast<int64_t>((*peak + (1 << 20) - 1) >> 20) * ms;
  UsageBucket(pool, clock_.EpochMillis()).snapshot_mb_ms += mb_ms;
  metrics_.RecordSnapshotCache(pool.info.function, pool.info.version, registry::GbSecondsOf(mb_ms));
}

void InstanceManager::AccountProvisioned(Pool& pool, Clock::TimePoint now) {
  int64_t live = 0;
  for (const auto& i : pool.instances) live += i->provisioned && Live(*i) ? 1 : 0;
  const auto since = pool.provisioned_accounted_until;
  if (live == 0 || since == Clock::TimePoint{} || now <= since) {
    pool.provisioned_accounted_until = now;
    return;
  }
  const int64_t ms = WholeMillis(now - since);
  pool.provisioned_accounted_until = since + std::chrono::milliseconds(ms);
  UsageBucket(pool, clock_.EpochMillis()).provisioned_mb_ms +=
      live * pool.info.config.memory_mb * ms;
}

std::vector<registry::UsageRecord> InstanceManager::TakeUsage() {
  std::vector<registry::UsageRecord> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, pool] : pools_) {
    for (auto& u : pool->usage) {
      if (!u.Empty()) out.push_back(std::move(u));
    }
    pool->usage.clear();
  }
  return out;
}

void InstanceManager::Tick() {
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_.Now();
  for (auto& [key, pool] : pools_) {
    if (pool->snapshot) AccountSnapshot(*pool, now);
    AccountProvisioned(*pool, now);
    int idle_s = options_.idle_timeout_override_s.value_or(pool->info.config.idle_timeout_s);
    std::vector<IdleInstanceView> idle;
    for (auto& i : pool->instances) {
      if (i->state() == InstanceState::kIdle)
        idle.push_back({i->id(), i->idle_since, i->provisioned});
      if (i->state() == InstanceState::kStarting && now - i->created_at > options_.init_timeout) {
        std::string err = ErrorJson(
            "Runtime.InitTimeout",
            "Init phase exceeded " + std::to_string(options_.init_timeout.count()) + " ms");
        i->init_error = err;
        RecordInitFailure(*pool, err);
        CompleteAll(*i, Outcome::kInitError, err, later);
        Stop(*i, InstanceState::kFailed);
      }
    }
    for (int id : SelectIdleToReap(idle, now, std::chrono::seconds(idle_s))) {
      for (auto& i : pool->instances) {
        if (i->id() == id) {
          spdlog::info("{}: reaping instance {} (idle {} s)", key, id, idle_s);
          Stop(*i, InstanceState::kDraining);
        }
      }
    }
  }
}

void InstanceManager::EnsureProvisioned(const registry::VersionInfo& v) {
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  Pool& pool = PoolFor(v, later);
  if (pool.code_dir.empty()) return;
  const int target = v.config.provisioned_concurrency;
  int have = 0;
  for (auto& i : pool.instances) {
    if (!i->provisioned || !Live(*i) || i->state() == InstanceState::kDraining) continue;
    if (++have > target) i->provisioned = false;  // surplus becomes on-demand (reapable)
  }
  int n = ProvisionedToStart(target, have, clock_.Now() < pool.backoff_until, live_,
                             options_.max_instances);
  for (int k = 0; k < n; ++k) {
    auto reserved = Reserve(pool, /*provisioned=*/true);
    if (!reserved.ok()) {
      RecordInitFailure(pool, ErrorJson("Runtime.InitError", reserved.status().message()));
      break;
    }
    LaunchLater(std::move(*reserved), later);
  }
}

void InstanceManager::BeginShutdown() {
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  for (auto& [key, pool] : pools_) {
    for (auto& i : pool->instances) {
      if (i->state() == InstanceState::kIdle ||
          (i->state() == InstanceState::kStarting && i->inflight.empty())) {
        Stop(*i, InstanceState::kDraining);
      }
    }
  }
}

void InstanceManager::KillAll() {
  Deferred later;
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  std::vector<std::shared_ptr<Instance>> all;
  for (auto& [key, pool] : pools_) {
    for (auto& i : pool->instances) {
      all.push_back(i);
      i->killed = true;
      if (i->pid > 0) sandbox::KillGroup(i->pid, SIGKILL);
    }
  }
  for (auto& i : all) {
    int status = i->wait_status;
    if (i->pid > 0) {
      while (waitpid(i->pid, &status, 0) < 0 && errno == EINTR) {
      }
      i->pid = -1;
    }
    OnExit(*i, status, later);
  }
}

int InstanceManager::InFlightCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_;
}

int InstanceManager::LiveInstances() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

Metrics::Live InstanceManager::LiveCounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  Metrics::Live out;
  for (auto& [key, pool] : pools_) {
    int& running = out.concurrent[pool->info.function];
    for (auto& i : pool->instances) {
      ++out.instances[{pool->info.function, pool->info.version, InstanceStateName(i->state())}];
      running += i->Load();
    }
  }
  return out;
}

nlohmann::json InstanceManager::StatusJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_.Now();
  std::map<std::string, nlohmann::json> functions;
  for (auto& [key, pool] : pools_) {
    nlohmann::json instances = nlohmann::json::array();
    for (auto& i : pool->instances) {
      nlohmann::json j = {{"id", i->id()},
                          {"forked", i->env.forked},
                          {"state", InstanceStateName(i->state())},
                          {"pid", i->pid},
                          {"age_s", Millis(now - i->created_at) / 1000.0},
                          {"invocations", i->invocations},
                          {"in_flight", i->Load()},
                          {"max_concurrency", i->max_concurrency},
                          {"init_duration_ms", i->init_duration_ms},
                          {"provisioned", i->provisioned},
                          {"log_stream", i->log_stream}};
      if (i->env.uid >= 0) j["uid"] = i->env.uid;
      if (i->pipelined > 0) {  // how well the pipelined channel batches
        j["channel"] = {{"invocation_batches", i->channel_flushes},
                        {"answer_reads", i->channel_reads}};
      }
      // A port on the host's loopback; an environment with a network of its own has its
      // Runtime API inside it, reachable from nowhere else.
      if (i->runtime_api && !sandbox_.RuntimeApiAddress()) {
        j["runtime_api_port"] = i->runtime_api->port();
      }
      if (i->state() == InstanceState::kIdle) j["idle_s"] = Millis(now - i->idle_since) / 1000.0;
      instances.push_back(std::move(j));
    }
    nlohmann::json v = {{"version", pool->info.version},
                        {"code_digest", pool->info.code_digest},
                        {"memory_mb", pool->info.config.memory_mb},
                        {"invocations", pool->invocations},
                        {"cold_starts", pool->cold_starts},
                        {"instances", std::move(instances)}};
    if (pool->snapshot) v["snapshot"] = SnapshotJson(*pool->snapshot);
    if (now < pool->backoff_until) {
      v["init_backoff_ms"] = Millis(pool->backoff_until - now);
      v["last_init_error"] = pool->last_init_error;
    }
    auto& f = functions[pool->info.function];
    if (f.is_null()) f = {{"name", pool->info.function}, {"versions", nlohmann::json::array()}};
    f["versions"].push_back(std::move(v));
  }
  nlohmann::json out = {{"live_instances", live_},
                        {"in_flight", in_flight_},
                        {"max_instances", options_.max_instances},
                        {"stem_cells_ready", sandbox_.StemsReady()},
                        {"isolation", sandbox::IsolationName(sandbox_.isolation())},
                        {"functions", nlohmann::json::array()}};
  for (auto& [name, f] : functions) out["functions"].push_back(std::move(f));
  return out;
}

}  // namespace mlfaas::gateway
