// Fault injection against an in-process gateway (docs/reliability.md, docs/gateway.md): workers
// killed or stopped mid-invocation, workers that send garbage over the Runtime API or the worker
// protocol, workers that die during init, and a process launcher that fails. Each case checks the
// contract a client sees (status, error type), that a healthy function is unaffected, and that
// no process or descriptor is left behind.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "gateway/gateway_fixture.h"
#include "sandbox/process_launcher.h"
#include "testing/fake_clock.h"
#include "testing/subprocess.h"

namespace mlfaas::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// A Runtime API client that also sends garbage: raw bytes, malformed HTTP, unknown paths and
// results for unknown request ids, and reports what the gateway answered to each. The event's
// "action" picks the end of the invocation: "exit" (leave without answering) or a result.
constexpr const char* kVandal = R"PY(#!/usr/bin/python3
import json, os, socket, sys, urllib.error, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
host, port = api.split(":")
base = "http://" + api + "/2018-06-01/runtime"
def raw(data):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            out += b
    except OSError: pass
    s.close()
    return int(out[9:12]) if out.startswith(b"HTTP/1.1 ") else 0
def call(path, body=None, method="POST"):
    try:
        return urllib.request.urlopen(urllib.request.Request(base + path, data=body, method=method)).status
    except urllib.error.HTTPError as e:
        return e.code
seen = {"garbage": raw(b"\x00\x01\xff\xfe garbage \r\n\r\n" * 10),
        "malformed": raw(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: zz\r\n\r\n"),
        "unknown_path": call("/../../v1/status", b"{}"),
        "unknown_id": call("/invocation/not-a-request-id/response", b"{}")}
while True:
    with urllib.request.urlopen(base + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        ev = json.loads(r.read())
    seen["wrong_id"] = call("/invocation/" + rid + "x/response", b"{}")
    seen["get_result"] = call("/invocation/" + rid + "/response", None, "GET")
    seen["truncated"] = raw(("POST /2018-06-01/runtime/invocation/" + rid + "/response HTTP/1.1\r\n"
                             "Host: x\r\nContent-Length: 100\r\n\r\n{\"partial\":").encode())
    if ev.get("action") == "exit":
        os._exit(0)
    call("/invocation/" + rid + "/response", json.dumps(seen).encode())
)PY";

// A stand-in for mlfaas-runtime speaking the worker protocol on fd 3 (common/worker_protocol.h).
// FAULT picks what it sends; "none" is a well-behaved worker answering {"ok": true}.
constexpr const char* kFrameWorker = R"PY(#!/usr/bin/python3
import os, struct, sys, time
fault = os.environ.get("FAULT", "none")
def frame(t, *fields):
    body = t + b"\0".join(fields)
    return struct.pack("<I", len(body)) + body
def read_exact(n):
    out = b""
    while len(out) < n:
        b = os.read(3, n - len(out))
        if not b: sys.exit(0)
        out += b
    return out
def hang(data):
    os.write(3, data)
    time.sleep(60)
if fault == "garbage_at_init": hang(b"garbage, not a frame at all" * 4)
if fault == "huge_length": hang(struct.pack("<I", 0xFFFFFFF0) + b"R")
if fault == "zero_length": hang(struct.pack("<I", 0) + b"N")
if fault == "p_over_n": hang(frame(b"P", b"99"))  # more than AWS_LAMBDA_MAX_CONCURRENCY
if fault.startswith("p_"):  # pipelined: one P, then V frames come without asking again
    os.write(3, frame(b"P", os.environ["AWS_LAMBDA_MAX_CONCURRENCY"].encode()))
    while True:
        (n,) = struct.unpack("<I", read_exact(4))
        rid = read_exact(n)[1:].split(b"\0")[0]
        if fault == "p_then_next": hang(frame(b"N"))
        if fault == "p_extra_answer":
            hang(frame(b"R", rid, b'{"ok": true}') + frame(b"R", rid, b'{"ok": true}'))
        os.write(3, frame(b"R", rid, b'{"ok": true}'))
while True:
    os.write(3, frame(b"N"))
    (n,) = struct.unpack("<I", read_exact(4))
    rid = read_exact(n)[1:].split(b"\0")[0]
    if fault == "garbage_after_next": hang(b"\xff" * 64)
    if fault == "wrong_kind": hang(frame(b"V", rid, b"0", b"arn", b"trace", b"{}"))
    if fault == "missing_fields": hang(frame(b"E", rid))
    if fault == "second_next": hang(frame(b"N"))
    if fault == "unknown_id": os.write(3, frame(b"R", b"no-such-request", b"{}"))
    os.write(3, frame(b"R", rid, b'{"ok": true}'))
)PY";

