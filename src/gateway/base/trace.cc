#include "gateway/base/trace.h"

namespace mlfaas::gateway {
namespace {

bool IsHex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void AppendHex(std::string& out, Random& random, size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  uint64_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = random.Bits();
    out.push_back(kDigits[bits & 0xf]);
    bits >>= 4;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string NewTraceHeader(int64_t epoch_ms, Random& random) {
  // Root=1-<8 hex: epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0 (one allocation: it is
  // made for every invocation).
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(7 + 8 + 1 + 24 + 8 + 16 + 10);
  out += "Root=1-";
  const uint64_t seconds = static_cast<uint64_t>(epoch_ms / 1000) & 0xffffffffull;
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(seconds >> shift) & 0xf]);
  out.push_back('-');
  AppendHex(out, random, 24);
  out += ";Parent=";
  AppendHex(out, random, 16);
  out += ";Sampled=0";
  return out;
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
