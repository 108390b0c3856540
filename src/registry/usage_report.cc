#include "registry/usage_report.h"

#include "registry/registry.h"

namespace mlfaas::registry {
namespace {

nlohmann::json UsageJson(const UsageRecord& u, const LambdaPrices& p) {
  const UsageCost c = PriceUsage(u, p);
  return {{"requests", u.requests},
          {"duration_mb_ms", u.duration_mb_ms},
          {"gb_seconds", GbSecondsOf(u.duration_mb_ms)},
          {"provisioned_duration_mb_ms", u.provisioned_duration_mb_ms},
          {"provisioned_mb_ms", u.provisioned_mb_ms},
          {"provisioned_gb_seconds", GbSecondsOf(u.provisioned_mb_ms)},
          {"snapshot_mb_ms", u.snapshot_mb_ms},
          {"snapshot_gb_seconds", GbSecondsOf(u.snapshot_mb_ms)},
          {"usd",
           {{"requests", c.requests},
            {"duration", c.duration},
            {"provisioned_duration", c.provisioned_duration},
            {"provisioned", c.provisioned},
            {"snapshot_cache", c.snapshot_cache},
            {"total", c.total()}}}};
}

}  // namespace

StatusOr<std::vector<UsageRecord>> QueryCostUsage(UsageStore& store, Registry* registry,
                                                  const std::string& function, int64_t since_ms) {
  MLFAAS_ASSIGN_OR_RETURN(std::vector<UsageRecord> rows, store.Query(function, since_ms));
  if (function.empty() || !rows.empty()) return rows;
  MLFAAS_ASSIGN_OR_RETURN(std::vector<UsageRecord> ever, store.Query(function, 0));
  if (!ever.empty()) return rows;
  if (!registry) return NotFound("function '" + function + "' does not exist");
  MLFAAS_RETURN_IF_ERROR(registry->GetFunction(function).status());
  return rows;
}

nlohmann::json CostReportJson(const std::vector<UsageRecord>& rows, const LambdaPrices& prices,
                              int64_t since_ms) {
  UsageRecord total;
  for (const auto& r : rows) total.Add(r);
  nlohmann::json j = {
      {"arch", prices.name},
      {"since_ms", since_ms},
      {"from_hour", since_ms > 0 ? UsageHour(since_ms) : int64_t{0}},
      {"prices",
       {{"usd_per_million_requests", prices.usd_per_million_requests},
        {"usd_per_gb_second", prices.usd_per_gb_second},
        {"usd_per_provisioned_gb_second", prices.usd_per_provisioned_gb_second},
        {"usd_per_provisioned_duration_gb_second", prices.usd_per_provisioned_duration_gb_second},
        {"usd_per_snapshot_cache_gb_second", prices.usd_per_snapshot_cache_gb_second}}},
      {"versions", nlohmann::json::array()},
      {"total", UsageJson(total, prices)}};
  for (const auto& r : rows) {
    nlohmann::json v = UsageJson(r, prices);
    v["function"] = r.function;
    v["version"] = r.version;
    j["versions"].push_back(std::move(v));
  }
  return j;
}

}  // namespace mlfaas::registry