// Prints "delivered" once it has an event (the test reads it in the function log: a confined
// worker can write nothing the test sees), sleeps ev["seconds"], answers {"instance": ...}
// and, for {"stop_after": true}, stops itself (SIGSTOP) before asking for the next event.
constexpr const char* kMarking = R"PY(#!/usr/bin/python3
import json, os, signal, time, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
me = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
while True:
    with urllib.request.urlopen(base + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        ev = json.loads(r.read())
    print("delivered", flush=True)
    time.sleep(ev.get("seconds", 0))
    urllib.request.urlopen(urllib.request.Request(base + rid + "/response",
                           data=json.dumps({"instance": me}).encode(), method="POST")).read()
    if ev.get("stop_after"):
        os.kill(os.getpid(), signal.SIGSTOP)
)PY";

// Exits with status 3 during init while the file $BROKEN_FLAG exists (relative to its code,
// the one place of the host a confined worker sees); a normal echo worker otherwise.
constexpr const char* kFlakyInit = R"PY(#!/usr/bin/python3
import json, os, sys, urllib.request
if os.path.exists(os.environ["BROKEN_FLAG"]):
    print("cannot load the model", flush=True)
    sys.exit(3)
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
while True:
    with urllib.request.urlopen(base + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    urllib.request.urlopen(urllib.request.Request(base + "/invocation/" + rid + "/response",
                           data=json.dumps({"instance": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]}).encode(),
                           method="POST")).read()
)PY";

// Fails the first `failures` launches (all of them when negative), then forks for real.
class FailingLauncher final : public sandbox::ProcessLauncher {
 public:
  explicit FailingLauncher(int failures) : failures_(failures) {}
  StatusOr<sandbox::LaunchedProcess> Launch(const sandbox::LaunchSpec& spec) override {
    const int n = ++calls_;
    if (failures_ < 0 || n <= failures_) {
      return Unavailable("fork: Resource temporarily unavailable (injected fault " +
                         std::to_string(n) + ")");
    }
    return real_.Launch(spec);
  }
  int calls() const { return calls_.load(); }

 private:
  const int failures_;
  std::atomic<int> calls_{0};
  sandbox::ForkExecLauncher real_;
};

// Forks for real, then returns only once `ready` holds (or after 10 s): lets a test make the
// worker act before the gateway has attached its process.
class LateReturningLauncher final : public sandbox::ProcessLauncher {
 public:
  StatusOr<sandbox::LaunchedProcess> Launch(const sandbox::LaunchSpec& spec) override {
    auto launched = real_.Launch(spec);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (launched.ok() && ready && !ready() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(2ms);
    }
    return launched;
  }
  std::function<bool()> ready;

 private:
  sandbox::ForkExecLauncher real_;
};

int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

