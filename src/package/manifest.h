// The package manifest: what a model package (a zip holding manifest.json) declares.
// Format documented in docs/package_format.md.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "model/linear_model.h"

namespace mlfaas::package {

inline constexpr int kFormatVersion = 1;

struct Manifest {
  int format_version = kFormatVersion;
  std::string name;                          // function-friendly model name, e.g. "kdd99-anomaly"
  std::string kind = "logistic_regression";  // model/model_kind.h names the kinds
  // features, the transform and the threshold (every kind); the standardization and
  // coefficients (logistic_regression only)
  model::LinearModel model;
  // The other kinds' own parameters: the manifest's "model" member (null for
  // logistic_regression).
  nlohmann::json params;
  nlohmann::json metrics;  // quality report (auc, f1, confusion matrix, ...)
  std::string training_data_sha256;
  nlohmann::json rows;      // {"train": n, "test": n, "invalid": n}
  nlohmann::json training;  // solver, iterations, loss, seed, options
  std::string created_at;   // RFC 3339 UTC
  std::string producer;     // "mlfaas 0.1.0"
  // sha256 of the canonical content (see docs/package_format.md); filled by Write/Read.
  std::string digest;
};

nlohmann::json ToJson(const Manifest& m);
// Validates types and presence of every required field; errors name the field.
// Does not check the digest (see ReadPackage*/ReadManifestFile for that).
StatusOr<Manifest> ManifestFromJson(const nlohmann::json& j);

// Canonical content of a manifest JSON object: the object without its "digest" and "created_at"
// members, serialized with keys sorted and no whitespace (nlohmann::json::dump(), numbers in
// shortest round-trip form). Identical training input therefore gives an identical digest.
std::string CanonicalContent(const nlohmann::json& manifest_json);
// sha256 hex of CanonicalContent(manifest_json).
std::string ComputeDigest(const nlohmann::json& manifest_json);

}  // namespace mlfaas::package
