// mlfaas-runtime: the worker as a standalone executable (a Lambda `bootstrap`). Kept apart from
// the `mlfaas` CLI so it links only the runtime, package, model and common libraries (and the
// sandbox's jail, for stem cells) and starts in about a millisecond. Exit code 1 with one stderr
// line when init fails or the Runtime API goes away.
//
// Started as a stem cell (MLFAAS_STEM_FD), it first becomes its execution environment: the
// composition of the sandbox's inside (the jail) with the worker happens here, and only here.
//
// `--http [HOST]:PORT`: the HTTP adapter mode (runtime/http_adapter.h) instead of the Runtime
// API; exit 0 when stopped by SIGTERM or SIGINT. The same main is mlfaas-bootstrap, the static
// build of this executable (CMakeLists.txt).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "common/worker_protocol.h"
#include "runtime/socket_transport.h"
#include "runtime/worker.h"
#include "sandbox/snapshot_cell.h"
#include "sandbox/stem_cell.h"

namespace {

// A stem cell that could not become its environment says why on its socket, as an init error
// of the function it was launched for.
mlfaas::Status BecomeEnvironment() {
  const char* stem = std::getenv(mlfaas::wire::kStemFdEnv);
  if (!stem || !*stem) return mlfaas::Status::Ok();
  const int fd = mlfaas::wire::kWorkerFd;
  mlfaas::Status st = mlfaas::sandbox::RunStemCell(fd);
  if (!st.ok()) {
    mlfaas::runtime::SocketTransport socket(fd);
    (void)socket.PostInitError("Runtime.InvalidEntrypoint", st.message());
  }
  return st;
}

// A snapshot template (MLFAAS_SNAPSHOT_FD): loads the model once, then forks an instance per
// request. Returns in each forked instance, which serves with the model already loaded.
mlfaas::Status RunTemplate() {
  using namespace mlfaas;  // NOLINT: one function, many names
  const int fd = wire::kWorkerFd;
  if (std::strcmp(std::getenv(wire::kSnapshotFdEnv), "3") != 0) {
    return InvalidArgument(std::string(wire::kSnapshotFdEnv) + " must be 3");
  }
  runtime::InitCrypto();
  const auto start = std::chrono::steady_clock::now();
  auto config = runtime::WorkerConfigFromEnv();
  StatusOr<std::unique_ptr<runtime::ModelHandler>> handler =
      config.ok() ? runtime::LoadModelHandler(*config) : config.status();
  if (!handler.ok()) {
    runtime::SocketTransport socket(fd);
    (void)socket.PostInitError(runtime::kInitError, handler.status().message());
    return handler.status().WithPrefix("init failed");
  }
  const auto init_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  std::printf("mlfaas-runtime: snapshot template of %s version %s: model %s loaded in %.3f ms\n",
              config->function_name.empty() ? "-" : config->function_name.c_str(),
              config->function_version.c_str(), (*handler)->info().name.c_str(),
              static_cast<double>(init_us) / 1000.0);
  std::fflush(stdout);
  MLFAAS_RETURN_IF_ERROR(sandbox::ServeForks(fd, init_us));
  // A forked instance from here on.
  MLFAAS_ASSIGN_OR_RETURN(auto transport, runtime::TransportFromEnv());
  Status st = runtime::RunWorkerWith(*config, *transport, std::move(handler).value());
  return st.ok() ? Unavailable("runtime loop ended") : st;
}

constexpr char kUsage[] =
    "usage: mlfaas-runtime [--http [HOST]:PORT]\n"
    "  Without arguments: the worker, a client of the Lambda Runtime API at\n"
    "  $AWS_LAMBDA_RUNTIME_API serving the model in $LAMBDA_TASK_ROOT.\n"
    "  --http [HOST]:PORT  serve the function as a plain HTTP server instead (POST / and the\n"
    "                      KServe V2 routes); ':8080' listens on every interface.\n"
    "  See docs/runtime.md.\n";

// The --http value, "" without it; nullopt (and a message on stderr) for a usage error.
std::optional<std::string> HttpListen(int argc, char** argv, bool* help) {
  std::string listen;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      *help = true;
      continue;
    }
    if (arg == "--http" || arg.starts_with("--http=")) {
      if (arg == "--http" && i + 1 < argc) {
        listen = argv[++i];
      } else if (arg != "--http") {
        listen = std::string(arg.substr(7));
      }
      if (listen.empty()) {
        std::fprintf(stderr, "mlfaas-runtime: --http needs [HOST]:PORT\n%s", kUsage);
        return std::nullopt;
      }
      continue;
    }
    std::fprintf(stderr, "mlfaas-runtime: unexpected argument '%s'\n%s", argv[i], kUsage);
    return std::nullopt;
  }
  return listen;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool help = false;
    const std::optional<std::string> listen = HttpListen(argc, argv, &help);
    if (!listen) return 2;
    if (help) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!listen->empty()) {
      const mlfaas::Status st = mlfaas::runtime::RunHttpWorker(*listen);
      if (st.ok()) return 0;
      std::fprintf(stderr, "mlfaas-runtime: %s\n", st.message().c_str());
      return st.code() == mlfaas::StatusCode::kInternal ? 2 : 1;
    }
    mlfaas::Status st = BecomeEnvironment();
    const char* snapshot = std::getenv(mlfaas::wire::kSnapshotFdEnv);
    if (st.ok()) st = snapshot && *snapshot ? RunTemplate() : mlfaas::runtime::RunWorker();
    std::fprintf(stderr, "mlfaas-runtime: %s\n", st.message().c_str());
    return st.code() == mlfaas::StatusCode::kInternal ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlfaas-runtime: internal error: %s\n", e.what());
    return 2;
  }
}
