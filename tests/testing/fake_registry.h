// In-memory registry::Registry for gateway tests: functions, versions and aliases without
// SQLite or blobs. Package paths are ignored; `code_digest` is whatever the test sets.
// Thread-safe (one mutex). Counts Resolve calls so tests can check caching.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "registry/registry.h"

namespace mlfaas::testing {

class FakeRegistry final : public registry::Registry {
 public:
  using FunctionConfig = registry::FunctionConfig;
  using VersionInfo = registry::VersionInfo;
  using FunctionInfo = registry::FunctionInfo;
  using AliasInfo = registry::AliasInfo;

  // Test setup helpers.
  void Put(const std::string& fn, const std::string& version, const std::string& digest,
           const FunctionConfig& config) {
    std::lock_guard<std::mutex> l(mu_);
    VersionInfo v;
    v.function = fn;
    v.version = version;
    v.code_digest = digest;
    v.config = config;
    v.created_at = "2024-01-01T00:00:00Z";
    versions_[fn][version] = v;
  }
  void PutAlias(const AliasInfo& a) {
    std::lock_guard<std::mutex> l(mu_);
    aliases_[a.function][a.name] = a;
  }
  int resolve_calls() const { return resolve_calls_.load(); }

  StatusOr<FunctionInfo> CreateFunction(const std::string& name, const std::string&,
                                        const FunctionConfig& config) override {
    Put(name, registry::kLatest, "digest-" + name, config);
    return GetFunction(name);
  }
  StatusOr<FunctionInfo> UpdateCode(const std::string&, const std::string&) override {
    return Status(StatusCode::kUnimplemented, "fake");
  }
  StatusOr<FunctionInfo> UpdateConfig(const std::string& name,
                                      const FunctionConfig& config) override {
    std::lock_guard<std::mutex> l(mu_);
    versions_[name][registry::kLatest].config = config;
    return FunctionInfo{name, versions_[name][registry::kLatest], "", ""};
  }
  StatusOr<FunctionInfo> GetFunction(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = versions_.find(name);
    if (it == versions_.end()) return NotFound("Function not found: " + name);
    return FunctionInfo{name, it->second[registry::kLatest], "", ""};
  }
  StatusOr<std::vector<FunctionInfo>> ListFunctions() override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<FunctionInfo> out;
    for (auto& [n, vs] : versions_) out.push_back({n, vs[registry::kLatest], "", ""});
    return out;
  }
  Status DeleteFunction(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    versions_.erase(name);
    aliases_.erase(name);
    return Status::Ok();
  }
  StatusOr<VersionInfo> PublishVersion(const std::string&, const std::string&) override {
    return Status(StatusCode::kUnimplemented, "fake");
  }
  StatusOr<std::vector<VersionInfo>> ListVersions(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<VersionInfo> out;
    for (auto& [k, v] : versions_[name]) out.push_back(v);
    return out;
  }
  StatusOr<VersionInfo> GetVersion(const std::string& name, const std::string& version) override {
    std::lock_guard<std::mutex> l(mu_);
    auto f = versions_.find(name);
    if (f == versions_.end()) return NotFound("Function not found: " + name);
    auto v = f->second.find(version);
    if (v == f->second.end()) return NotFound("Version not found: " + name + ":" + version);
    return v->second;
  }
  Status DeleteVersion(const std::string&, const std::string&) override {
    return Status(StatusCode::kUnimplemented, "fake");
  }
  StatusOr<AliasInfo> CreateAlias(const AliasInfo& a) override {
    PutAlias(a);
    return a;
  }
  StatusOr<AliasInfo> UpdateAlias(const AliasInfo& a) override {
    PutAlias(a);
    return a;
  }
  StatusOr<AliasInfo> GetAlias(const std::string& fn, const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto f = aliases_.find(fn);
    if (f == aliases_.end() || !f->second.count(name)) {
      return NotFound("Alias not found: " + fn + ":" + name);
    }
    return f->second[name];
  }
  StatusOr<std::vector<AliasInfo>> ListAliases(const std::string& fn) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<AliasInfo> out;
    for (auto& [k, a] : aliases_[fn]) out.push_back(a);
    return out;
  }
  Status DeleteAlias(const std::string& fn, const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    aliases_[fn].erase(name);
    return Status::Ok();
  }
  StatusOr<VersionInfo> Resolve(const std::string& fn, const std::string& qualifier,
                                double uniform01) override {
    ++resolve_calls_;
    std::string q = qualifier.empty() ? registry::kLatest : qualifier;
    if (q == registry::kLatest || q.find_first_not_of("0123456789") == std::string::npos) {
      return GetVersion(fn, q);
    }
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, GetAlias(fn, q));
    if (a.canary_version && uniform01 < a.canary_weight) return GetVersion(fn, *a.canary_version);
    return GetVersion(fn, a.version);
  }
  StatusOr<std::string> PackagePath(const std::string&) override {
    return NotFound("fake registry stores no packages");
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, VersionInfo>> versions_;
  std::map<std::string, std::map<std::string, AliasInfo>> aliases_;
  std::atomic<int> resolve_calls_{0};
};

}  // namespace mlfaas::testing
