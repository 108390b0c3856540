#include "runtime/worker.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "model/model_kind.h"
#include "package/package.h"
#include "runtime/http_adapter.h"
#include "runtime/http_routes.h"
#include "runtime/http_transport.h"
#include "runtime/loop.h"
#include "runtime/pipeline.h"
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
// (InitError) only. Copies share one state, and it may be called from several threads at once
// (AWS_LAMBDA_MAX_CONCURRENCY): the lazy load happens once (std::call_once), the others wait
// for it and see its outcome; ModelHandler itself is safe to call concurrently.
class WorkerHandler {
 public:
  WorkerHandler(const WorkerConfig& config, std::unique_ptr<ModelHandler> loaded)
      : state_(std::make_shared<State>(config, std::move(loaded))) {}

  Response operator()(const Invocation& invocation) const {
    State& s = *state_;
    if (s.config.loading == ModelLoading::kPerInvoke) {
      auto loaded = LoadModelHandler(s.config);
      if (!loaded.ok()) return Response::Error(std::string(kInitError), loaded.status().message());
      return (*loaded)->Handle(invocation);
    }
    std::call_once(s.once, [&s] { s.LoadOnce(); });
    if (!s.handler) return Response::FatalError(std::string(kInitError), s.load_error);
    return s.handler->Handle(invocation);
  }

 private:
  struct State {
    State(const WorkerConfig& c, std::unique_ptr<ModelHandler> loaded)
        : config(c), handler(std::move(loaded)) {}

    // A lazy load (nothing to do when the model came loaded).
    void LoadOnce() {
      if (handler) return;
      auto start = std::chrono::steady_clock::now();
      auto loaded = LoadModelHandler(config);
      if (!loaded.ok()) {
        load_error = loaded.status().message();
        return;
      }
      handler = std::move(loaded).value();
      LogInit(config, *handler, MillisSince(start));
    }

    const WorkerConfig config;
    std::once_flag once;
    std::unique_ptr<ModelHandler> handler;  // set once, before any Handle()
    std::string load_error;                 // why the lazy load failed
  };
  std::shared_ptr<State> state_;  // shared: std::function needs a copyable target
};

// The loops of a worker over the Runtime API with AWS_LAMBDA_MAX_CONCURRENCY > 1: one per
// thread, the first on `first`, the others each on a connection of their own, so that the
// instance holds that many `next` long polls. The first loop to end interrupts the others.
Status RunParallelLoops(const WorkerConfig& config, RuntimeTransport& first,
                        const Handler& handler) {
  std::vector<std::unique_ptr<RuntimeTransport>> own;
  if (!config.runtime_api.empty()) {
    for (int i = 1; i < config.threads; ++i) {
      auto t = HttpTransport::Create(config.runtime_api);
      if (!t.ok()) {
        std::fprintf(stderr, "mlfaas-runtime: serving with %d loops: %s\n", i,
                     t.status().ToString().c_str());
        break;
      }
      own.push_back(std::move(t).value());
    }
  }
  std::vector<RuntimeTransport*> transports{&first};
  for (auto& t : own) transports.push_back(t.get());

  std::mutex mu;
  bool ended = false;
  Status end;
  auto run = [&](RuntimeTransport* transport) {
    Status st;
    try {
      st = RunLoop(*transport, handler);
    } catch (const std::exception& e) {
      st = Internal(std::string("runtime loop: ") + e.what());
    }
    std::lock_guard<std::mutex> lock(mu);
    if (ended) return;
    ended = true;
    end = st.ok() ? Unavailable("runtime loop ended") : st;
    for (RuntimeTransport* other : transports) {
      if (other != transport) other->Interrupt();
    }
  };
  std::vector<std::thread> threads;
  try {
    threads.reserve(transports.size() - 1);
    for (size_t i = 1; i < transports.size(); ++i) threads.emplace_back(run, transports[i]);
  } catch (const std::exception& e) {  // std::system_error: the loops that could start run
    std::fprintf(stderr, "mlfaas-runtime: started %zu of %zu loops: %s\n", threads.size() + 1,
                 transports.size(), e.what());
  }
  run(&first);
  for (std::thread& t : threads) t.join();
  return end;
}

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
  const std::string concurrency = Env(wire::kMaxConcurrencyEnv, "1");
  std::optional<int> n = wire::ParseMaxConcurrency(concurrency);
  if (!n) {
    return InvalidArgument(std::string(wire::kMaxConcurrencyEnv) + " must be an integer in 1.." +
                           std::to_string(wire::kMaxConcurrencyPerInstance) + ", not '" +
                           concurrency + "'");
  }
  c.max_concurrency = *n;
  // The memory size is informational elsewhere: a value that is not a positive integer counts
  // as unknown (the CPUs alone then bound the threads).
  const std::string memory = Env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
  int memory_mb = 0;
  auto [end, ec] = std::from_chars(memory.data(), memory.data() + memory.size(), memory_mb);
  if (ec != std::errc() || end != memory.data() + memory.size()) memory_mb = 0;
  c.threads = WorkerThreads(c.max_concurrency, memory_mb, AffinityCpus());
  return c;
}

