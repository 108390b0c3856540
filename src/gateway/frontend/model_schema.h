// The features a model version declares (its manifest's "features", in order), for the KServe V2
// model metadata and the [N, F] tensor form of infer (model_api.cc). They are read from the
// version's code tree, the one its instances run from (manifest.json at its top,
// docs/package_format.md), and cached per code digest: the registry's records carry only the
// manifest's digest, and the front doors never open packages (docs/architecture.md: only the
// code store does).
#pragma once

#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"

namespace mlfaas::gateway {

// A cached entry's feature names, all together, at most this many bytes (a manifest may hold
// 16 MiB; a model with a megabyte of feature names is not served through the model API's
// tensor form).
inline constexpr size_t kMaxFeatureListBytes = size_t{1} << 20;

// The feature names of manifest.json's text, in order. `model_digest`: the manifest digest the
// registry recorded for the version; the manifest's "digest" must be it (DataLoss otherwise).
// InvalidArgument naming what is malformed. Never throws.
StatusOr<std::vector<std::string>> FeaturesFromManifest(std::string_view text,
                                                        std::string_view model_digest);

// Feature lists by code digest, bounded (entries and bytes; the oldest go first). Thread-safe.
class ModelSchemaCache {
 public:
  using Features = std::shared_ptr<const std::vector<std::string>>;
  using CodeDirFn = std::function<StatusOr<std::filesystem::path>(const registry::VersionInfo&)>;

  ModelSchemaCache(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The features of `v` when they are known without I/O: for a version without a manifest
  // (model_digest empty: a custom-runtime bundle), none (an empty list); else the cached list,
  // or null when it has not been read yet.
  Features Cached(const registry::VersionInfo& v);
  // Cached(v), or reads `code_dir(v)`/manifest.json (blocking) and caches what it declares.
  // Errors are not cached: a later call tries again.
  StatusOr<Features> Load(const registry::VersionInfo& v, const CodeDirFn& code_dir);

 private:
  struct Entry {
    Features features;
    size_t bytes = 0;
  };
  const size_t max_entries_;
  const size_t max_bytes_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by code digest and model digest
  std::deque<std::string> order_;         // keys of entries_, oldest first
  size_t bytes_ = 0;
};

}  // namespace mlfaas::gateway
