// libmlfaas-snapshot.so: the fork protocol for custom runtimes, as a C ABI (docs/runtime.md,
// "The fork protocol"). A runtime started as a snapshot template (MLFAAS_SNAPSHOT_FD set; the
// library is at $MLFAAS_SNAPSHOT_LIB inside the sandbox) runs its init, then calls
// mlfaas_snapshot_serve: it returns 0 in each forked instance, confined and ready to serve its
// own Runtime API at $AWS_LAMBDA_RUNTIME_API, and never returns in the template. An init that
// fails calls mlfaas_snapshot_init_error instead. The frames are in common/worker_protocol.h, so
// a runtime may speak them without this library.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "common/worker_protocol.h"
#include "sandbox/frame_socket.h"
#include "sandbox/snapshot_cell.h"

namespace {

// The template's socket: MLFAAS_SNAPSHOT_FD, which must name the contract's descriptor.
int SnapshotFd() {
  const char* v = std::getenv(mlfaas::wire::kSnapshotFdEnv);
  if (!v || std::strcmp(v, "3") != 0) return -1;
  return mlfaas::wire::kWorkerFd;
}

}  // namespace

extern "C" {

// Returns 0 in a forked instance; -1 (with one line on stderr) when this process is not a
// template or the protocol failed. `init_us`: how long the runtime's init took.
__attribute__((visibility("default"))) int mlfaas_snapshot_serve(long long init_us) {
  const int fd = SnapshotFd();
  if (fd < 0) {
    std::fprintf(stderr, "mlfaas-snapshot: %s is not set to 3: not a template\n",
                 mlfaas::wire::kSnapshotFdEnv);
    return -1;
  }
  mlfaas::Status st = mlfaas::sandbox::ServeForks(fd, init_us < 0 ? 0 : init_us);
  if (!st.ok()) {
    std::fprintf(stderr, "mlfaas-snapshot: %s\n", st.message().c_str());
    return -1;
  }
  return 0;
}

// Reports a failed init (an I frame): the gateway fails the cold start with this error.
__attribute__((visibility("default"))) int mlfaas_snapshot_init_error(const char* type,
                                                                      const char* message) {
  const int fd = SnapshotFd();
  if (fd < 0 || !type || !message) return -1;
  const std::string body = nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string frame;
  mlfaas::wire::AppendInitError(frame, {type, body});
  return mlfaas::sandbox::SendWithFds(fd, frame, {}).ok() ? 0 : -1;
}

}  // extern "C"
