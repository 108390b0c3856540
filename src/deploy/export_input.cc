#include "deploy/export_input.h"

#include <cstdint>

namespace mlfaas::deploy {

bool IsVersionNumber(const std::string& version) {
  if (version.empty() || version.size() > 9 || version[0] == '0') return false;
  for (char c : version) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status CheckUtf8(const std::string& s, const std::string& what) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return InvalidArgument(what + " is not valid UTF-8");
    }
    if (i + extra >= s.size()) return InvalidArgument(what + " is not valid UTF-8");
    for (size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if ((b & 0xC0) != 0x80) return InvalidArgument(what + " is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    const uint32_t min = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return InvalidArgument(what + " is not valid UTF-8");
    }
    i += extra + 1;
  }
  return Status::Ok();
}

Status ValidateExportInput(const ExportInput& in) {
  const registry::VersionInfo& v = in.version;
  if (!registry::IsValidFunctionName(v.function)) {
    return InvalidArgument("invalid function name '" + v.function + "'");
  }
  if (v.version != registry::kLatest && !IsVersionNumber(v.version)) {
    return InvalidArgument("invalid version '" + v.version + "'");
  }
  MLFAAS_RETURN_IF_ERROR(registry::ValidateConfig(v.config));
  MLFAAS_RETURN_IF_ERROR(CheckUtf8(v.config.description, "the description"));
  for (const auto& [key, value] : v.config.environment) {
    MLFAAS_RETURN_IF_ERROR(CheckUtf8(value, "environment variable " + key));
  }
  for (const registry::AliasInfo& a : in.aliases) {
    if (a.function != v.function || !registry::IsValidAliasName(a.name)) {
      return InvalidArgument("alias '" + a.name + "' does not belong to " + v.function);
    }
    if (!IsVersionNumber(a.version) || (a.canary_version && !IsVersionNumber(*a.canary_version))) {
      return InvalidArgument("alias '" + a.name + "' must point at published versions");
    }
    if (!(a.canary_weight >= 0.0 && a.canary_weight <= 1.0)) {
      return InvalidArgument("alias '" + a.name + "': canary weight must be within 0..1");
    }
    MLFAAS_RETURN_IF_ERROR(CheckUtf8(a.description, "the description of alias " + a.name));
  }
  return Status::Ok();
}

}  // namespace mlfaas::deploy
