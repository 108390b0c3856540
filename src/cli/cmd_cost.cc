// `mlfaas cost [FUNCTION]`: what the metered usage in <home>/registry.db (registry/usage_store.h)
// would cost at AWS Lambda's list prices (registry/usage_prices.h), per function version, with a
// total. docs/api.md ("mlfaas cost") has the units and the price table.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "common/clock.h"
#include "gateway/base/log_reader.h"
#include "registry/registry.h"
#include "registry/usage_prices.h"
#include "registry/usage_store.h"

namespace mlfaas::cli {
namespace {

using registry::GbSecondsOf;
using registry::UsageRecord;

struct CostArgs {
  std::string function;
  std::string since;
  std::string arch = "x86";
  bool json = false;
};

nlohmann::json UsageJson(const UsageRecord& u, const registry::LambdaPrices& p) {
  const registry::UsageCost c = registry::PriceUsage(u, p);
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

std::string Row(std::string_view function, std::string_view version, const UsageRecord& u,
                const registry::LambdaPrices& p) {
  return fmt::format("{:<24} {:<8} {:>10} {:>16.6f} {:>16.6f} {:>16.6f} {:>14.8f}", function,
                     version, u.requests, GbSecondsOf(u.duration_mb_ms),
                     GbSecondsOf(u.provisioned_mb_ms), GbSecondsOf(u.snapshot_mb_ms),
                     registry::PriceUsage(u, p).total());
}

Status RunCost(const CliContext& ctx, const CostArgs& a) {
  auto arch = registry::ParseArch(a.arch);
  if (!arch) return InvalidArgument("--arch must be x86 or arm, not '" + a.arch + "'");
  const registry::LambdaPrices& prices = registry::PricesFor(*arch);
  int64_t since_ms = 0;
  if (!a.since.empty()) {
    auto s = gateway::ParseSince(a.since, SystemClock::Get().EpochMillis());
    if (!s.ok()) return InvalidArgument("--since: " + s.status().message());
    since_ms = *s;
  }
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::UsageStore::Open(ctx.home));
  MLFAAS_ASSIGN_OR_RETURN(std::vector<UsageRecord> rows, store->Query(a.function, since_ms));
  if (!a.function.empty() && rows.empty()) {
    // No usage: fine for an existing function, or one metered before (a deleted function's usage
    // is still reported); an error for a name never seen.
    MLFAAS_ASSIGN_OR_RETURN(std::vector<UsageRecord> ever, store->Query(a.function, 0));
    if (ever.empty()) {
      MLFAAS_ASSIGN_OR_RETURN(auto reg, registry::OpenRegistry(ctx.home));
      MLFAAS_RETURN_IF_ERROR(reg->GetFunction(a.function).status());
    }
  }
  UsageRecord total;
  for (const auto& r : rows) total.Add(r);
  if (a.json) {
    nlohmann::json j = {
        {"arch", prices.name},
        {"since_ms", since_ms},
        {"from_hour", since_ms > 0 ? registry::UsageHour(since_ms) : int64_t{0}},
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
    std::cout << j.dump(2) << "\n";
    return Status::Ok();
  }
  std::cout << fmt::format("{:<24} {:<8} {:>10} {:>16} {:>16} {:>16} {:>14}\n", "FUNCTION",
                           "VERSION", "REQUESTS", "GB-S", "PROV GB-S", "SNAPSHOT GB-S",
                           "USD (" + std::string(prices.name) + ")");
  for (const auto& r : rows) std::cout << Row(r.function, r.version, r, prices) << "\n";
  std::cout << Row("total", "", total, prices) << "\n";
  return Status::Ok();
}

}  // namespace

void RegisterCostCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<CostArgs>();
  auto* cmd = app.add_subcommand(
      "cost", "What the metered usage would cost on AWS Lambda (requests, GB-seconds, USD)");
  cmd->add_option("function", args->function, "Only this function (default: all)");
  cmd->add_option("--since", args->since,
                  "From this long ago (30m, 2h, 1d, 1w), an RFC 3339 UTC time or epoch ms; "
                  "usage is kept per UTC hour, so the hour holding that time counts whole "
                  "(default: everything recorded)")
      ->type_name("WHEN");
  cmd->add_option("--arch", args->arch, "Price list: x86 or arm")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print JSON (integer MB-ms counters, GB-seconds, USD)");
  cmd->footer(
      "Prices: AWS Lambda list prices, us-east-1, no free tier (docs/api.md, \"mlfaas cost\"). "
      "Usage is what `mlfaas serve` metered into <home>/registry.db: each invocation that ran "
      "(Memory Size x Billed Duration, as its REPORT line says), provisioned instances and "
      "snapshot templates over time.");
  cmd->callback(
      [&ctx, args] { ctx.action = [&ctx, args]() -> Status { return RunCost(ctx, *args); }; });
}

}  // namespace mlfaas::cli