int WorkerThreads(int max_concurrency, int memory_mb, int cpus) {
  int quota = std::max(cpus, 1);
  if (memory_mb > 0) quota = std::min(quota, memory_mb / kMemoryMbPerVcpu);
  return std::max(1, std::min(max_concurrency, quota));
}

int AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

StatusOr<std::unique_ptr<ModelHandler>> LoadModelHandler(const WorkerConfig& config) {
  auto manifest = package::ReadManifestFile(config.task_root / "manifest.json");
  if (!manifest.ok()) return manifest.status();
  ModelInfo info{manifest->name, config.function_version, manifest->digest};
  MLFAAS_ASSIGN_OR_RETURN(
      std::shared_ptr<const model::Predictor> predictor,
      model::BuildPredictor(manifest->kind, std::move(manifest->model), manifest->params));
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
  const Handler handler = WorkerHandler(config, std::move(loaded));
  if (config.max_concurrency <= 1) return RunLoop(transport, handler);
  std::printf("mlfaas-runtime: up to %d concurrent invocations on %d threads\n",
              config.max_concurrency, config.threads);
  std::fflush(stdout);
  if (auto* socket = dynamic_cast<SocketTransport*>(&transport)) {
    return RunPipelinedLoop(socket->fd(), handler, {config.max_concurrency, config.threads});
  }
  return RunParallelLoops(config, transport, handler);
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

Status RunHttpWorker(std::string_view listen) {
  InitCrypto();
  HttpAdapterOptions options;
  options.listen = std::string(listen);
  std::string host;
  unsigned short port = 0;
  MLFAAS_RETURN_IF_ERROR(ParseListenAddress(listen, &host, &port));
  auto config = WorkerConfigFromEnv();
  if (!config.ok()) return config.status().WithPrefix("init failed");
  options.threads = config->max_concurrency > 1 ? config->threads : 1;

  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ModelHandler> loaded;
  AdapterModel model;
  model.version = config->function_version;
  model.name = config->function_name;
  if (config->loading == ModelLoading::kInit || config->loading == ModelLoading::kSnapshot) {
    auto handler = LoadModelHandler(*config);
    if (!handler.ok()) return handler.status().WithPrefix("init failed");
    loaded = std::move(handler).value();
    LogInit(*config, *loaded, MillisSince(start));
    if (model.name.empty()) model.name = loaded->info().name;
    model.features = [features = loaded->predictor().model().features]() {
      return StatusOr<std::vector<std::string>>(features);
    };
  } else {
    // The model is built later (lazy) or per request, but its name and features are known now.
    auto manifest = package::ReadManifestFile(config->task_root / "manifest.json");
    if (!manifest.ok()) return manifest.status().WithPrefix("init failed");
    if (model.name.empty()) model.name = manifest->name;
    model.features = [features = std::move(manifest->model.features)]() {
      return StatusOr<std::vector<std::string>>(features);
    };
  }
  const HttpRoutes routes(WorkerHandler(*config, std::move(loaded)), std::move(model));
  if (config->max_concurrency > 1) {
    std::printf("mlfaas-runtime: up to %d requests at once (AWS_LAMBDA_MAX_CONCURRENCY %d)\n",
                options.threads, config->max_concurrency);
    std::fflush(stdout);
  }
  return ServeHttp(options, routes);
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
