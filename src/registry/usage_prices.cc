#include "registry/usage_prices.h"

namespace mlfaas::registry {

double GbSecondsOf(int64_t mb_ms) { return static_cast<double>(mb_ms) / 1024.0 / 1000.0; }

UsageCost PriceUsage(const UsageRecord& u, const LambdaPrices& p) {
  UsageCost c;
  c.requests = static_cast<double>(u.requests) * p.usd_per_million_requests / 1e6;
  c.duration = GbSecondsOf(u.duration_mb_ms - u.provisioned_duration_mb_ms) * p.usd_per_gb_second;
  c.provisioned_duration =
      GbSecondsOf(u.provisioned_duration_mb_ms) * p.usd_per_provisioned_duration_gb_second;
  c.provisioned = GbSecondsOf(u.provisioned_mb_ms) * p.usd_per_provisioned_gb_second;
  c.snapshot_cache = GbSecondsOf(u.snapshot_mb_ms) * p.usd_per_snapshot_cache_gb_second;
  return c;
}

}  // namespace mlfaas::registry
