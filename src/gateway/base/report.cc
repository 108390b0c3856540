#include "gateway/base/report.h"

#include <fmt/format.h>

#include <charconv>
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

// These lines are written for every invocation: built by appending, without a format string
// to parse (fmt was a tenth of the gateway's user time per request).
namespace {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "%.2f" (exact decimal rounding, as fmt's {:.2f}); a value too long for the buffer as fmt.
void AppendFixed2(std::string& out, double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  if (r.ec == std::errc()) {
    out.append(buf, r.ptr);
  } else {
    out += fmt::format("{:.2f}", v);
  }
}

}  // namespace

std::string StartLine(std::string_view request_id, std::string_view version) {
  std::string s;
  s.reserve(40 + request_id.size() + version.size());
  s.append("START RequestId: ").append(request_id).append(" Version: ").append(version);
  return s;
}

std::string EndLine(std::string_view request_id) {
  std::string s;
  s.reserve(16 + request_id.size());
  s.append("END RequestId: ").append(request_id);
  return s;
}

std::string ReportLine(const ReportFields& f) {
  std::string s;
  s.reserve(160 + f.request_id.size());
  s.append("REPORT RequestId: ").append(f.request_id).append("\tDuration: ");
  AppendFixed2(s, f.duration_ms);
  s.append(" ms\tBilled Duration: ");
  AppendInt(s, BilledMillis(f.duration_ms));
  s.append(" ms\tMemory Size: ");
  AppendInt(s, f.memory_mb);
  s.append(" MB\tMax Memory Used: ");
  AppendInt(s, f.max_memory_used_mb);
  s.append(" MB");
  if (f.init_duration_ms) {
    s.append("\tInit Duration: ");
    AppendFixed2(s, *f.init_duration_ms);
    s.append(" ms");
  }
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
  // 8-4-4-4-12 hex digits: a's 16 digits, then b's, most significant first.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t at = 0;
  for (const uint64_t word : {a, b}) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      if (at == 8 || at == 13 || at == 18 || at == 23) ++at;  // the dashes
      id[at++] = kHex[(word >> shift) & 0xf];
    }
  }
  return id;
}

}  // namespace mlfaas::gateway
