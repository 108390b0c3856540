#include "gateway/base/trace.h"

#include <cstdio>

namespace mlfaas::gateway {
namespace {

bool IsHex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Hex(Random& random, size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  uint64_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = random.Bits();
    out.push_back(kDigits[bits & 0xf]);
    bits >>= 4;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string NewTraceHeader(int64_t epoch_ms, Random& random) {
  char seconds[16];
  std::snprintf(seconds, sizeof seconds, "%08llx",
                static_cast<unsigned long long>(epoch_ms / 1000) & 0xffffffffull);
  return "Root=1-" + std::string(seconds) + "-" + Hex(random, 24) + ";Parent=" + Hex(random, 16) +
         ";Sampled=0";
}

std::optional<std::string> CallerTraceHeader(std::string_view header) {
  if (header.size() > 256) return std::nullopt;
  std::string_view root, parent, sampled;
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view field = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "Root") root = value;
    if (key == "Parent") parent = value;
    if (key == "Sampled") sampled = value;
  }
  // 1-<8 hex>-<24 hex>
  if (root.size() != 35 || root.substr(0, 2) != "1-" || root[10] != '-' ||
      !IsHex(root.substr(2, 8), 8) || !IsHex(root.substr(11), 24)) {
    return std::nullopt;
  }
  std::string out = "Root=" + std::string(root);
  if (IsHex(parent, 16)) out += ";Parent=" + std::string(parent);
  out += ";Sampled=" + std::string(sampled == "1" ? "1" : "0");
  return out;
}

}  // namespace mlfaas::gateway
