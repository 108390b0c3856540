// yaml-cpp helpers for the scenario parser: typed reads that fail with "source:line:col: ..."
// instead of throwing, and YAML → JSON conversion for request bodies. Internal to loadtest.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "loadtest/duration.h"

namespace mlfaas::loadtest::yamlutil {

// Carries the source name so every error can say where it is.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  // "source:line:col: <what>: <message>" (line/column 1-based; no position if unknown).
  Status Error(const YAML::Node& node, std::string_view what, std::string_view message) const;

  // Each reads a scalar and fails with `what` and the expectation when it does not fit.
  StatusOr<std::string> String(const YAML::Node& n, std::string_view what) const;
  StatusOr<int64_t> Int(const YAML::Node& n, std::string_view what, int64_t min) const;
  StatusOr<double> Number(const YAML::Node& n, std::string_view what) const;
  StatusOr<bool> Bool(const YAML::Node& n, std::string_view what) const;
  StatusOr<Duration> Dur(const YAML::Node& n, std::string_view what) const;

  // Fails on the first key of map `n` not in `allowed`; also fails if `n` is not a map.
  Status KnownKeys(const YAML::Node& n, std::string_view what,
                   std::initializer_list<std::string_view> allowed) const;

 private:
  std::string source_;
};

// Converts a YAML tree to JSON: plain scalars that look like numbers/bools/null become those;
// quoted scalars stay strings.
nlohmann::json ToJson(const YAML::Node& node);

// Sets the node at dotted `path` (sequence indexes as numbers) to `value` parsed as YAML,
// creating map keys as needed.
Status ApplyOverride(YAML::Node root, std::string_view path, const std::string& value);

}  // namespace mlfaas::loadtest::yamlutil
