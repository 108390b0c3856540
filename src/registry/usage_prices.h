// AWS Lambda's list prices (us-east-1, first tier, no free tier) and what metered usage
// (usage_store.h) would cost at them. The one price table in code; docs/api.md ("mlfaas cost")
// gives the same table with its source and date.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "registry/usage_store.h"

namespace mlfaas::registry {

enum class Arch { kX86, kArm };

struct LambdaPrices {
  Arch arch;
  std::string_view name;                          // "x86" | "arm"
  double usd_per_million_requests;                // requests
  double usd_per_gb_second;                       // on-demand duration
  double usd_per_provisioned_gb_second;           // provisioned concurrency, while configured
  double usd_per_provisioned_duration_gb_second;  // duration on provisioned instances
  double usd_per_snapshot_cache_gb_second;        // SnapStart cache
};

// https://aws.amazon.com/lambda/pricing/ (US East, N. Virginia; first tier of duration; no free
// tier), as published in 2024-2025. x86_64, then arm64 (Graviton). docs/api.md has the same table.
inline constexpr LambdaPrices kLambdaPrices[] = {
    {Arch::kX86, "x86", 0.20, 0.0000166667, 0.0000041667, 0.0000097222, 0.0000015046},
    {Arch::kArm, "arm", 0.20, 0.0000133334, 0.0000033334, 0.0000077778, 0.0000015046},
};

const LambdaPrices& PricesFor(Arch arch);
// "x86" (also "x86_64") or "arm" (also "arm64"); nullopt otherwise.
std::optional<Arch> ParseArch(std::string_view name);

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
