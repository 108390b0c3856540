#include "gateway/base/report.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

namespace mlfaas::gateway {

int64_t BilledMillis(double duration_ms) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(duration_ms)));
}

double GbSeconds(int memory_mb, int64_t billed_ms) {
  return memory_mb / 1024.0 * static_cast<double>(billed_ms) / 1000.0;
}

double CostUsd(int memory_mb, int64_t billed_ms) {
  return kUsdPerRequest + GbSeconds(memory_mb, billed_ms) * kUsdPerGbSecond;
}

std::string StartLine(std::string_view request_id, std::string_view version) {
  return fmt::format("START RequestId: {} Version: {}", request_id, version);
}

std::string EndLine(std::string_view request_id) {
  return fmt::format("END RequestId: {}", request_id);
}

std::string ReportLine(const ReportFields& f) {
  std::string s = fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
      "Max Memory Used: {} MB",
      f.request_id, f.duration_ms, BilledMillis(f.duration_ms), f.memory_mb, f.max_memory_used_mb);
  if (f.init_duration_ms) s += fmt::format("\tInit Duration: {:.2f} ms", *f.init_duration_ms);
  return s;
}

std::string LogStreamName(int64_t epoch_ms, std::string_view version, Random& random) {
  std::time_t t = epoch_ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  const uint64_t a = random.Bits(), b = random.Bits();  // in this order (arguments have none)
  return fmt::format("{:04}/{:02}/{:02}/[{}]{:016x}{:016x}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, version, a, b);
}

std::string NewRequestId(Random& random) {
  uint64_t a = random.Bits(), b = random.Bits();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff,
                     b >> 48, b & 0xffffffffffffULL);
}

}  // namespace mlfaas::gateway
