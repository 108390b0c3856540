// One simulated user: a keep-alive HTTP/1.1 connection driven by Boost.Beast on an io_context.
//
// Closed loop: the next request goes out when the previous response (plus think-time) is in.
// Paced stages (`throughput`, or open-loop `rate`) take intended send times from a counter
// shared by all users of the stage; in open-loop mode latency is measured from the intended
// time so a stalled server shows up in the numbers (no coordinated omission).
// Threading: a session only runs on its io_context's thread(s); StageShared is read-only after
// construction apart from its atomics.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loadtest/plan.h"
#include "loadtest/stats.h"

namespace mlfaas::loadtest {

using SteadyTime = std::chrono::steady_clock::time_point;

// What every user of a stage shares. Owned by the runner; outlives the stage's sessions.
struct StageShared {
  const Stage* stage = nullptr;
  const Scenario* scenario = nullptr;
  std::vector<std::string> wire;  // serialized request i of the scenario
  std::vector<boost::asio::ip::tcp::resolver::results_type> endpoints;  // per request
  SteadyTime run_start;
  SteadyTime stage_start;
  std::optional<SteadyTime> stage_end;  // nullopt: bounded by iterations
  double time_scale = 1;
  double pace_per_second = 0;  // 0: unpaced
  bool measure_from_intended = false;
  std::atomic<int64_t> next_paced{0};
  std::atomic<bool>* stop = nullptr;  // set by the runner to end the run early
  std::atomic<int>* active_users = nullptr;
  std::function<void()> on_done;  // called once per session when it finishes (any thread)
};

// Serializes request `r` once (HTTP/1.1, keep-alive, Content-Length).
std::string SerializeRequest(const RequestSpec& r);

// Starts user `index` of the stage at its scheduled offset. The session keeps itself alive
// (shared_ptr captured by its handlers) until it calls shared.on_done.
void StartSession(boost::asio::io_context& io, StageShared& shared, Recorder& recorder, int index);

// Evaluates the request's assertions on a response; empty string when all pass, else why not.
std::string CheckAssertions(const RequestSpec& r, int status, const std::string& body);

}  // namespace mlfaas::loadtest
