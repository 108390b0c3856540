// A minimal Lambda Runtime API server for tests: real HTTP on 127.0.0.1:0 (Boost.Beast), one
// thread (the caller's, inside Serve()). It hands out a fixed list of events, records what the
// worker posts back, and, once the events are exhausted, closes the worker's connection on its
// next /invocation/next so the worker exits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlfaas::testing {

struct PostedResult {
  enum class Kind { kResponse, kError, kInitError };
  Kind kind = Kind::kResponse;
  std::string request_id;         // empty for kInitError
  std::string body;               // as posted
  std::string error_type_header;  // Lambda-Runtime-Function-Error-Type
};

// True while child `pid` has not exited. Does not reap it (waitid with WNOWAIT), so the exit
// status stays available to BackgroundProcess::StopWith.
bool ChildAlive(pid_t pid);

class FakeRuntimeApi {
 public:
  // Binds 127.0.0.1:0. Event i gets request id "req-<i>" and a deadline 60 s ahead.
  explicit FakeRuntimeApi(std::vector<std::string> events);
  ~FakeRuntimeApi();
  FakeRuntimeApi(const FakeRuntimeApi&) = delete;
  FakeRuntimeApi& operator=(const FakeRuntimeApi&) = delete;

  // "127.0.0.1:<port>", the value for AWS_LAMBDA_RUNTIME_API.
  std::string endpoint() const;

  // Serves until the worker asked for more events than there are or posted an init error (true),
  // `worker_alive` returned false (true), or `timeout` passed (false).
  bool Serve(std::chrono::milliseconds timeout, const std::function<bool()>& worker_alive);

  // Concurrent long polls (a worker with AWS_LAMBDA_MAX_CONCURRENCY > 1). Call before Serve().
  // Holds each GET /invocation/next until `n` of them wait at once, then answers them all, and
  // answers later ones at once: a worker that never keeps n long polls open hangs (Serve times
  // out). Also, a /next past the events then waits until every event handed out is answered
  // before the connections close (the worker's other loops may still be posting). 0 (the
  // default): nothing is held.
  void HoldNextsUntil(int n);
  // Once the events are exhausted, a GET /invocation/next is left waiting (a long poll that does
  // not return) instead of closing the worker's connection; Serve() then returns when
  // worker_alive() turns false.
  void ParkWhenExhausted();

  const std::vector<PostedResult>& results() const;
  int connections() const;         // TCP connections accepted
  int next_calls() const;          // GET /invocation/next requests received
  int most_waiting_nexts() const;  // the most of them held at once (HoldNextsUntil)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlfaas::testing
