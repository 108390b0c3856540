// The cost report: metered usage (usage_store.h) priced at Lambda's list prices
// (usage_prices.h), per function version with a total. `mlfaas cost` builds it from the home and
// GET /v1/cost from the gateway's store, so that both print exactly the same JSON
// (docs/api.md, "mlfaas cost").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "registry/usage_prices.h"
#include "registry/usage_store.h"

namespace mlfaas::registry {

class Registry;

// The rows of a report: usage per function version over hours >= UsageHour(since_ms) (0: all),
// of `function` ("": every function), ordered by function and version. A named function without
// usage is fine when it was metered before (a deleted function's usage is still reported) or is
// in `registry`; otherwise NotFound (also when `registry` is null).
StatusOr<std::vector<UsageRecord>> QueryCostUsage(UsageStore& store, Registry* registry,
                                                  const std::string& function, int64_t since_ms);

// {"arch", "since_ms", "from_hour", "prices", "versions": [...], "total"}: each entry of
// "versions" (`rows`, in order) and "total" (their sum) with the integer counters, GB-seconds and
// USD by line of the bill.
nlohmann::json CostReportJson(const std::vector<UsageRecord>& rows, const LambdaPrices& prices,
                              int64_t since_ms);

}  // namespace mlfaas::registry
