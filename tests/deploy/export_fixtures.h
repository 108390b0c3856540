// Inputs of the export generators for tests: a function version, its aliases, and strings that
// are hard to write in YAML.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deploy/export_input.h"

namespace mlfaas::deploy::testing {

inline ExportInput MakeInput(const std::string& version = "3") {
  ExportInput in;
  in.version.function = "fraud-check";
  in.version.version = version;
  in.producer = "mlfaas test";
  return in;
}

inline registry::AliasInfo MakeAlias(const std::string& name, const std::string& version,
                                     std::optional<std::string> canary = std::nullopt,
                                     double weight = 0.0) {
  registry::AliasInfo a;
  a.function = "fraud-check";
  a.name = name;
  a.version = version;
  a.canary_version = std::move(canary);
  a.canary_weight = weight;
  return a;
}

// Values a user may put in environment variables and descriptions.
inline std::vector<std::string> HostileStrings() {
  return {"\"quoted\" and 'single'",
          "line1\nline2\r\nline3",
          "key: value # not a comment",
          "#hash",
          "- dash",
          "{flow: map}",
          "[flow, seq]",
          "&anchor *alias !tag",
          "123",
          "true",
          "null",
          "~",
          "0x1F",
          "1e3",
          "yes",
          "",
          " leading and trailing ",
          "tab\there",
          "\xC3\xBCn\xC3\xAF\x63\xC3\xB6\x64\xC3\xA9 \xE2\x98\x83 \xE6\x97\xA5\xE6\x9C\xAC "
          "\xF0\x9F\x8E\x89",
          "\x01\x7F control",
          "\xE2\x80\xA8line separator",
          "\xEF\xBB\xBF"
          "bom",
          "back\\slash",
          "%percent @at `tick` |pipe >gt",
          "---",
          "..."};
}

}  // namespace mlfaas::deploy::testing
