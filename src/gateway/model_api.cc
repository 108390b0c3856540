// Model-serving front doors (TF-Serving /v1/models/..., KServe V2 /v2/...): owned by the lead.
// Placeholder until then: claims no route. Implementations call ctx.invoker.Invoke like
// lambda_api.cc does.
#include "gateway/router.h"

namespace mlfaas::gateway {

bool HandleModelApi(ApiContext& /*ctx*/, Request& /*req*/, Responder& /*respond*/) { return false; }

}  // namespace mlfaas::gateway