// True once `pid` no longer exists: killed and reaped (workers are this process's children).
bool Reaped(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

class FaultInjectionTest : public GatewayFixture {
 protected:
  ~FaultInjectionTest() override { StopGateway(); }

  FakeClock clock_;  // for the tests that start the gateway on it (outlives it: see above)

  void StopGateway() {
    if (!gw_) return;
    gw_->Shutdown();
    gw_.reset();
  }

  // Registers `fn` ($LATEST) running `script` as its bootstrap (or as the runtime binary).
  void Function(const std::string& fn, const std::string& script,
                registry::FunctionConfig config = Config()) {
    auto dir = tmp_.path() / ("code-" + fn);
    fs::create_directories(dir);
    std::ofstream(dir / "bootstrap") << script;
    chmod((dir / "bootstrap").c_str(), 0755);
    code_.Set("digest-" + fn, dir);
    reg_.Put(fn, "$LATEST", "digest-" + fn, config);
  }

  // StartGateway with an injected launcher, which must outlive the gateway (StopGateway).
  void StartWithLauncher(sandbox::ProcessLauncher* launcher, gateway::GatewayOptions o = {}) {
    o.port = 0;
    o.stem_bin = MLFAAS_RUNTIME_BIN;
    o.threads = 2;
    o.grace = 3000ms;
    o.log_dir = tmp_.path() / "logs";
    gw_ = std::make_unique<gateway::Gateway>(o, reg_, code_, SystemClock::Get(), launcher);
    ASSERT_TRUE(gw_->Start().ok());
  }

  nlohmann::json Version(const std::string& fn) {
    const json status = Status();
    for (const auto& f : status["functions"])
      if (f["name"] == fn) return f["versions"][0];
    return {};
  }

  // The pid of `fn`'s busy instance, or 0.
  pid_t BusyPid(const std::string& fn) {
    const json version = Version(fn);
    for (const auto& i : version.value("instances", json::array()))
      if (i["state"] == "Busy") return i["pid"].get<pid_t>();
    return 0;
  }

  // A kMarking function's configuration.
  registry::FunctionConfig Marking(int timeout_s = 3) { return Config({}, timeout_s); }

  // "delivered" lines in the function logs so far (kMarking prints one per event; JSON lines,
  // the text last).
  int Delivered() {
    int n = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(tmp_.path() / "logs", ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string text = Slurp(it->path().string());
      for (size_t at = text.find("\"text\":\"delivered\"}\n"); at != std::string::npos;
           at = text.find("\"text\":\"delivered\"}\n", at + 1)) {
        ++n;
      }
    }
    return n;
  }

  std::future<HttpReply> InvokeAsync(const std::string& fn, const std::string& payload) {
    // The function log is written in blocks (every 200 ms): reading it through the logs route
    // first has the gateway write every line so far, so that the count holds the events already
    // delivered (a warm-up's line counted late would pass for this call's).
    HttpClient(gw_->port()).Get("/v1/functions/" + fn + "/logs?tail=1");
    delivered_before_ = Delivered();
    return std::async(std::launch::async, [this, fn, payload] { return Invoke(fn, payload); });
  }
  int delivered_before_ = 0;

  // The reply of `call` if it comes within `limit`. Otherwise records a failure and kills
  // `worker` (SIGKILL) so that the call ends and the test does not hang.
  static HttpReply Within(std::future<HttpReply>& call, std::chrono::milliseconds limit,
                          pid_t worker) {
    if (call.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within " << limit.count() << " ms: the invocation hangs";
      kill(worker, SIGKILL);
    }
    return call.get();
  }

  // After InvokeAsync on a kMarking function: waits until the worker has the event, then
  // returns the pid of `fn`'s busy instance (0 if the event never arrived).
  pid_t PidOnceDelivered(const std::string& fn) {
    return WaitFor([&] { return Delivered() > delivered_before_; }) ? BusyPid(fn) : 0;
  }

  // The instance (its log stream) that answered `r`.
  static std::string Instance(const HttpReply& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("instance") ? j["instance"].get<std::string>() : "";
  }

  // The host pid of the live instance that answered `r` (each is pid 1 of its own namespace
  // inside), or -1.
  pid_t Pid(const HttpReply& r) {
    const std::string instance = Instance(r);
    const json status = Status();  // not Status()["functions"]: the temporary would not live
    for (const auto& f : status["functions"]) {
      for (const auto& v : f["versions"]) {
        for (const auto& i : v["instances"]) {
          if (!instance.empty() && i.value("log_stream", "") == instance) {
            return i["pid"].get<pid_t>();
          }
        }
      }
    }
    return -1;
  }

  // Shuts the gateway down and checks it left no child process and no descriptor behind.
  void ExpectCleanShutdown(int fds_before) {
    ASSERT_TRUE(gw_);
    EXPECT_EQ(gw_->io_exceptions(), 0u);
    StopGateway();
    EXPECT_TRUE(ChildrenOf(getpid()).empty()) << "a worker outlived the gateway";
    EXPECT_EQ(OpenFds(), fds_before) << "descriptors leaked";
  }
};

TEST_F(FaultInjectionTest, WorkerKilledMidInvocationFailsOnlyThatCall) {
  Function("victim", kMarking, Marking());
  reg_.Put("healthy", "$LATEST", "py", Config());
  const int fds = OpenFds();
  StartGateway();
  auto healthy = Invoke("healthy", "{}");
  ASSERT_EQ(healthy.status, 200) << healthy.body;
  ASSERT_EQ(Invoke("victim", "{}").status, 200);  // warm
  auto slow = InvokeAsync("victim", R"({"seconds":5})");
  const pid_t pid = PidOnceDelivered("victim");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  auto r = Within(slow, 5s, pid);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "Runtime.ExitError");
  EXPECT_NE(r.body.find("signal: killed"), std::string::npos) << r.body;
  EXPECT_TRUE(WaitFor([&] { return Reaped(pid); })) << "the killed worker was not reaped";

  auto next = Invoke("victim", "{}");
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.header("x-mlfaas-cold-start"), "true");
  EXPECT_NE(Pid(next), pid);
  auto again = Invoke("healthy", "{}");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("x-mlfaas-cold-start"), "false");
  EXPECT_EQ(Instance(again), Instance(healthy)) << "the healthy function's instance was disturbed";
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, StoppedWorkerTimesOutAndIsKilledAndReaped) {
  Function("frozen", kMarking, Marking(/*timeout_s=*/1));
  const int fds = OpenFds();
  StartGateway();
  ASSERT_EQ(Invoke("frozen", "{}").status, 200);
  auto call = InvokeAsync("frozen", R"({"seconds":0.3})");  // answers in 0.3 s unless stopped
  const pid_t pid = PidOnceDelivered("frozen");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(-pid, SIGSTOP), 0);  // the environment's group: its init and the runtime
  auto r = Within(call, 5s, pid);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-amz-function-error"), "Unhandled");
  auto j = json::parse(r.body, nullptr, false);
  EXPECT_EQ(j.value("errorType", ""), "Sandbox.Timedout") << r.body;
  EXPECT_TRUE(WaitFor([&] { return Reaped(pid); })) << "the stopped worker is still there";
  auto next = Invoke("frozen", "{}");
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.header("x-mlfaas-cold-start"), "true");
  ExpectCleanShutdown(fds);
}

