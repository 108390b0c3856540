// AWS Lambda's list prices (us-east-1, first tier, no free tier): the one price table in code.
// Pure constants, below everything that prices usage: the registry (usage_prices.h, `mlfaas
// cost`) and the load tester (`bench study --matrix`) both read it. docs/api.md ("mlfaas cost")
// gives the same table with its source and date.
#pragma once

#include <optional>
#include <string_view>

namespace mlfaas {

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

}  // namespace mlfaas
