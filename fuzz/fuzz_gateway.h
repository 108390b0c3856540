// Shared by the gateway fuzz targets: an in-process gateway assembled from its real parts
// (HttpServer, Route, Invoker, InstanceManager) over fakes (FakeRegistry, FakeClock, a temp-dir
// CodeStore, a ProcessLauncher that never starts a process), all on one io_context that the
// caller drives with Pump(). Nothing here spawns a process or touches the network beyond
// 127.0.0.1.
//
// Why the HTTP server and not Route alone: a Responder can only be made by the server's session
// (gateway/http_server.h), so a request routed without it cannot be answered observably. The
// fuzz input therefore goes to the real front door over a loopback connection, which also
// fuzzes the session's own parsing and limits.
//
// Determinism: each input gets a fresh FuzzGateway (fresh io_context, registry, pools, back-off
// state), time never moves (FakeClock), and everything runs on the calling thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "gateway/base/code_store.h"
#include "gateway/base/http_server.h"
#include "gateway/base/metrics.h"
#include "gateway/frontend/router.h"
#include "gateway/invoke/invoker.h"
#include "gateway/pool/instance_manager.h"
#include "sandbox/process_launcher.h"
#include "testing/fake_clock.h"
#include "testing/fake_random.h"
#include "testing/fake_registry.h"

namespace mlfaas::fuzz {

// Once per process: silences spdlog (every failed launch would log a warning).
void QuietLogs();

// A directory under FuzzTmpBase() for the whole process, removed at exit.
const std::filesystem::path& ProcessTempDir();

// Never starts anything: every launch fails, as when the runtime binary is missing.
class FailingLauncher final : public sandbox::ProcessLauncher {
 public:
  StatusOr<sandbox::LaunchedProcess> Launch(const sandbox::LaunchSpec& spec) override;
};

// "Starts" built-in-runtime workers without a process: keeps the worker's end of the
// worker-protocol socket for the caller, which then plays the worker. The instance gets pid 0
// (never signalled nor waited for: the manager only does so for pid > 0), a pipe as its output
// (the write end is kept here) and an eventfd as its pidfd (never readable, so the instance
// never "exits" until the manager is destroyed). Custom runtimes (HTTP transport) fail to launch.
class LoopbackLauncher final : public sandbox::ProcessLauncher {
 public:
  struct Worker {
    int fd = -1;            // our end of the worker-protocol socket, non-blocking
    int output_write = -1;  // the write end of the instance's output pipe
    std::string in;         // bytes received from the gateway, not yet consumed
    std::string out;        // bytes for the gateway not yet sent (see Io)
    // Sends what the gateway takes of `out`, receives into `in`; true when bytes moved.
    bool Io();
  };
  explicit LoopbackLauncher(bool send_next_on_launch) : send_next_(send_next_on_launch) {}
  ~LoopbackLauncher() override;
  StatusOr<sandbox::LaunchedProcess> Launch(const sandbox::LaunchSpec& spec) override;
  std::vector<Worker>& workers() { return workers_; }

 private:
  const bool send_next_;
  std::vector<Worker> workers_;
};

// Returns the process temp dir for every version (as if every package were extracted there).
class TempCodeStore final : public gateway::CodeStore {
 public:
  StatusOr<std::filesystem::path> CodeDir(const registry::VersionInfo& v) override;
};

// The functions every target finds in the registry:
//   kdd99 (built-in runtime): $LATEST, 1, 2; aliases live -> 1, stable -> 2
//   echo  (custom runtime "provided"): $LATEST; alias prod -> $LATEST
void PopulateRegistry(testing::FakeRegistry& registry);

class FuzzGateway {
 public:
  // `launcher` outlives the gateway. `with_http` starts the public HTTP server on 127.0.0.1:0.
  FuzzGateway(sandbox::ProcessLauncher& launcher, bool with_http);
  ~FuzzGateway();
  FuzzGateway(const FuzzGateway&) = delete;
  FuzzGateway& operator=(const FuzzGateway&) = delete;

  // Runs ready handlers and `extra` (which returns true when it moved data) until neither has
  // anything to do three rounds in a row. Aborts after `max_rounds` (a livelock is a finding).
  void Pump(const std::function<bool()>& extra = {}, int max_rounds = 200000);

