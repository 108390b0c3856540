// Lambda-style accounting: the START/END/REPORT log lines and the pay-per-use price.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/random.h"
#include "registry/usage_prices.h"

namespace mlfaas::gateway {

// Lambda's x86 on-demand list prices, from the one price table (registry/usage_prices.h).
inline constexpr double kUsdPerRequest = registry::kLambdaPrices[0].usd_per_million_requests / 1e6;
inline constexpr double kUsdPerGbSecond = registry::kLambdaPrices[0].usd_per_gb_second;

// Duration rounded up to the next whole millisecond (at least 1).
int64_t BilledMillis(double duration_ms);
double GbSeconds(int memory_mb, int64_t billed_ms);
double CostUsd(int memory_mb, int64_t billed_ms);

struct ReportFields {
  std::string request_id;
  double duration_ms = 0;
  int memory_mb = 0;
  int64_t max_memory_used_mb = 0;
  std::optional<double> init_duration_ms;  // only on a cold start
};

// "START RequestId: <id> Version: <v>"
std::string StartLine(std::string_view request_id, std::string_view version);
// "END RequestId: <id>"
std::string EndLine(std::string_view request_id);
// "REPORT RequestId: <id>\tDuration: 2.23 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\t
//  Max Memory Used: 21 MB\tInit Duration: 4.10 ms" (tab separated, as Lambda prints it)
std::string ReportLine(const ReportFields& f);

// Lambda's log stream name: "2024/05/01/[$LATEST]<32 hex>".
std::string LogStreamName(int64_t epoch_ms, std::string_view version, Random& random);
// A request id in UUID form (random v4).
std::string NewRequestId(Random& random);

}  // namespace mlfaas::gateway
