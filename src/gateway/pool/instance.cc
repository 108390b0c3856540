#include "gateway/pool/instance.h"

#include <cassert>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace mlfaas::gateway {

std::string WorkerErrorBody(std::string body, std::string_view type) {
  const std::string_view fallback = type.empty() ? "Unhandled" : type;
  auto parsed = ParseJson(body);
  if (parsed.ok() && parsed->is_object()) {
    auto message = JsonString(*parsed, "errorMessage");
    auto error_type = JsonString(*parsed, "errorType");
    if (message && error_type) return body;  // well formed: kept as the function sent it
    if (message || error_type) {             // repaired: both fields become strings
      const nlohmann::json* raw = JsonField(*parsed, "errorMessage");
      (*parsed)["errorMessage"] = message ? *message : raw ? DumpJson(*raw) : std::string();
      (*parsed)["errorType"] = error_type.value_or(std::string(fallback));
      return DumpJson(*parsed);
    }
  }
  return ErrorJson(fallback, body);
}

const char* InstanceStateName(InstanceState s) {
  switch (s) {
    case InstanceState::kStarting:
      return "Starting";
    case InstanceState::kIdle:
      return "Idle";
    case InstanceState::kBusy:
      return "Busy";
    case InstanceState::kDraining:
      return "Draining";
    case InstanceState::kStopped:
      return "Stopped";
    case InstanceState::kFailed:
      return "Failed";
  }
  return "?";
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFunctionError:
      return "function_error";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kCrash:
      return "crash";
    case Outcome::kInitError:
      return "init_error";
    case Outcome::kThrottled:
      return "throttled";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kBadRequest:
      return "bad_request";
    case Outcome::kUnavailable:
      return "unavailable";
  }
  return "?";
}

bool IsValidTransition(InstanceState from, InstanceState to) {
  using S = InstanceState;
  if (from == S::kStopped || from == S::kFailed) return false;
  if (to == S::kFailed) return true;
  switch (to) {
    case S::kIdle:
      return from == S::kStarting || from == S::kBusy;
    case S::kBusy:
      return from == S::kIdle;
    case S::kDraining:
      return from != S::kDraining;
    case S::kStopped:
      return from == S::kDraining;
    default:
      return false;
  }
}

InFlight* Instance::FindDelivered(std::string_view request_id) const {
  for (const auto& i : inflight) {
    if (i->delivered && i->request_id == request_id) return i.get();
  }
  return nullptr;
}

InFlight* Instance::NextUndelivered() const {
  for (const auto& i : inflight) {
    if (!i->delivered) return i.get();
  }
  return nullptr;
}

std::unique_ptr<InFlight> Instance::Take(const InFlight* inv) {
  for (auto it = inflight.begin(); it != inflight.end(); ++it) {
    if (it->get() == inv) {
      std::unique_ptr<InFlight> out = std::move(*it);
      inflight.erase(it);
      return out;
    }
  }
  return nullptr;
}

void Instance::TransitionTo(InstanceState to) {
  assert(IsValidTransition(state_, to));
  state_ = to;
}

}  // namespace mlfaas::gateway