// The worker answers, then stops before asking for the next event (a runtime hung after its
// result). The next invocation is routed to it, is never delivered, and must still end by the
// function's timeout rather than wait forever.
TEST_F(FaultInjectionTest, WorkerStoppedBetweenInvocationsStillTimesOut) {
  Function("stalls", kMarking, Marking(/*timeout_s=*/1));
  const int fds = OpenFds();
  StartGateway();
  auto first = Invoke("stalls", R"({"stop_after":true})");
  ASSERT_EQ(first.status, 200) << first.body;
  const pid_t pid = Pid(first);
  ASSERT_GT(pid, 0) << first.body;
  ASSERT_TRUE(WaitFor([&] {  // the runtime: the child of the environment's init
    for (pid_t p : ChildrenOf(pid)) {
      if (Slurp("/proc/" + std::to_string(p) + "/stat").find(") T ") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  auto call = InvokeAsync("stalls", "{}");
  auto r = Within(call, 4s, pid);
  EXPECT_TRUE(r.status == 200 ? r.header("x-amz-function-error") == "Unhandled" : r.status >= 500)
      << r.status << " " << r.body;
  EXPECT_TRUE(WaitFor([&] { return Reaped(pid); })) << "the stopped worker is still there";
  EXPECT_EQ(Invoke("stalls", "{}").status, 200);
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, GarbageOnTheRuntimeApiIsRefusedAndEndsOnlyThatInvocation) {
  Function("vandal", kVandal);
  reg_.Put("healthy", "$LATEST", "py", Config());
  const int fds = OpenFds();
  StartGateway();
  auto healthy = Invoke("healthy", "{}");
  ASSERT_EQ(healthy.status, 200);

  auto r = Invoke("vandal", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto seen = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << r.body;
  EXPECT_EQ(seen["garbage"], 400) << r.body;
  EXPECT_EQ(seen["malformed"], 400) << r.body;
  EXPECT_EQ(seen["unknown_path"], 404) << r.body;
  EXPECT_EQ(seen["unknown_id"], 400) << r.body;
  EXPECT_EQ(seen["wrong_id"], 400) << r.body;
  EXPECT_EQ(seen["get_result"], 404) << r.body;
  // The connection closed mid-body: refused, and the invocation took the full result after it.
  EXPECT_NE(seen["truncated"], 202) << r.body;
  EXPECT_EQ(Invoke("vandal", "{}").header("x-mlfaas-cold-start"), "false");

  // A worker that sends garbage and leaves without answering fails its invocation only.
  auto gone = Invoke("vandal", R"({"action":"exit"})");
  EXPECT_EQ(gone.status, 502) << gone.body;
  EXPECT_EQ(gone.header("x-amzn-errortype"), "Runtime.ExitError");
  EXPECT_EQ(Invoke("vandal", "{}").status, 200);
  auto again = Invoke("healthy", "{}");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Instance(again), Instance(healthy));
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, GarbageWorkerFramesStopTheInstanceWithA502) {
  // Inside the code: a confined instance sees nothing else of the host's temp dir.
  fs::create_directories(tmp_.path() / "code-frames");
  auto runtime = tmp_.path() / "code-frames" / "fake-runtime";
  std::ofstream(runtime) << kFrameWorker;
  chmod(runtime.c_str(), 0755);
  auto builtin = [](const std::string& fault) {
    auto c = Config({{"FAULT", fault}});
    c.runtime = "mlfaas";
    return c;
  };
  fs::create_directories(tmp_.path() / "code-frames");
  code_.Set("frames", tmp_.path() / "code-frames");
  reg_.Put("good", "$LATEST", "frames", builtin("none"));
  reg_.Put("unknown_id", "$LATEST", "frames", builtin("unknown_id"));
  const std::vector<std::string> faults = {"garbage_at_init",    "huge_length", "zero_length",
                                           "garbage_after_next", "wrong_kind",  "missing_fields",
                                           "second_next",        "p_over_n",    "p_then_next"};
  // The pipelined ones (P frames) run with two invocations per instance.
  auto pipelined = [&](const std::string& fault) {
    auto c = builtin(fault);
    c.max_concurrency_per_instance = 2;
    return c;
  };
  for (const auto& f : faults) {
    reg_.Put(f, "$LATEST", "frames", f.starts_with("p_") ? pipelined(f) : builtin(f));
  }
  reg_.Put("p_good", "$LATEST", "frames", pipelined("p_good"));
  reg_.Put("p_extra_answer", "$LATEST", "frames", pipelined("p_extra_answer"));
  const int fds = OpenFds();
  gateway::GatewayOptions o;
  o.runtime_bin = runtime;
  StartGateway(o);
  auto good = Invoke("good", "{}");
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.body, R"({"ok": true})");
  // A result for an unknown request id is ignored (logged); the real one still counts.
  EXPECT_EQ(Invoke("unknown_id", "{}").status, 200);

  // Garbage before the worker's first "next" is a failed init (Runtime.InitError, back-off);
  // after it, a crash of that invocation (Runtime.ExitError). Both name the violation.
  // The faulty functions are invoked at once (each cold starts its own instance), then checked
  // one by one.
  const std::set<std::string> during_init = {"garbage_at_init", "huge_length", "zero_length",
                                             "p_over_n"};
  std::map<std::string, std::future<HttpReply>> replies;
  for (const auto& f : faults) {
    replies[f] = std::async(std::launch::async, [this, f] { return Invoke(f, "{}"); });
  }
  for (const auto& f : faults) {
    SCOPED_TRACE(f);
    auto r = replies[f].get();
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"),
              during_init.count(f) ? "Runtime.InitError" : "Runtime.ExitError")
        << r.body;
    EXPECT_NE(r.body.find("protocol violation"), std::string::npos) << r.body;
    EXPECT_TRUE(WaitFor([&] { return Version(f)["instances"].empty(); }))
        << "the instance was not stopped: " << Version(f).dump();
    auto ok = Invoke("good", "{}");
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.header("x-mlfaas-cold-start"), "false") << "the healthy instance was disturbed";
  }
  // A well-behaved pipelined worker answers; one that answers once too often (more answers
  // than invocations sent) is stopped after the answer it owed.
  EXPECT_EQ(Invoke("p_good", "{}").body, R"({"ok": true})");
  EXPECT_EQ(Invoke("p_good", "{}").header("x-mlfaas-cold-start"), "false");
  EXPECT_EQ(Invoke("p_extra_answer", "{}").status, 200);
  EXPECT_TRUE(WaitFor([&] { return Version("p_extra_answer")["instances"].empty(); }))
      << "the instance was not stopped: " << Version("p_extra_answer").dump();
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, ExitDuringInitBacksOffWithoutARespawnLoopAndRecovers) {
  Function("flaky", kFlakyInit, Config({{"BROKEN_FLAG", "broken"}}));
  const fs::path flag = tmp_.path() / "code-flaky" / "broken";
  std::ofstream(flag) << "x";
  reg_.Put("healthy", "$LATEST", "py", Config());
  const int fds = OpenFds();
  auto cold_starts = [&] { return Version("flaky")["cold_starts"].get<int>(); };
  // Time moves only when the test advances the clock: the back-off windows are exact.
  StartGateway({}, &clock_);
  auto r = Invoke("flaky", "{}");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "Runtime.InitError");
  EXPECT_NE(r.body.find("exit status 3"), std::string::npos) << r.body;
  EXPECT_EQ(Version("flaky")["init_backoff_ms"], 1000) << Version("flaky").dump();

  // Calls inside the back-off window are answered from it, not by spawning a worker each time.
  for (int i = 0; i < 20; ++i) {
    auto again = Invoke("flaky", "{}");
    ASSERT_EQ(again.status, 502) << again.body;
    EXPECT_EQ(again.header("x-amzn-errortype"), "Runtime.InitError");
    EXPECT_NE(again.body.find("exit status 3"), std::string::npos) << again.body;
  }
  EXPECT_EQ(cold_starts(), 1) << Version("flaky").dump();
  EXPECT_EQ(Invoke("healthy", "{}").status, 200);  // other functions are served meanwhile

  // The window over, one new try: still broken, so the next window is twice as long.
  clock_.Advance(1s);
  EXPECT_EQ(Invoke("flaky", "{}").status, 502);
  EXPECT_EQ(cold_starts(), 2);
  EXPECT_EQ(Version("flaky")["init_backoff_ms"], 2000) << Version("flaky").dump();
  clock_.Advance(1999ms);
  EXPECT_EQ(Invoke("flaky", "{}").status, 502);
  EXPECT_EQ(cold_starts(), 2);

  fs::remove(flag);  // fixed: served again once the back-off has passed, without a restart
  clock_.Advance(1ms);
  auto fixed = Invoke("flaky", "{}");
  EXPECT_EQ(fixed.status, 200) << fixed.body;
  EXPECT_EQ(cold_starts(), 3);
  EXPECT_FALSE(Version("flaky").contains("init_backoff_ms")) << Version("flaky").dump();
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, FailingLauncherIsAnInitErrorWithBackoff) {
  reg_.Put("custom", "$LATEST", "py", Config());
  auto builtin = Config();
  builtin.runtime = "mlfaas";  // socket transport: a socketpair to clean up as well
  reg_.Put("builtin", "$LATEST", "py", builtin);
  FailingLauncher launcher(/*failures=*/-1);
  gateway::GatewayOptions o;
  o.runtime_bin = "/bin/true";
  const int fds = OpenFds();
  StartWithLauncher(&launcher, o);
  for (const char* fn : {"custom", "builtin"}) {
    SCOPED_TRACE(fn);
    const int before = launcher.calls();
    auto r = Invoke(fn, "{}");
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"), "Runtime.InitError");
    EXPECT_NE(r.body.find("injected fault"), std::string::npos) << r.body;
    auto again = Invoke(fn, "{}");
    EXPECT_EQ(again.status, 502);
    EXPECT_NE(again.body.find("injected fault"), std::string::npos) << again.body;
    EXPECT_EQ(launcher.calls(), before + 1) << "no launch during the back-off";
    EXPECT_TRUE(Version(fn).contains("init_backoff_ms")) << Version(fn).dump();
  }
  EXPECT_EQ(HttpClient(gw_->port()).Get("/v2/health/live").status, 200);
  EXPECT_EQ(Status()["live_instances"], 0);
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, LauncherThatFailsOnceServesAfterTheBackoff) {
  reg_.Put("once", "$LATEST", "py", Config());
  FailingLauncher launcher(/*failures=*/1);
  const int fds = OpenFds();
  StartWithLauncher(&launcher);
  auto r = Invoke("once", "{}");
  const auto failed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "Runtime.InitError");
  HttpReply ok;
  EXPECT_TRUE(WaitFor([&] { return (ok = Invoke("once", "{}")).status == 200; }, 5s)) << ok.body;
  EXPECT_GE(std::chrono::steady_clock::now() - failed_at, 900ms) << "the back-off was skipped";
  EXPECT_EQ(launcher.calls(), 2) << "calls during the back-off must not launch";
  EXPECT_EQ(Invoke("once", "{}").header("x-mlfaas-cold-start"), "false");
  ExpectCleanShutdown(fds);
}

