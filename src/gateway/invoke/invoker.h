// The invocation entry point shared by every front door (Lambda Invoke API, model-serving
// routes): resolves (function, qualifier) through a short-lived cache, then runs the invocation
// synchronously (RequestResponse), queues it (Event) or only validates it (DryRun).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/random.h"
#include "gateway/base/invocation.h"
#include "gateway/pool/instance_manager.h"
#include "registry/registry.h"

namespace mlfaas::gateway {

struct InvokerOptions {
  size_t event_queue_limit = 1024;  // Event invocations waiting; beyond -> 429
  int event_concurrency = 4;        // Event invocations running at once
  Clock::Duration resolve_ttl = std::chrono::seconds(1);  // resolution cache lifetime
};

// Resolves qualifiers with a cache so a warm invoke does no registry (SQLite) I/O: entries live
// `ttl`; weighted aliases keep both targets and draw the canary share per call.
class ResolverCache {
 public:
  ResolverCache(registry::Registry& registry, Clock& clock, Random& random, Clock::Duration ttl)
      : registry_(registry), clock_(clock), random_(random), ttl_(ttl) {}
  StatusOr<std::shared_ptr<const registry::VersionInfo>> Resolve(const std::string& function,
                                                                 const std::string& qualifier);

 private:
  using VersionPtr = std::shared_ptr<const registry::VersionInfo>;
  struct Entry {
    VersionPtr primary;
    VersionPtr canary;  // null: none
    double canary_weight = 0;
    Clock::TimePoint fetched_at;
  };
  StatusOr<Entry> Fetch(const std::string& function, const std::string& qualifier);

  registry::Registry& registry_;
  Clock& clock_;
  Random& random_;  // the canary draw
  const Clock::Duration ttl_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;
};

class Invoker {
 public:
  Invoker(boost::asio::io_context& ioc, registry::Registry& registry, InstanceManager& manager,
          Clock& clock, Random& random, InvokerOptions options);
  ~Invoker();

  // `done` is called exactly once. For Event, `done` reports the enqueueing (kSuccess = 202
  // accepted, kThrottled = queue full); for DryRun, kSuccess means the target exists.
  void Invoke(InvokeRequest req, InvokeCallback done);
  // Resolution only (DryRun, model metadata routes).
  StatusOr<registry::VersionInfo> Resolve(const std::string& function,
                                          const std::string& qualifier);

  // Stops dispatching queued events; returns how many were dropped.
  size_t Shutdown();
  size_t QueuedEvents() const;

  // The ARN the worker sees as Lambda-Runtime-Invoked-Function-Arn.
  static std::string FunctionArn(const std::string& function, const std::string& qualifier);

 private:
  struct QueuedEvent {
    registry::VersionInfo version;
    std::string arn;
    std::string request_id;
    std::string payload;
    InvocationContext context;
  };
  void PumpEvents();
  void OnEventDone(QueuedEvent ev, const InvokeResult& r);

  boost::asio::io_context& ioc_;
  InstanceManager& manager_;
  Random& random_;  // request ids
  const InvokerOptions options_;
  ResolverCache resolver_;
  mutable std::mutex mu_;
  std::deque<QueuedEvent> events_;
  int events_running_ = 0;
  bool stopped_ = false;
  Clock& clock_;                        // the Event retry timer
  std::unique_ptr<Timer> retry_timer_;  // guarded by mu_
  bool retry_armed_ = false;
};

}  // namespace mlfaas::gateway
