// mlfaas-runtime: the worker as a standalone executable (a Lambda `bootstrap`). Kept apart from
// the `mlfaas` CLI so it links only the runtime, package, model and common libraries and starts
// in about a millisecond. Exit code 1 with one stderr line when init fails or the Runtime API
// goes away.
#include <cstdio>
#include <exception>

#include "runtime/worker.h"

int main() {
  try {
    mlfaas::Status st = mlfaas::runtime::RunWorker();
    std::fprintf(stderr, "mlfaas-runtime: %s\n", st.message().c_str());
    return st.code() == mlfaas::StatusCode::kInternal ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlfaas-runtime: internal error: %s\n", e.what());
    return 2;
  }
}
