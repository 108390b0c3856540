// The KServe V2 conversions moved to common/kserve_v2.h (library mlfaas_kserve), shared with the
// worker's HTTP adapter (runtime/http_routes.cc). The gateway keeps its name for them.
#pragma once

#include "common/kserve_v2.h"

namespace mlfaas::gateway {
namespace kserve = ::mlfaas::kserve;
}  // namespace mlfaas::gateway
