// One execution environment: a worker process, its Runtime API channel (an HTTP endpoint or a
// worker-protocol socket) and its state. "GET /next" below stands for either form of "next".
//
// Lifecycle (InstanceState):
//
//   Starting --first GET /next--> Idle <--last /response|/error-- Busy
//      |                           |  \--invocation assigned--^
//      |                           +--reaped / shutdown / config changed--> Draining --exit-->
//      Stopped
//      +-- init error, init timeout, exit before init --> Failed
//   Busy --timeout (N = 1: killed) | crash--> Failed;  Busy --shutdown--> Draining (finishes,
//   then killed)
//
// An instance runs at most N invocations at a time (max_concurrency, the version's
// max_concurrency_per_instance; N = 1 is Lambda's default model). The invocations bound to it
// (`inflight`) are delivered ones, running in the worker, and ones waiting inside the instance
// for the worker to ask (a cold start's, while it inits; with N > 1, those beyond what the
// worker takes at once). It is Busy while any is bound, Idle when none is. With N > 1 an
// invocation that times out fails alone: the instance drains (takes no new invocations) and is
// stopped once the others have finished (docs/runtime.md, "Several invocations per instance").
// Stopped and Failed are terminal: the process has been reaped and the instance is removed from
// its pool.
//
// Thread-safety: every field is guarded by the owning InstanceManager's mutex.
#pragma once

#include <sys/types.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "gateway/base/function_log.h"
#include "gateway/base/http_server.h"
#include "gateway/base/invocation.h"
#include "sandbox/sandbox.h"

namespace mlfaas::gateway {

enum class InstanceState { kStarting, kIdle, kBusy, kDraining, kStopped, kFailed };

const char* InstanceStateName(InstanceState s);
// True for the edges drawn above (plus any -> Failed, any non-terminal -> Draining).
bool IsValidTransition(InstanceState from, InstanceState to);

// An invocation bound to an instance.
struct InFlight {
  std::string request_id;
  std::string payload;
  std::string invoked_arn;
  std::string client_context;  // Lambda-Runtime-Client-Context ("" = none)
  std::string trace_id;        // Lambda-Runtime-Trace-Id
  bool log_tail = false;
  InvokeCallback done;
  bool delivered = false;         // handed to the worker by GET /next
  bool cold_start = false;        // this invocation waited for the instance's init
  Clock::TimePoint sent_at{};     // when delivered
  int64_t deadline_epoch_ms = 0;  // Lambda-Runtime-Deadline-Ms
  std::string log;                // START + worker lines + END/REPORT (bounded)
  std::unique_ptr<Timer> timer;   // invocation timeout (Clock::StartTimer)
};

class Pool;

// A worker's error body as Lambda returns it: {"errorMessage","errorType",...} is kept, anything
// else becomes the message of an error of type `type` ("Unhandled" when empty).
std::string WorkerErrorBody(std::string body, std::string_view type);

class Instance : public std::enable_shared_from_this<Instance> {
 public:
  Instance(int id, Pool* pool) : id_(id), pool_(pool) {}
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  int id() const { return id_; }
  Pool* pool() const { return pool_; }
  InstanceState state() const { return state_; }
  // Precondition: IsValidTransition(state(), to).
  void TransitionTo(InstanceState to);

