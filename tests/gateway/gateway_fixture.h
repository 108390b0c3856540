// Test fixture: an in-process Gateway on port 0 over a FakeRegistry, whose functions run a
// python3 stdlib Lambda runtime client (custom runtime "provided"). The bootstrap obeys the
// event: {"action": "sleep"|"crash"|"error"|"echo", "seconds": s, "msg": "..."} and the
// function environment MODE=init_error|init_crash|slow_init.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/base64.h"
#include "common/fs.h"
#include "gateway/gateway.h"
#include "gateway/http_client.h"
#include "testing/fake_registry.h"

namespace mlfaas::testing {

// The memory test functions get unless a test is about memory: 1769 MB is one full vCPU (CPU is
// proportional to memory, as on Lambda). Tests are not about the CPU share, and under a 256 MB
// quota (14.5 ms of CPU per 100 ms) a python runtime alone takes about 0.4 s to start.
// The bytes of base64 `text` (a LogResult header, say); "<not base64>" when it is not.
inline std::string Unbase64(const std::string& text) {
  return Base64Decode(text).value_or("<not base64>");
}

inline constexpr int kTestMemoryMb = 1769;

// With AWS_LAMBDA_MAX_CONCURRENCY=N > 1 it runs N next loops at once, as a Lambda Managed
// Instances runtime does.
inline constexpr const char* kPythonBootstrap = R"PY(#!/usr/bin/python3
import json, os, sys, threading, time, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def post(path, body, headers=None):
    req = urllib.request.Request(base + path, data=body.encode(), method="POST",
                                 headers=headers or {})
    urllib.request.urlopen(req).read()
mode = os.environ.get("MODE", "")
if mode == "init_error":
    post("/init/error", json.dumps({"errorMessage": "model file missing", "errorType": "InitBoom"}))
    sys.exit(1)
if mode == "init_crash":
    print("dying during init", flush=True)
    sys.exit(3)
if mode == "slow_init":
    time.sleep(0.3)
def loop():
    while True:
        with urllib.request.urlopen(base + "/invocation/next") as r:
            rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
            deadline = r.headers["Lambda-Runtime-Deadline-Ms"]
            arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
            trace = r.headers["Lambda-Runtime-Trace-Id"]
            client_context = r.headers.get("Lambda-Runtime-Client-Context")
            ev = json.loads(r.read())
        act = ev.get("action", "echo") if isinstance(ev, dict) else "echo"
        print("log: handling", rid, ev.get("msg", "") if isinstance(ev, dict) else "", flush=True)
        if act == "sleep":
            time.sleep(ev["seconds"])
        if act == "crash":
            os._exit(7)
        if act == "error":
            post("/invocation/" + rid + "/error",
                 json.dumps({"errorMessage": "bad input: field x", "errorType": "InvalidInput"}))
            continue
        env = {k: os.environ.get(k) for k in [
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_INITIALIZATION_TYPE", "_HANDLER",
            "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "TZ",
            "MLFAAS_MODEL_LOADING", "TAG", "AWS_LAMBDA_MAX_CONCURRENCY"]}
        post("/invocation/" + rid + "/response",
             json.dumps({"echo": ev, "pid": os.getpid(), "env": env, "deadline": deadline,
                         "arn": arn, "instance": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
                         "trace": trace, "client_context": client_context}))
n = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))
for _ in range(n - 1):
    threading.Thread(target=loop, daemon=True).start()
loop()
)PY";

// Waits (bounded, polling every 10 ms) until `pred` holds; returns its last value.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

class FakeCodeStore final : public gateway::CodeStore {
 public:
  void Set(const std::string& digest, std::filesystem::path dir) { dirs_[digest] = dir; }
  StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) override {
    auto it = dirs_.find(v.code_digest);
    if (it == dirs_.end()) return NotFound("no code for digest " + v.code_digest);
    return it->second;
  }

 private:
  std::map<std::string, std::filesystem::path> dirs_;
};

class GatewayFixture : public ::testing::Test {
 protected:
  GatewayFixture() {
    auto dir = tmp_.path() / "code-py";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "bootstrap") << kPythonBootstrap;
    chmod((dir / "bootstrap").c_str(), 0755);
    code_.Set("py", dir);
  }

  static registry::FunctionConfig Config(std::map<std::string, std::string> env = {},
                                         int timeout_s = 3) {
    registry::FunctionConfig c;
    c.runtime = "provided";
    c.handler = "handler.main";
    c.memory_mb = kTestMemoryMb;
    c.timeout_s = timeout_s;
    c.environment = std::move(env);
    return c;
  }

  void StartGateway(gateway::GatewayOptions o = {}, Clock* clock = nullptr) {
    o.port = 0;
    o.stem_bin = MLFAAS_RUNTIME_BIN;
    o.threads = 2;
    o.grace = std::chrono::milliseconds(3000);
    o.log_dir = tmp_.path() / "logs";
    gw_ = clock ? std::make_unique<gateway::Gateway>(o, reg_, code_, *clock)
                : std::make_unique<gateway::Gateway>(o, reg_, code_);
    ASSERT_TRUE(gw_->Start().ok());
  }

  // Before any member of a derived fixture dies (a FakeClock, a key store the gateway uses).
  void TearDown() override {
    if (gw_) gw_->Shutdown();
  }
  ~GatewayFixture() override {
    if (gw_) gw_->Shutdown();
  }

  static std::string Path(const std::string& fn, const std::string& qualifier = "") {
    std::string p = "/2015-03-31/functions/" + fn + "/invocations";
    if (!qualifier.empty()) p += "?Qualifier=" + qualifier;
    return p;
  }

  HttpReply Invoke(const std::string& fn, const std::string& payload,
                   std::map<std::string, std::string> headers = {},
                   const std::string& qualifier = "") {
    HttpClient c(gw_->port());
    return c.Post(Path(fn, qualifier), payload, headers);
  }

  nlohmann::json Status() {
    HttpClient c(gw_->port());
    return nlohmann::json::parse(c.Get("/v1/status").body);
  }

  // Waits (bounded) until `pred` holds.
  template <typename Pred>
  static bool Eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return WaitFor(pred, limit);
  }

  TempDir tmp_{"mlfaas-gw"};
  FakeRegistry reg_;
  FakeCodeStore code_;
  std::unique_ptr<gateway::Gateway> gw_;
};

}  // namespace mlfaas::testing
