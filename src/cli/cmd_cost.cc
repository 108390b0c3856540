// `mlfaas cost [FUNCTION]`: what the metered usage in <home>/registry.db (registry/usage_store.h)
// would cost at AWS Lambda's list prices (registry/usage_prices.h), per function version, with a
// total; with --remote, the gateway's GET /v1/cost (the same report, registry/usage_report.h).
// docs/api.md ("mlfaas cost") has the units and the price table.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/gateway_client.h"
#include "common/clock.h"
#include "common/json.h"
#include "gateway/base/log_reader.h"
#include "registry/registry.h"
#include "registry/usage_prices.h"
#include "registry/usage_report.h"
#include "registry/usage_store.h"

namespace mlfaas::cli {
namespace {

struct CostArgs {
  std::string function;
  std::string since;
  std::string arch = "x86";
  bool json = false;
};

// The report (registry::CostReportJson) from the home.
StatusOr<nlohmann::json> LocalReport(const CliContext& ctx, const std::string& function,
                                     int64_t since_ms, registry::Arch arch) {
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::UsageStore::Open(ctx.home));
  MLFAAS_ASSIGN_OR_RETURN(auto reg, registry::OpenRegistry(ctx.home, ctx.registry));
  MLFAAS_ASSIGN_OR_RETURN(std::vector<registry::UsageRecord> rows,
                          registry::QueryCostUsage(*store, reg.get(), function, since_ms));
  return registry::CostReportJson(rows, registry::PricesFor(arch), since_ms);
}

// The same report from the gateway at `url` (GET /v1/cost, the read scope).
StatusOr<nlohmann::json> RemoteReport(const std::string& url, const std::string& function,
                                      int64_t since_ms, registry::Arch arch) {
  MLFAAS_ASSIGN_OR_RETURN(auto gw, GatewayClient::ForRemote(url));
  std::string target = "/v1/cost?arch=" + std::string(registry::PricesFor(arch).name);
  if (!function.empty()) target += "&function=" + UriEncode(function);
  if (since_ms > 0) target += "&since=" + std::to_string(since_ms);
  MLFAAS_ASSIGN_OR_RETURN(nlohmann::json j, gw->Call("GET", target));
  if (!j.is_object()) return Internal("the gateway's cost answer is malformed");
  return j;
}

// One line of the table; false when `u` is not a report entry.
bool AppendRow(std::string& out, const nlohmann::json& u, std::string_view function,
               std::string_view version) {
  const nlohmann::json* usd = JsonField(u, "usd");
  auto requests = JsonInt(u, "requests");
  auto gbs = JsonNumber(u, "gb_seconds");
  auto prov = JsonNumber(u, "provisioned_gb_seconds");
  auto snap = JsonNumber(u, "snapshot_gb_seconds");
  auto total = usd ? JsonNumber(*usd, "total") : std::nullopt;
  if (!requests || !gbs || !prov || !snap || !total) return false;
  out += fmt::format("{:<24} {:<8} {:>10} {:>16.6f} {:>16.6f} {:>16.6f} {:>14.8f}\n", function,
                     version, *requests, *gbs, *prov, *snap, *total);
  return true;
}

// The table of a report: a line per function version, then the total.
StatusOr<std::string> CostTable(const nlohmann::json& report) {
  auto arch = JsonString(report, "arch");
  const nlohmann::json* versions = JsonField(report, "versions");
  const nlohmann::json* total = JsonField(report, "total");
  auto malformed = [] { return Internal("the cost report is malformed"); };
  if (!arch || !versions || !versions->is_array() || !total) return malformed();
  std::string out =
      fmt::format("{:<24} {:<8} {:>10} {:>16} {:>16} {:>16} {:>14}\n", "FUNCTION", "VERSION",
                  "REQUESTS", "GB-S", "PROV GB-S", "SNAPSHOT GB-S", "USD (" + *arch + ")");
  for (const auto& v : *versions) {
    auto function = JsonString(v, "function");
    auto version = JsonString(v, "version");
    if (!function || !version || !AppendRow(out, v, *function, *version)) return malformed();
  }
  if (!AppendRow(out, *total, "total", "")) return malformed();
  return out;
}

Status RunCost(const CliContext& ctx, const CostArgs& a) {
  auto arch = registry::ParseArch(a.arch);
  if (!arch) return InvalidArgument("--arch must be x86 or arm, not '" + a.arch + "'");
  int64_t since_ms = 0;
  if (!a.since.empty()) {
    auto s = gateway::ParseSince(a.since, SystemClock::Get().EpochMillis());
    if (!s.ok()) return InvalidArgument("--since: " + s.status().message());
    since_ms = *s;
  }
  MLFAAS_ASSIGN_OR_RETURN(nlohmann::json report,
                          ctx.remote.empty()
                              ? LocalReport(ctx, a.function, since_ms, *arch)
                              : RemoteReport(ctx.remote, a.function, since_ms, *arch));
  if (a.json) {
    std::cout << report.dump(2) << "\n";
    return Status::Ok();
  }
  MLFAAS_ASSIGN_OR_RETURN(std::string table, CostTable(report));
  std::cout << table;
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
      "snapshot templates over time. With --remote, the gateway's GET /v1/cost (the functions "
      "the key may read, usage not yet written included).");
  cmd->callback([&ctx, args] {
    ctx.remote_capable = true;
    ctx.action = [&ctx, args]() -> Status { return RunCost(ctx, *args); };
  });
}

}  // namespace mlfaas::cli