TEST_F(FaultInjectionTest, WorkerThatAsksForWorkBeforeItsProcessIsAttachedIsServed) {
  // A fast worker on a loaded machine: its GET /next reaches the Runtime API (which makes the
  // instance Idle) before the launching thread attaches the process. The process must become
  // the instance, not be discarded as if the instance had been stopped meanwhile.
  reg_.Put("fast", "$LATEST", "py", Config());
  // At isolation off the launcher starts the worker itself; a confined one is a stem cell that
  // gets its function only after the launcher returned, so the race cannot be provoked there.
  gateway::GatewayOptions o;
  o.isolation = "off";
  LateReturningLauncher launcher;
  std::atomic<bool> asked{false};
  launcher.ready = [&] {
    for (const auto& [key, n] : gw_->manager().LiveCounts().instances) {
      if (std::get<2>(key) != std::string("Starting") && n > 0) asked = true;
    }
    return asked.load();
  };
  const int fds = OpenFds();
  StartWithLauncher(&launcher, o);
  auto r = Invoke("fast", "{}");
  EXPECT_TRUE(asked) << "the worker did not ask for work before the launcher returned";
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-amz-function-error"), "") << r.body;
  EXPECT_EQ(r.header("x-mlfaas-cold-start"), "true");
  // The same process serves the next call (a discarded one would leave it to time out).
  auto warm = Invoke("fast", "{}");
  EXPECT_EQ(warm.status, 200) << warm.body;
  EXPECT_EQ(warm.header("x-amz-function-error"), "") << warm.body;
  EXPECT_EQ(warm.header("x-mlfaas-cold-start"), "false");
  ExpectCleanShutdown(fds);
}

}  // namespace
}  // namespace mlfaas::testing
