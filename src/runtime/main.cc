// mlfaas-runtime: the worker as a standalone executable (a Lambda `bootstrap`). Kept apart from
// the `mlfaas` CLI so it links only the runtime, package, model and common libraries (and the
// sandbox's jail, for stem cells) and starts in about a millisecond. Exit code 1 with one stderr
// line when init fails or the Runtime API goes away.
//
// Started as a stem cell (MLFAAS_STEM_FD), it first becomes its execution environment: the
// composition of the sandbox's inside (the jail) with the worker happens here, and only here.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "common/worker_protocol.h"
#include "runtime/socket_transport.h"
#include "runtime/worker.h"
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

}  // namespace

int main() {
  try {
    mlfaas::Status st = BecomeEnvironment();
    if (st.ok()) st = mlfaas::runtime::RunWorker();
    std::fprintf(stderr, "mlfaas-runtime: %s\n", st.message().c_str());
    return st.code() == mlfaas::StatusCode::kInternal ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlfaas-runtime: internal error: %s\n", e.what());
    return 2;
  }
}
