#include "runtime/worker.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "package/package.h"
#include "runtime/http_transport.h"
#include "runtime/loop.h"
#include "runtime/socket_transport.h"

namespace mlfaas::runtime {

namespace {

std::string Env(const char* name, std::string fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The one init log line (stdout, flushed: the gateway captures it).
void LogInit(const WorkerConfig& config, const ModelHandler& handler, double init_ms) {
  std::printf("mlfaas-runtime: function %s version %s model %s digest %s loaded %s in %.3f ms\n",
              config.function_name.empty() ? "-" : config.function_name.c_str(),
              config.function_version.c_str(), handler.info().name.c_str(),
              handler.info().digest.c_str(),
              config.loading == ModelLoading::kLazy ? "lazily" : "at init", init_ms);
  std::fflush(stdout);
}

// Owns the model handler; with lazy loading builds it on the first invocation, and a failed
// lazy load ends the worker (FatalError of type InitError). With per-invoke loading it builds a
// handler for each invocation and drops it after; a failed load fails that invocation
// (InitError) only.
class WorkerHandler {
 public:
  WorkerHandler(const WorkerConfig& config, std::unique_ptr<ModelHandler> loaded)
      : config_(config), handler_(std::move(loaded)) {}

  Response operator()(const Invocation& invocation) {
    if (config_.loading == ModelLoading::kPerInvoke) {
      auto loaded = LoadModelHandler(config_);
      if (!loaded.ok()) return Response::Error(std::string(kInitError), loaded.status().message());
      return (*loaded)->Handle(invocation);
    }
    if (!handler_) {
      auto start = std::chrono::steady_clock::now();
      auto loaded = LoadModelHandler(config_);
      if (!loaded.ok()) {
        return Response::FatalError(std::string(kInitError), loaded.status().message());
      }
      handler_ = std::move(loaded).value();
      LogInit(config_, *handler_, MillisSince(start));
    }
    return handler_->Handle(invocation);
  }

 private:
  WorkerConfig config_;
  std::shared_ptr<ModelHandler> handler_;  // shared: std::function needs a copyable target
};

}  // namespace

StatusOr<WorkerConfig> WorkerConfigFromEnv() {
  WorkerConfig c;
  c.runtime_api = Env("AWS_LAMBDA_RUNTIME_API");
  c.handler = Env("_HANDLER", "predict");
  c.task_root = Env("LAMBDA_TASK_ROOT", ".");
  c.function_name = Env("AWS_LAMBDA_FUNCTION_NAME");
  c.function_version = Env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
  const std::string loading = Env(kModelLoadingEnv, "init");
  auto parsed = ParseModelLoading(loading);
  if (!parsed) {
    return InvalidArgument(std::string(kModelLoadingEnv) + " must be one of " +
                           kModelLoadingChoices + ", not '" + loading + "'");
  }
  c.loading = *parsed;
  if (c.handler != "predict") {
    return InvalidArgument("_HANDLER '" + c.handler + "' is not supported (use 'predict')");
  }
  return c;
}

StatusOr<std::unique_ptr<ModelHandler>> LoadModelHandler(const WorkerConfig& config) {
  auto manifest = package::ReadManifestFile(config.task_root / "manifest.json");
  if (!manifest.ok()) return manifest.status();
  MLFAAS_RETURN_IF_ERROR(model::Predictor::Validate(manifest->model));
  ModelInfo info{manifest->name, config.function_version, manifest->digest};
  auto predictor = std::make_shared<const model::Predictor>(std::move(manifest->model));
  return std::make_unique<ModelHandler>(std::move(predictor), info);
}

Status RunWorkerWith(const WorkerConfig& config, RuntimeTransport& transport,
                     std::unique_ptr<ModelHandler> preloaded) {
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ModelHandler> loaded = std::move(preloaded);
  const bool at_init =
      config.loading == ModelLoading::kInit || config.loading == ModelLoading::kSnapshot;
  if (config.loading == ModelLoading::kPerInvoke) {
    std::printf("mlfaas-runtime: function %s version %s loads its model on every invocation\n",
                config.function_name.empty() ? "-" : config.function_name.c_str(),
                config.function_version.c_str());
    std::fflush(stdout);
  } else if (at_init && !loaded) {
    auto handler = LoadModelHandler(config);
    if (!handler.ok()) {
      Status posted = transport.PostInitError(kInitError, handler.status().message());
      if (!posted.ok()) {
        std::fprintf(stderr, "mlfaas-runtime: reporting init error failed: %s\n",
                     posted.ToString().c_str());
      }
      return handler.status().WithPrefix("init failed");
    }
    loaded = std::move(handler).value();
    LogInit(config, *loaded, MillisSince(start));
  }
  WorkerHandler handler(config, std::move(loaded));
  return RunLoop(transport, handler);
}

namespace {

StatusOr<int> FdFromEnv(const char* name) {
  std::string v = Env(name);
  int fd = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), fd);
  if (ec != std::errc() || p != v.data() + v.size() || fd < 0 || fcntl(fd, F_GETFD) < 0) {
    return InvalidArgument(std::string(name) + " '" + v + "' is not an open file descriptor");
  }
  return fd;
}

}  // namespace

StatusOr<std::unique_ptr<RuntimeTransport>> TransportFromEnv() {
  std::unique_ptr<RuntimeTransport> transport;
  if (!Env(wire::kRuntimeFdEnv).empty()) {
    MLFAAS_ASSIGN_OR_RETURN(int fd, FdFromEnv(wire::kRuntimeFdEnv));
    transport = std::make_unique<SocketTransport>(fd);
  }
  if (!transport) {
    const std::string api = Env(wire::kRuntimeApiEnv);
    if (api.empty()) return InvalidArgument("AWS_LAMBDA_RUNTIME_API is not set");
    MLFAAS_ASSIGN_OR_RETURN(transport, HttpTransport::Create(api));
  }
  return transport;
}

void InitCrypto() {
  // The digest check uses OpenSSL. Its default initialization reads openssl.cnf and registers
  // every cipher and digest: ~0.7 ms of a ~1 ms cold start. SHA-256 needs none of it.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
                          OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                      nullptr);
}

Status RunWorker() {
  InitCrypto();
  MLFAAS_ASSIGN_OR_RETURN(std::unique_ptr<RuntimeTransport> transport, TransportFromEnv());
  auto config = WorkerConfigFromEnv();
  if (!config.ok()) {
    (void)transport->PostInitError(kInitError, config.status().message());
    return config.status().WithPrefix("init failed");
  }
  Status st = RunWorkerWith(*config, *transport);
  return st.ok() ? Unavailable("runtime loop ended") : st;
}

}  // namespace mlfaas::runtime
