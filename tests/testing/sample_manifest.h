// A small valid manifest for tests that need a model package (package, registry).
#pragma once

#include "package/manifest.h"

namespace mlfaas::package::sample {

inline Manifest SampleManifest() {
  Manifest m;
  m.name = "kdd99-anomaly";
  m.model.features = {"duration", "src_bytes", "dst_bytes"};
  m.model.transform = model::Transform::kLog01;
  m.model.mean = {-2.2, 5.4, 7.6};
  m.model.scale = {0.3, 0.6, 1.9};
  m.model.coef = {0.5, 4.25, -2.0};
  m.model.intercept = -9.5;
  m.model.threshold = 0.5;
  m.metrics = {{"auc", 0.998}, {"f1", 0.995}};
  m.training_data_sha256 = std::string(64, 'a');
  m.rows = {{"train", 800}, {"test", 200}, {"invalid", 0}};
  m.training = {{"solver", "newton"}, {"iterations", 9}};
  m.created_at = "2026-01-01T00:00:00Z";
  m.producer = "mlfaas 0.1.0";
  return m;
}

}  // namespace mlfaas::package::sample