  uint16_t port() const { return server_ ? server_->port() : 0; }
  gateway::Invoker& invoker() { return *invoker_; }
  gateway::InstanceManager& manager() { return *manager_; }

 private:
  boost::asio::io_context ioc_{1};
  testing::FakeClock clock_;
  testing::FakeRandom random_;  // a fixed sequence: an input reproduces
  testing::FakeRegistry registry_;
  TempCodeStore code_;
  gateway::Metrics metrics_;
  std::atomic<bool> shutting_down_{false};
  std::unique_ptr<sandbox::ProcessSandbox> sandbox_;  // outlives the manager
  std::unique_ptr<gateway::InstanceManager> manager_;
  std::unique_ptr<gateway::Invoker> invoker_;
  std::unique_ptr<gateway::ApiContext> api_;
  std::unique_ptr<gateway::HttpServer> server_;
};

// The pipelined requests a Beast request_parser<string_body> with the gateway's limits (header
// 16 KiB, body 6 MiB) finds in `bytes`, in order, up to the first error or incomplete request:
// the methods of the `complete` ones, then the method of the request that failed or is
// incomplete, when its header at least was parsed.
struct PipelinedRequests {
  std::vector<boost::beast::http::verb> methods;
  size_t complete = 0;
};
PipelinedRequests ParsePipelinedRequests(std::string_view bytes);

// What a client saw on one connection.
struct Exchange {
  std::string received;        // every byte the server sent
  bool server_closed = false;  // EOF or reset seen
};

// One client connection to the gateway's HTTP server (non-blocking, driven by Io()). Closed
// with RST on destruction: no TIME_WAIT entry is left behind, so a long run does not exhaust
// the machine's ephemeral ports (a half-close would leave one per input).
class ClientConnection {
 public:
  explicit ClientConnection(FuzzGateway& gw);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Queues bytes to send.
  void Send(std::string_view bytes) { out_.append(bytes); }
  // Sends what the server takes, receives what it wrote; true when bytes moved (or some are
  // still in flight).
  bool Io();
  // After gw.Pump(io): while fewer than `requests.complete` answers arrived on an open
  // connection, waits for them a little (up to ~100 ms), pumping. Costs nothing otherwise.
  void AwaitAnswers(FuzzGateway& gw, const PipelinedRequests& requests,
                    const std::function<bool()>& io);
  const Exchange& exchange() const { return ex_; }

 private:
  int fd_ = -1;
  std::string out_;
  size_t sent_ = 0;
  int in_flight_waits_ = 0;
  Exchange ex_;
};

// Connects, sends `bytes`, pumps (with `extra`) until the gateway is quiescent, then closes.
Exchange HttpExchange(FuzzGateway& gw, std::string_view bytes,
                      const std::function<bool()>& extra = {});

// How many complete final answers `ex` holds (parsed as answers to `requests`).
size_t CountAnswers(const Exchange& ex, const PipelinedRequests& requests);

// Checks what the gateway answered to `requests`:
// a sequence of syntactically valid HTTP/1.1 responses, nothing left over; interim 100 Continue
// allowed; every final answer has a JSON body (accepted by nlohmann::json::accept) except
// 202/204 (empty), /metrics (text/plain) and HEAD; one final answer per request unless the
// server closed the connection (then at most one more: the rejection of an unparsable request).
// Returns the parsed final responses. Aborts on any violation. MLFAAS_FUZZ_VERBOSE=1 in the
// environment prints every exchange (to read what a reproducer does).
// `raw_ok(i)` (optional) allows final answer i a non-JSON body when it is a 200 carrying an
// invocation's result (X-Mlfaas-Cold-Start set): the Lambda Invoke API returns the function's
// bytes as they are. A 500 ServiceException "internal error: ..." (the HTTP server's catch of a
// throwing handler) is a violation too.
std::vector<gateway::Response> CheckResponses(const Exchange& ex, const PipelinedRequests& requests,
                                              const std::function<bool(size_t)>& raw_ok = {});

}  // namespace mlfaas::fuzz
