// The mlfaas worker: what `mlfaas-runtime` and `mlfaas runtime` run in a Lambda-style instance.
//
// Environment (set by `mlfaas serve`, and by AWS Lambda for a provided.al2023 function):
//   AWS_LAMBDA_RUNTIME_API       host:port of the Runtime API (required unless one below is set)
//   MLFAAS_RUNTIME_FD            an inherited Unix socket speaking the mlfaas worker protocol
//                                (common/worker_protocol.h); preferred over the HTTP API
//   MLFAAS_STEM_FD               stem cell: wait on this socket for a launch frame (working
//                                directory, environment, and for custom runtimes the executable
//                                to become), then run; the launch environment sets
//                                MLFAAS_RUNTIME_FD to the same socket
//   _HANDLER                     "predict" (the only handler; empty means predict)
//   LAMBDA_TASK_ROOT             directory holding manifest.json (default: current directory)
//   AWS_LAMBDA_FUNCTION_VERSION  reported as model.version in results (default "$LATEST")
//   AWS_LAMBDA_FUNCTION_NAME     used in the init log line
//   MLFAAS_MODEL_LOADING         init (default; "eager" too): load at init | lazy: on the first
//                                invocation | per-invoke: on every invocation | snapshot: as
//                                init (a template, MLFAAS_SNAPSHOT_FD, forks once loaded: main.cc)
//   AWS_LAMBDA_MAX_CONCURRENCY   N, 1..1600 (Lambda Managed Instances' per-environment
//                                concurrency): how many invocations this worker runs at once.
//                                Unset or 1: one at a time (RunLoop). N > 1 over the worker socket:
//                                the pipelined loop (runtime/pipeline.h: a P frame, then up to N
//                                V frames in flight, answers batched); over HTTP: `threads`
//                                RunLoops, each with its own connection and long poll. Anything
//                                else (0, "+5", "05", "abc") is an init error.
//   AWS_LAMBDA_FUNCTION_MEMORY_SIZE  MB; with the CPUs this process may run on, sets the handler
//                                threads: WorkerThreads() below
// See docs/runtime.md.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/model_loading.h"
#include "common/status.h"
#include "common/worker_protocol.h"
#include "runtime/model_handler.h"
#include "runtime/transport.h"

namespace mlfaas::runtime {

inline constexpr std::string_view kInitError = "InitError";

struct WorkerConfig {
  std::string runtime_api;
  std::string handler = "predict";
  std::filesystem::path task_root = ".";
  std::string function_name;
  std::string function_version = "$LATEST";
  ModelLoading loading = ModelLoading::kInit;
  int max_concurrency = 1;  // AWS_LAMBDA_MAX_CONCURRENCY
  int threads = 1;          // handler threads when max_concurrency > 1: WorkerThreads()
};

// Lambda's CPU allotment: one vCPU per this many MB of function memory.
inline constexpr int kMemoryMbPerVcpu = 1769;

// The handler threads of a worker that may run `max_concurrency` invocations at once: no more
// than that, nor than its CPU quota in whole vCPUs (memory_mb / kMemoryMbPerVcpu, floored, and
// at most `cpus`, the CPUs it may run on; `cpus` alone when memory_mb <= 0, i.e. unknown), and
// at least 1.
int WorkerThreads(int max_concurrency, int memory_mb, int cpus);

// The CPUs this process may run on (sched_getaffinity); at least 1.
int AffinityCpus();

// Reads the environment above. InvalidArgument names the bad variable; a missing
// AWS_LAMBDA_RUNTIME_API is reported only through runtime_api being empty.
StatusOr<WorkerConfig> WorkerConfigFromEnv();

// Reads $task_root/manifest.json (digest-verified) and builds the handler.
StatusOr<std::unique_ptr<ModelHandler>> LoadModelHandler(const WorkerConfig& config);

// Init + loop against `transport`. Init failures are posted to /runtime/init/error (type
// InitError) and returned. Returns when the loop ends (normally: the Runtime API went away).
// `preloaded`: the model a snapshot template loaded before this instance was forked from it
// (init is then already done).
// With config.max_concurrency > 1: on a SocketTransport, RunPipelinedLoop on its socket with
// config.threads threads; on any other transport, config.threads RunLoops in parallel, the first
// on `transport`, each other on its own HttpTransport to config.runtime_api (none when that is
// empty); the first loop to end interrupts the others, and its status is returned once every
// thread is joined.
Status RunWorkerWith(const WorkerConfig& config, RuntimeTransport& transport,
                     std::unique_ptr<ModelHandler> preloaded = nullptr);

// OpenSSL initialized for what the worker needs (SHA-256) and nothing more.
void InitCrypto();

// The transport the environment names: MLFAAS_RUNTIME_FD, else AWS_LAMBDA_RUNTIME_API.
StatusOr<std::unique_ptr<RuntimeTransport>> TransportFromEnv();

// WorkerConfigFromEnv + the transport the environment names + RunWorkerWith. (A stem cell first
// becomes its environment: sandbox/stem_cell.h, called by main.)
// Never returns OK.
Status RunWorker();

// The HTTP adapter mode (`--http LISTEN`, runtime/http_adapter.h): WorkerConfigFromEnv (no
// Runtime API: AWS_LAMBDA_RUNTIME_API is ignored), then $LAMBDA_TASK_ROOT/manifest.json is read
// for the model's name (when AWS_LAMBDA_FUNCTION_NAME is unset) and features, the model loaded
// as MLFAAS_MODEL_LOADING says, and the same handler as RunWorkerWith's served over HTTP on
// `listen`: on config.threads io threads when AWS_LAMBDA_MAX_CONCURRENCY > 1, else one.
// Init failures are returned (prefixed "init failed"); OK when stopped by SIGTERM or SIGINT.
Status RunHttpWorker(std::string_view listen);

}  // namespace mlfaas::runtime
