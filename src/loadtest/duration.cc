#include "loadtest/duration.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace mlfaas::loadtest {
namespace {

// Nanoseconds per unit, or 0 when the unit is unknown.
double UnitNanos(std::string_view unit) {
  if (unit == "h") return 3600e9;
  if (unit == "m" || unit == "min") return 60e9;
  if (unit == "s" || unit.empty()) return 1e9;
  if (unit == "ms") return 1e6;
  if (unit == "us") return 1e3;
  if (unit == "ns") return 1;  // FormatDuration writes it: what it prints parses back
  return 0;
}

}  // namespace

StatusOr<Duration> ParseDuration(std::string_view text) {
  const std::string original(text);
  auto bad = [&] {
    return InvalidArgument("bad duration '" + original +
                           "': expected e.g. 90s, 3m, 500ms, 1h, 1m30s");
  };
  if (text.empty()) return bad();
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return bad();
    std::string number(text.substr(start, i - start));
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(value)) return bad();
    start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    double unit = UnitNanos(text.substr(start, i - start));
    if (unit == 0) return bad();
    total_ns += value * unit;
  }
  if (total_ns > 1e18) return bad();
  return Duration(static_cast<int64_t>(std::llround(total_ns)));
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  if (ns % 1000 != 0) return out + std::to_string(ns) + "ns";
  if (ns % 1'000'000 != 0) return out + std::to_string(ns / 1000) + "us";
  int64_t ms = ns / 1'000'000;
  const int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (rest) out += std::to_string(rest) + "ms";
  return out;
}

}  // namespace mlfaas::loadtest
