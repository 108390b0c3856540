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

  const std::vector<PostedResult>& results() const;
  int connections() const;  // TCP connections accepted
  int next_calls() const;   // GET /invocation/next requests received

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlfaas::testing
