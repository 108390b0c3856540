// Inputs of the export generators for tests: a function version, its aliases, and strings that
// are hard to write in YAML.
#pragma once

#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <map>
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

// name -> (unix mode bits, bytes) of every entry of the zip at `path` (what the exports write).
inline std::map<std::string, std::pair<uint32_t, std::string>> ZipEntries(
    const std::filesystem::path& path) {
  std::map<std::string, std::pair<uint32_t, std::string>> out;
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (za == nullptr) return out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) {
    zip_stat_t st;
    zip_uint8_t os = 0;
    zip_uint32_t attr = 0;
    if (zip_stat_index(za, i, 0, &st) != 0) continue;
    zip_file_get_external_attributes(za, i, 0, &os, &attr);
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen_index(za, i, 0);
    if (f == nullptr) continue;
    zip_int64_t n = zip_fread(f, bytes.data(), bytes.size());
    zip_fclose(f);
    if (n != static_cast<zip_int64_t>(bytes.size())) continue;
    out[st.name] = {os == ZIP_OPSYS_UNIX ? (attr >> 16) & 07777 : 0, bytes};
  }
  zip_close(za);
  return out;
}

}  // namespace mlfaas::deploy::testing
