#include "cli/remote_registry.h"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "common/base64.h"
#include "common/fs.h"
#include "common/json.h"
#include "registry/config_json.h"

namespace mlfaas::cli {
namespace {

using nlohmann::json;
using registry::AliasInfo;
using registry::FunctionConfig;
using registry::FunctionInfo;
using registry::VersionInfo;

constexpr const char* kFunctions = "/2015-03-31/functions";
// The role CreateFunction requires; mlfaas has no IAM, so it is the same placeholder always.
constexpr const char* kRole = "arn:aws:iam::000000000000:role/mlfaas";
constexpr int kPageSize = 50;
// A listing longer than this many pages (50 items each) is a gateway that keeps answering the
// same marker, not a registry.
constexpr int kMaxPages = 100'000;

// The path of a function. A name outside [A-Za-z0-9_-]{1,64} cannot exist (and an empty one
// would address the collection), so it is NotFound as a local registry says it.
StatusOr<std::string> FunctionPath(const std::string& name) {
  if (!registry::IsValidFunctionName(name)) {
    return NotFound("function '" + name + "' does not exist");
  }
  return std::string(kFunctions) + "/" + UriEncode(name);
}

StatusOr<std::string> AliasPath(const std::string& function, const std::string& alias) {
  MLFAAS_ASSIGN_OR_RETURN(std::string fn, FunctionPath(function));
  if (!registry::IsValidAliasName(alias)) {
    return NotFound("function '" + function + "' has no alias '" + alias + "'");
  }
  return fn + "/aliases/" + UriEncode(alias);
}

// The package zip, whole. Refused before anything is sent when the gateway would refuse it:
// rather than upload 70 MB to hear so.
StatusOr<std::string> ReadPackage(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return InvalidArgument("cannot read " + path + ": no such file");
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxPackageBytes) {
    return InvalidArgument(path + " is " + std::to_string(size >> 20) +
                           " MB: a package sent to a gateway can be at most " +
                           std::to_string(kMaxPackageBytes >> 20) +
                           " MB (Lambda's limit on a direct upload)");
  }
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return InvalidArgument(bytes.status().message());
  return bytes;
}

// The Lambda fields of a configuration (CreateFunction, UpdateFunctionConfiguration).
json LambdaFields(const FunctionConfig& c) {
  return json{{"Runtime", c.runtime},
              {"Handler", c.handler},
              {"MemorySize", c.memory_mb},
              {"Timeout", c.timeout_s},
              {"Description", c.description},
              {"Environment", {{"Variables", c.environment}}},
              {"EphemeralStorage", {{"Size", c.ephemeral_storage_mb}}}};
}

json AliasBody(const AliasInfo& a) {
  json weights = json::object();
  if (a.canary_version) weights[*a.canary_version] = a.canary_weight;
  return json{{"FunctionVersion", a.version},
              {"Description", a.description},
              {"RoutingConfig", {{"AdditionalVersionWeights", weights}}}};
}

// The record under `key` of a gateway answer, parsed with `parse`.
template <typename T>
StatusOr<T> Record(const json& answer, const char* key, const std::string& what,
                   const std::function<StatusOr<T>(const json&)>& parse) {
  const json* field = JsonField(answer, key);
  if (!field) return NotMlfaas(what, std::string("no \"") + key + "\" field");
  auto r = parse(*field);
  if (!r.ok()) return NotMlfaas(what, r.status().message());
  return r;
}

StatusOr<VersionInfo> VersionRecord(const json& answer, const std::string& what) {
  return Record<VersionInfo>(answer, "Mlfaas", what, registry::VersionInfoFromJson);
}

// Every page of a Lambda listing: `target` (without a query, or with one), items under
// `list_key`, each's record under `record_key`; pages follow NextMarker until there is none.
template <typename T>
StatusOr<std::vector<T>> ListAll(const GatewayClient& gw, const std::string& target,
                                 const char* list_key, const char* record_key,
                                 const std::function<StatusOr<T>(const json&)>& parse) {
  std::vector<T> out;
  std::set<std::string> markers;
  std::string marker;
  for (int page = 0; page < kMaxPages; ++page) {
    std::string url = target + (target.find('?') == std::string::npos ? "?" : "&") +
                      "MaxItems=" + std::to_string(kPageSize);
    if (!marker.empty()) url += "&Marker=" + UriEncode(marker);
    MLFAAS_ASSIGN_OR_RETURN(json answer, gw.Call("GET", url));
    const json* items = JsonField(answer, list_key);
    if (!items || !items->is_array()) {
      return NotMlfaas("GET " + url, std::string("no \"") + list_key + "\" array");
    }
    for (const auto& item : *items) {
      MLFAAS_ASSIGN_OR_RETURN(T record, Record<T>(item, record_key, "GET " + url, parse));
      out.push_back(std::move(record));
    }
    std::optional<std::string> next = JsonString(answer, "NextMarker");
    if (!next || next->empty()) return out;
    if (!markers.insert(*next).second) {
      return NotMlfaas("GET " + url, "NextMarker '" + *next + "' was given before");
    }
    marker = std::move(*next);
  }
  return NotMlfaas("GET " + target, "the listing does not end");
}

}  // namespace

