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
};

// Reads the environment above. InvalidArgument names the bad variable; a missing
// AWS_LAMBDA_RUNTIME_API is reported only through runtime_api being empty.
StatusOr<WorkerConfig> WorkerConfigFromEnv();

// Reads $task_root/manifest.json (digest-verified) and builds the handler.
StatusOr<std::unique_ptr<ModelHandler>> LoadModelHandler(const WorkerConfig& config);

// Init + loop against `transport`. Init failures are posted to /runtime/init/error (type
// InitError) and returned. Returns when the loop ends (normally: the Runtime API went away).
// `preloaded`: the model a snapshot template loaded before this instance was forked from it
// (init is then already done).
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

}  // namespace mlfaas::runtime
