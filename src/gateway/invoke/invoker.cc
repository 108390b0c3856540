#include "gateway/invoke/invoker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "gateway/base/report.h"

namespace mlfaas::gateway {
namespace {

bool IsVersionQualifier(const std::string& q) {
  return q.empty() || q == registry::kLatest ||
         std::all_of(q.begin(), q.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

StatusOr<ResolverCache::Entry> ResolverCache::Fetch(const std::string& function,
                                                    const std::string& qualifier) {
  Entry e;
  e.fetched_at = clock_.Now();
  // 0.999999 never picks a canary (weights are < 1 or the canary is the only target).
  MLFAAS_ASSIGN_OR_RETURN(registry::VersionInfo primary,
                          registry_.Resolve(function, qualifier, 0.999999));
  e.primary = std::make_shared<const registry::VersionInfo>(std::move(primary));
  if (!IsVersionQualifier(qualifier)) {
    auto alias = registry_.GetAlias(function, qualifier);
    if (alias.ok() && alias->canary_version && alias->canary_weight > 0) {
      MLFAAS_ASSIGN_OR_RETURN(registry::VersionInfo canary,
                              registry_.Resolve(function, qualifier, 0.0));
      e.canary = std::make_shared<const registry::VersionInfo>(std::move(canary));
      e.canary_weight = alias->canary_weight;
    }
  }
  return e;
}

StatusOr<std::shared_ptr<const registry::VersionInfo>> ResolverCache::Resolve(
    const std::string& function, const std::string& qualifier) {
  const std::string key = function + '\0' + qualifier;
  const auto now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && now - it->second.fetched_at < ttl_) {
      const Entry& e = it->second;
      if (e.canary && random_.Uniform01() < e.canary_weight) return e.canary;
      return e.primary;
    }
  }
  auto fetched = Fetch(function, qualifier);
  std::lock_guard<std::mutex> lock(mu_);
  if (!fetched.ok()) {
    cache_.erase(key);
    return fetched.status();
  }
  const Entry& e = cache_[key] = std::move(*fetched);
  if (e.canary && random_.Uniform01() < e.canary_weight) return e.canary;
  return e.primary;
}

Invoker::Invoker(boost::asio::io_context& ioc, registry::Registry& registry,
                 InstanceManager& manager, Clock& clock, Random& random, InvokerOptions options)
    : ioc_(ioc),
      manager_(manager),
      random_(random),
      options_(options),
      resolver_(registry, clock, random, options.resolve_ttl),
      clock_(clock) {}

Invoker::~Invoker() { Shutdown(); }

std::string Invoker::FunctionArn(const std::string& function, const std::string& qualifier) {
  std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:" + function;
  if (!qualifier.empty()) arn += ":" + qualifier;
  return arn;
}

StatusOr<registry::VersionInfo> Invoker::Resolve(const std::string& function,
                                                 const std::string& qualifier) {
  MLFAAS_ASSIGN_OR_RETURN(auto v, resolver_.Resolve(function, qualifier));
  return *v;
}

void Invoker::Invoke(InvokeRequest req, InvokeCallback done) {
  InvokeResult r;
  r.request_id = NewRequestId(random_);
  auto v = resolver_.Resolve(req.function, req.qualifier);
  if (!v.ok()) {
    r.outcome = v.status().code() == StatusCode::kNotFound          ? Outcome::kNotFound
                : v.status().code() == StatusCode::kInvalidArgument ? Outcome::kBadRequest
                                                                    : Outcome::kUnavailable;
    r.error_type = r.outcome == Outcome::kNotFound     ? "ResourceNotFoundException"
                   : r.outcome == Outcome::kBadRequest ? "InvalidParameterValueException"
                                                       : "ServiceException";
    r.body = v.status().message();
    return done(std::move(r));
  }
  const registry::VersionInfo& version = **v;
  r.executed_version = version.version;
  const std::string arn = FunctionArn(req.function, req.qualifier);
  switch (req.type) {
    case InvocationType::kDryRun:
      return done(std::move(r));
    case InvocationType::kRequestResponse:
      return manager_.Invoke(version, arn, r.request_id, std::move(req.payload), req.log_tail,
                             std::move(req.context), std::move(done));
    case InvocationType::kEvent:
      break;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || events_.size() >= options_.event_queue_limit) {
      r.outcome = stopped_ ? Outcome::kUnavailable : Outcome::kThrottled;
      r.error_type = stopped_ ? "ServiceException" : "TooManyRequestsException";
      r.body = stopped_ ? "the gateway is shutting down"
                        : "Rate Exceeded. (event queue full: " +
                              std::to_string(options_.event_queue_limit) + " waiting)";
    } else {
      events_.push_back(
          {version, arn, r.request_id, std::move(req.payload), std::move(req.context)});
    }
  }
  done(std::move(r));
  PumpEvents();
}

void Invoker::PumpEvents() {
  std::vector<QueuedEvent> start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!stopped_ && !events_.empty() && events_running_ < options_.event_concurrency) {
      start.push_back(std::move(events_.front()));
      events_.pop_front();
      ++events_running_;
    }
  }
  for (auto& ev : start) {
    auto copy = ev;
    manager_.Invoke(ev.version, ev.arn, ev.request_id, std::move(ev.payload), false, ev.context,
                    [this, copy = std::move(copy)](InvokeResult r) mutable {
                      OnEventDone(std::move(copy), r);
                    });
  }
}

void Invoker::OnEventDone(QueuedEvent ev, const InvokeResult& r) {
  bool retry = r.outcome == Outcome::kThrottled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --events_running_;
    if (retry && !stopped_) {
      events_.push_front(std::move(ev));  // no capacity now: retry shortly, keep order
      if (!retry_armed_) {
        retry_armed_ = true;
        retry_timer_ = clock_.StartTimer(ioc_, std::chrono::milliseconds(50), [this] {
          {
            std::lock_guard<std::mutex> l(mu_);
            retry_armed_ = false;
          }
          PumpEvents();
        });
      }
      return;
    }
  }
  if (r.outcome != Outcome::kSuccess) {
    spdlog::warn("event {} {}:{} ended with {}: {}", r.request_id, ev.version.function,
                 ev.version.version, OutcomeName(r.outcome), r.body.substr(0, 200));
  }
  if (!retry) PumpEvents();
}

size_t Invoker::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  size_t dropped = events_.size();
  events_.clear();
  retry_timer_.reset();
  return dropped;
}

size_t Invoker::QueuedEvents() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size() + static_cast<size_t>(events_running_);
}

}  // namespace mlfaas::gateway