StatusOr<FunctionInfo> RemoteRegistry::CreateFunction(const std::string& name,
                                                      const std::string& package_path,
                                                      const FunctionConfig& config) {
  json body = LambdaFields(config);
  body["FunctionName"] = name;
  body["Role"] = kRole;
  {
    MLFAAS_ASSIGN_OR_RETURN(std::string zip, ReadPackage(package_path));
    body["Code"] = {{"ZipFile", Base64Encode(zip)}};
  }
  body["Tags"] = registry::MlfaasTags(config);
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("POST", kFunctions, body));
  return FunctionAfterWrite(name, answer);
}

StatusOr<FunctionInfo> RemoteRegistry::UpdateCode(const std::string& name,
                                                  const std::string& package_path) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  json body;
  {
    MLFAAS_ASSIGN_OR_RETURN(std::string zip, ReadPackage(package_path));
    body["ZipFile"] = Base64Encode(zip);
  }
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("PUT", path + "/code", body));
  return FunctionAfterWrite(name, answer);
}

StatusOr<FunctionInfo> RemoteRegistry::UpdateConfig(const std::string& name,
                                                    const FunctionConfig& config) {
  // Only the parts that change are sent: each request is a write the gateway audits, and one
  // update should read as one entry in its log, as it does locally. The first read also makes a
  // missing function NotFound before anything is written.
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo current, GetFunction(name));
  const FunctionConfig& was = current.latest.config;
  const bool fields = LambdaFields(was) != LambdaFields(config);
  const bool uncap = was.reserved_concurrency && !config.reserved_concurrency;
  const bool tags = registry::MlfaasTags(was) != registry::MlfaasTags(config);
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  // With nothing to change it is still an update, as locally (recorded, and the time bumped).
  if (fields || (!uncap && !tags)) {
    MLFAAS_RETURN_IF_ERROR(
        gateway_.Call("PUT", path + "/configuration", LambdaFields(config)).status());
  }
  // The cap goes before the tags: removing it can never make provisioned > reserved, whatever
  // the new provisioned count is.
  if (uncap) {
    MLFAAS_RETURN_IF_ERROR(
        gateway_.Call("DELETE", "/2017-10-31/functions/" + UriEncode(name) + "/concurrency")
            .status());
  }
  if (tags) {
    const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name;
    MLFAAS_RETURN_IF_ERROR(gateway_
                               .Call("POST", "/2017-03-31/tags/" + UriEncode(arn),
                                     json{{"Tags", registry::MlfaasTags(config)}})
                               .status());
  }
  return GetFunction(name);
}

StatusOr<FunctionInfo> RemoteRegistry::FunctionAfterWrite(const std::string& name,
                                                          const json& answer) {
  // A write answers with $LATEST's FunctionConfiguration, whose "Mlfaas" is the version's record;
  // the function's own (its creation and update times) is GetFunction's, unless the gateway
  // added it as in listings.
  if (JsonField(answer, "MlfaasFunction")) {
    return Record<FunctionInfo>(answer, "MlfaasFunction", "a write of function " + name,
                                registry::FunctionInfoFromJson);
  }
  return GetFunction(name);
}

