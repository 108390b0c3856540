// What metered usage (usage_store.h) would cost at AWS Lambda's list prices (the one price
// table in code is common/lambda_prices.h; docs/api.md ("mlfaas cost") gives it with its source
// and date).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/lambda_prices.h"
#include "registry/usage_store.h"

namespace mlfaas::registry {

// The table itself lives in common/lambda_prices.h (the load tester prices REPORT lines too).
using ::mlfaas::Arch;
using ::mlfaas::kLambdaPrices;
using ::mlfaas::LambdaPrices;
using ::mlfaas::ParseArch;
using ::mlfaas::PricesFor;

// Exact GB-seconds of an integer MB-ms amount: MB-ms / 1024 / 1000.
double GbSecondsOf(int64_t mb_ms);

// One usage record's charges in USD, by line of the bill.
struct UsageCost {
  double requests = 0;
  double duration = 0;              // on-demand duration (duration_mb_ms less the provisioned part)
  double provisioned_duration = 0;  // duration run on provisioned instances
  double provisioned = 0;           // provisioned concurrency kept alive
  double snapshot_cache = 0;
  double total() const {
    return requests + duration + provisioned_duration + provisioned + snapshot_cache;
  }
};
UsageCost PriceUsage(const UsageRecord& usage, const LambdaPrices& prices);

}  // namespace mlfaas::registry
