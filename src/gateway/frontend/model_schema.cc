#include "gateway/frontend/model_schema.h"

#include <set>
#include <system_error>
#include <utility>

#include "common/fs.h"
#include "common/json.h"
#include "common/sha256.h"
#include "gateway/base/code_store.h"

namespace mlfaas::gateway {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The package reader's own bound on manifest.json (src/package/package.cc).
constexpr uintmax_t kMaxManifestBytes = 16u << 20;

// What an entry costs in the cache: its names and a little per name.
size_t SchemaEntryBytes(const std::vector<std::string>& features) {
  size_t bytes = 64;
  for (const std::string& f : features) bytes += f.size() + 32;
  return bytes;
}

std::string SchemaKey(const registry::VersionInfo& v) {
  return v.code_digest + "/" + v.model_digest;
}

}  // namespace

StatusOr<std::vector<std::string>> FeaturesFromManifest(std::string_view text,
                                                        std::string_view model_digest) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return InvalidArgument("manifest.json is " + parsed.status().message());
  const json& m = *parsed;
  if (!m.is_object()) return InvalidArgument("manifest.json is not a JSON object");
  if (JsonString(m, "digest", "") != model_digest) {
    return DataLoss("manifest.json's digest is not the one the registry recorded");
  }
  const json* list = JsonField(m, "features");
  if (!list || !list->is_array() || list->empty()) {
    return InvalidArgument("manifest.json has no \"features\" list");
  }
  std::vector<std::string> features;
  std::set<std::string_view> seen;
  size_t bytes = 0;
  for (size_t i = 0; i < list->size(); ++i) {
    auto name = JsonString((*list)[i], "name");
    if (!name || name->empty()) {
      return InvalidArgument("manifest.json: features[" + std::to_string(i) + "] has no name");
    }
    if ((bytes += name->size()) > kMaxFeatureListBytes) {
      return InvalidArgument("manifest.json: the feature names take more than " +
                             std::to_string(kMaxFeatureListBytes) + " bytes");
    }
    features.push_back(std::move(*name));
  }
  for (const std::string& f : features) {
    if (!seen.insert(f).second) {
      return InvalidArgument("manifest.json: feature '" + f.substr(0, 64) + "' is declared twice");
    }
  }
  return features;
}

ModelSchemaCache::Features ModelSchemaCache::Cached(const registry::VersionInfo& v) {
  static const Features* const kNone = new Features(std::make_shared<std::vector<std::string>>());
  if (v.model_digest.empty()) return *kNone;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(SchemaKey(v));
  return it == entries_.end() ? nullptr : it->second.features;
}

StatusOr<ModelSchemaCache::Features> ModelSchemaCache::Load(const registry::VersionInfo& v,
                                                            const CodeDirFn& code_dir) {
  if (Features known = Cached(v)) return known;
  MLFAAS_ASSIGN_OR_RETURN(fs::path dir, code_dir(v));
  const fs::path manifest = dir / "manifest.json";
  std::error_code ec;
  const uintmax_t size = fs::file_size(manifest, ec);
  if (ec) return NotFound("the model's code has no readable manifest.json: " + ec.message());
  if (size > kMaxManifestBytes) return InvalidArgument("the model's manifest.json is too large");
  MLFAAS_ASSIGN_OR_RETURN(std::string text, ReadFile(manifest));
  MLFAAS_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          FeaturesFromManifest(text, v.model_digest));
  Entry entry{std::make_shared<const std::vector<std::string>>(std::move(names)), 0};
  entry.bytes = SchemaEntryBytes(*entry.features);
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = SchemaKey(v);
  if (auto it = entries_.find(key); it != entries_.end()) return it->second.features;
  while (!order_.empty() &&
         (entries_.size() >= max_entries_ || bytes_ + entry.bytes > max_bytes_)) {
    auto old = entries_.find(order_.front());
    bytes_ -= old->second.bytes;
    entries_.erase(old);
    order_.pop_front();
  }
  Features features = entry.features;
  if (entry.bytes <= max_bytes_ && max_entries_ > 0) {
    bytes_ += entry.bytes;
    entries_.emplace(key, std::move(entry));
    order_.push_back(key);
  }
  return features;
}

}  // namespace mlfaas::gateway