StatusOr<FunctionInfo> RemoteRegistry::GetFunction(const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("GET", path));
  return Record<FunctionInfo>(answer, "Mlfaas", "GET " + path, registry::FunctionInfoFromJson);
}

StatusOr<std::vector<FunctionInfo>> RemoteRegistry::ListFunctions() {
  return ListAll<FunctionInfo>(gateway_, std::string(kFunctions) + "/", "Functions",
                               "MlfaasFunction", registry::FunctionInfoFromJson);
}

Status RemoteRegistry::DeleteFunction(const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  return gateway_.Call("DELETE", path).status();
}

StatusOr<VersionInfo> RemoteRegistry::PublishVersion(const std::string& name,
                                                     const std::string& description) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  MLFAAS_ASSIGN_OR_RETURN(
      json answer, gateway_.Call("POST", path + "/versions", json{{"Description", description}}));
  return VersionRecord(answer, "POST " + path + "/versions");
}

StatusOr<std::vector<VersionInfo>> RemoteRegistry::ListVersions(const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  return ListAll<VersionInfo>(gateway_, path + "/versions", "Versions", "Mlfaas",
                              registry::VersionInfoFromJson);
}

StatusOr<VersionInfo> RemoteRegistry::GetVersion(const std::string& name,
                                                 const std::string& version) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  const std::string target = path + "/configuration?Qualifier=" + UriEncode(version);
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("GET", target));
  return VersionRecord(answer, "GET " + target);
}

Status RemoteRegistry::DeleteVersion(const std::string& name, const std::string& version) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(name));
  return gateway_.Call("DELETE", path + "?Qualifier=" + UriEncode(version)).status();
}

StatusOr<AliasInfo> RemoteRegistry::CreateAlias(const AliasInfo& alias) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(alias.function));
  json body = AliasBody(alias);
  body["Name"] = alias.name;
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("POST", path + "/aliases", body));
  return Record<AliasInfo>(answer, "Mlfaas", "POST " + path + "/aliases",
                           registry::AliasInfoFromJson);
}

StatusOr<AliasInfo> RemoteRegistry::UpdateAlias(const AliasInfo& alias) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, AliasPath(alias.function, alias.name));
  // The whole alias, as the local UpdateAlias takes it: an empty weight map removes a canary.
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("PUT", path, AliasBody(alias)));
  return Record<AliasInfo>(answer, "Mlfaas", "PUT " + path, registry::AliasInfoFromJson);
}

StatusOr<AliasInfo> RemoteRegistry::GetAlias(const std::string& function, const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, AliasPath(function, name));
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("GET", path));
  return Record<AliasInfo>(answer, "Mlfaas", "GET " + path, registry::AliasInfoFromJson);
}

StatusOr<std::vector<AliasInfo>> RemoteRegistry::ListAliases(const std::string& function) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, FunctionPath(function));
  return ListAll<AliasInfo>(gateway_, path + "/aliases", "Aliases", "Mlfaas",
                            registry::AliasInfoFromJson);
}

Status RemoteRegistry::DeleteAlias(const std::string& function, const std::string& name) {
  MLFAAS_ASSIGN_OR_RETURN(std::string path, AliasPath(function, name));
  return gateway_.Call("DELETE", path).status();
}

StatusOr<VersionInfo> RemoteRegistry::Resolve(const std::string& function,
                                              const std::string& qualifier, double uniform01) {
  const bool number =
      !qualifier.empty() && qualifier.find_first_not_of("0123456789") == std::string::npos;
  if (qualifier.empty() || qualifier == registry::kLatest || number) {
    return GetVersion(function, qualifier.empty() ? registry::kLatest : qualifier);
  }
  MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, GetAlias(function, qualifier));
  const bool canary = a.canary_version && uniform01 < a.canary_weight;
  return GetVersion(function, canary ? *a.canary_version : a.version);
}

StatusOr<std::string> RemoteRegistry::PackagePath(const std::string&) {
  return Status(StatusCode::kUnimplemented,
                "package files are not available with --remote: they stay on the gateway's "
                "machine");
}

}  // namespace mlfaas::cli