  // Process.
  pid_t pid = -1;
  std::unique_ptr<boost::asio::posix::stream_descriptor> output;      // stdout+stderr pipe
  std::unique_ptr<boost::asio::posix::stream_descriptor> exit_watch;  // pidfd
  std::unique_ptr<HttpServer> runtime_api;
  // The execution environment: its cgroup and peak-memory descriptor (its other descriptors are
  // moved into output, exit_watch and channel). Released (Sandbox::Release) once handled.
  sandbox::Environment env;
  // Forked from this snapshot template (model_loading = snapshot): kept alive while the
  // instance lives, since the instance lives in the template's pid namespace.
  std::shared_ptr<sandbox::Template> snapshot_template;
  std::string log_stream;
  std::unique_ptr<LogStream> log;  // the instance's log stream file (null without a log)
  bool provisioned = false;
  bool killed = false;  // we sent SIGKILL (timeout, reaping, shutdown)
  std::string partial_line;
  // Exit. Once reaped (pid is then -1), the exit is acted on only when the output pipe and the
  // worker-protocol channel have been read to EOF, so nothing the worker wrote just before
  // exiting is lost; a grandchild holding the pipe open cannot delay it past kExitDrainLimit.
  bool reaped = false;
  int wait_status = 0;
  bool output_eof = false;
  bool exit_drain_over = false;       // kExitDrainLimit passed
  bool exit_handled = false;          // OnExit ran
  std::unique_ptr<Timer> exit_timer;  // kExitDrainLimit (Clock::StartTimer)

  // Runtime API: over HTTP (custom runtimes) ...
  std::deque<Responder> parked_nexts;  // GET /next calls waiting for work (at most N)
  // ... or over the worker protocol (built-in runtime, common/worker_protocol.h).
  std::unique_ptr<boost::asio::local::stream_protocol::socket> channel;
  std::shared_ptr<std::vector<char>> channel_buf;  // read buffer (kept alive by pending reads)
  std::string channel_in;                          // bytes read, not yet a whole frame
  std::string channel_out;                         // bytes being written (async), in order
  std::string channel_pending;                     // bytes queued behind channel_out
  bool channel_next = false;                       // an N frame waits for work
  // Pipelined (the worker sent P): it takes up to `pipelined` invocations at once; V frames
  // sent minus R/E frames received (any request id: a late answer still frees its slot).
  int pipelined = 0;
  int channel_outstanding = 0;
  // Pipelined: V frames waiting for the flush posted to the io_context (one send for the
  // invocations that arrive in one pass over ready connections), and whether it is posted.
  std::string channel_batch;
  bool flush_posted = false;
  // Channel reads so far, and the read after which the output pipe was last drained and the
  // peak memory read: the answers of one read share one drain and one peak (pipelined only).
  uint64_t channel_reads = 0;
  uint64_t refreshed_at_read = 0;
  uint64_t channel_flushes = 0;  // pipelined: batches of V frames sent
  bool WaitingForWork() const {
    return !parked_nexts.empty() || channel_next ||
           (pipelined > 0 && channel_outstanding < pipelined);
  }

  // Invocations bound to this instance, oldest first (at most max_concurrency).
  int max_concurrency = 1;
  std::vector<std::unique_ptr<InFlight>> inflight;
  int Load() const { return static_cast<int>(inflight.size()); }
  bool HasFreeSlot() const { return Load() < max_concurrency; }
  // The delivered invocation with this id, or null.
  InFlight* FindDelivered(std::string_view request_id) const;
  // The oldest invocation not yet delivered, or null.
  InFlight* NextUndelivered() const;
  // The invocation a line of the worker's output belongs to: the only one bound, else none.
  InFlight* SoleInFlight() const { return inflight.size() == 1 ? inflight.front().get() : nullptr; }
  // Removes and returns the invocation (null if it is not bound here).
  std::unique_ptr<InFlight> Take(const InFlight* inv);

  // Accounting.
  Clock::TimePoint created_at{};
  Clock::TimePoint idle_since{};
  double init_duration_ms = 0;
  int64_t invocations = 0;
  uint64_t peak_bytes = 0;  // peak memory so far (the cgroup's is read after every invocation)
  Clock::TimePoint hwm_read_at{};  // the process's VmHWM is read at most once a second
  std::string init_error;          // body of /runtime/init/error, if any

 private:
  const int id_;
  Pool* const pool_;
  InstanceState state_ = InstanceState::kStarting;
};

}  // namespace mlfaas::gateway
