// The Lambda control plane (API 2015-03-31 and its dated siblings) over the registry, as AWS
// shapes requests and answers, so that the AWS CLI, boto3, SAM- or Terraform-style tools deploy
// against mlfaas (docs/api.md, "Control plane", has the compatibility table):
//   POST   /2015-03-31/functions                               CreateFunction (Code.ZipFile)
//   GET    /2015-03-31/functions/                              ListFunctions (Marker, MaxItems)
//   GET    /2015-03-31/functions/{f}[?Qualifier=]              GetFunction
//   DELETE /2015-03-31/functions/{f}[?Qualifier=]              DeleteFunction (a version with it)
//   GET|PUT /2015-03-31/functions/{f}/configuration            Get/UpdateFunctionConfiguration
//   PUT    /2015-03-31/functions/{f}/code                      UpdateFunctionCode
//   POST|GET /2015-03-31/functions/{f}/versions                PublishVersion,
//   ListVersionsByFunction POST|GET /2015-03-31/functions/{f}/aliases[/{a}], PUT|DELETE
//   .../aliases/{a}   aliases PUT|DELETE /2017-10-31/functions/{f}/concurrency, GET /2019-09-30/...
//   Put/Get/DeleteFunctionConcurrency PUT|GET|DELETE
//   /2019-09-30/functions/{f}/provisioned-concurrency?Qualifier=   provisioned GET
//   /2016-08-19/account-settings/                        GetAccountSettings POST|GET|DELETE
//   /2017-03-31/tags/{arn}                      Tag/ListTags/UntagResource
// Any other route under a Lambda API date answers 400 UnsupportedOperationException naming it.
//
// Settings Lambda has no request field for are function tags under "mlfaas:" (idle-timeout,
// model-loading, reserved-concurrency, provisioned-concurrency), applied to $LATEST's config.
// Every answer describing a version carries "Mlfaas": the registry's own JSON of it (what
// `mlfaas ... --json` prints), which the remote CLI reads back.
//
// Writes go through auth::AuditedRegistry (the caller is recorded) and run on the control
// thread (ApiContext::offload), never on an io thread: a 50 MB package takes a while to store.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "auth/audited_registry.h"
#include "common/base64.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/sha256.h"
#include "gateway/frontend/router.h"
#include "registry/config_json.h"

namespace mlfaas::gateway {
namespace {

using nlohmann::json;
using registry::AliasInfo;
using registry::FunctionConfig;
using registry::FunctionInfo;
using registry::VersionInfo;
namespace fs = std::filesystem;

constexpr const char* kRole = "arn:aws:iam::000000000000:role/mlfaas";
constexpr size_t kMaxZipBytes = 50ull << 20;  // Lambda's direct-upload limit (zipped)

// ---- answers -------------------------------------------------------------------------------

Response JsonAnswer(http::status status, const json& body) {
  if (status == http::status::no_content) {
    Response res{status, 11};
    return res;
  }
  return JsonResponse(status, body);
}
Response NoContent() { return JsonAnswer(http::status::no_content, json()); }

std::string LambdaTime(const std::string& rfc3339) {
  // "2026-11-26T18:30:05.123Z" -> "2026-11-26T18:30:05.123+0000", as Lambda writes LastModified.
  if (rfc3339.ends_with("Z")) return rfc3339.substr(0, rfc3339.size() - 1) + "+0000";
  return rfc3339;
}

std::string HexToBase64(const std::string& hex) {
  std::string raw;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    raw.push_back(static_cast<char>(std::strtol(hex.substr(i, 2).c_str(), nullptr, 16)));
  }
  return Base64Encode(raw);
}

std::string RuntimeName(const FunctionConfig& c) {
  return c.runtime == "provided" ? "provided.al2023" : c.runtime;
}

json ConfigurationJson(ApiContext& ctx, const VersionInfo& v) {
  int64_t code_size = 0;
  if (auto path = ctx.registry->PackagePath(v.code_digest); path.ok()) {
    std::error_code ec;
    code_size = static_cast<int64_t>(fs::file_size(*path, ec));
    if (ec) code_size = 0;
  }
  const bool latest = v.version == registry::kLatest;
  json j = {{"FunctionName", v.function},
            {"FunctionArn", Invoker::FunctionArn(v.function, latest ? "" : v.version)},
            {"Runtime", RuntimeName(v.config)},
            {"Role", kRole},
            {"Handler", v.config.handler},
            {"CodeSize", code_size},
            {"Description", latest ? v.config.description : v.description},
            {"Timeout", v.config.timeout_s},
            {"MemorySize", v.config.memory_mb},
            {"LastModified", LambdaTime(v.created_at)},
            {"CodeSha256", HexToBase64(v.code_digest)},
            {"Version", v.version},
            {"Environment", {{"Variables", v.config.environment}}},
            {"EphemeralStorage", {{"Size", v.config.ephemeral_storage_mb}}},
            {"State", "Active"},
            {"LastUpdateStatus", "Successful"},
            {"PackageType", "Zip"},
            {"Architectures", json::array({"x86_64"})},
            {"Mlfaas", registry::ToJson(v)}};
  if (v.config.max_concurrency_per_instance != 1) {
    j["CapacityProviderConfig"] = {
        {"LambdaManagedInstancesCapacityProviderConfig",
         {{"PerExecutionEnvironmentMaxConcurrency", v.config.max_concurrency_per_instance}}}};
  }
  return j;
}

json AliasJson(const AliasInfo& a) {
  json weights = json::object();
  if (a.canary_version) weights[*a.canary_version] = a.canary_weight;
  return {{"AliasArn", Invoker::FunctionArn(a.function, a.name)},
          {"Name", a.name},
          {"FunctionVersion", a.version},
          {"Description", a.description},
          {"RoutingConfig", {{"AdditionalVersionWeights", weights}}},
          {"RevisionId", Sha256Hex(registry::ToJson(a).dump()).substr(0, 36)},
          {"Mlfaas", registry::ToJson(a)}};
}

// ---- reading requests ----------------------------------------------------------------------

StatusOr<json> Body(const Request& req) {
  if (req.body().empty()) return json::object();
  MLFAAS_ASSIGN_OR_RETURN(json j, ParseJson(req.body()));
  if (!j.is_object()) return InvalidArgument("the request body must be a JSON object");
  return j;
}

// An integer field in [lo, hi], if present.
Status IntField(const json& j, const char* name, int lo, int hi, std::optional<int>& out) {
  const json* f = JsonField(j, name);
  if (!f || f->is_null()) return Status::Ok();
  if (!f->is_number_integer()) return InvalidArgument(std::string(name) + " must be an integer");
  const int64_t v = f->get<int64_t>();
  if (v < lo || v > hi) {
    return InvalidArgument(fmt::format("{} must be between {} and {}", name, lo, hi));
  }
  out = static_cast<int>(v);
  return Status::Ok();
}

Status StringField(const json& j, const char* name, std::optional<std::string>& out) {
  const json* f = JsonField(j, name);
  if (!f || f->is_null()) return Status::Ok();
  if (!f->is_string()) return InvalidArgument(std::string(name) + " must be a string");
  out = f->get<std::string>();
  return Status::Ok();
}

StatusOr<std::string> ParseRuntime(const std::string& r) {
  if (r == "mlfaas") return std::string("mlfaas");
  if (r == "provided" || r == "provided.al2023" || r == "provided.al2") {
    return std::string("provided");
  }
  return InvalidArgument("Runtime '" + r +
                         "' is not supported: use mlfaas (the built-in model runtime), provided or "
                         "provided.al2023 (a custom runtime: the package's bootstrap)");
}

// Applies a "mlfaas:<setting>" tag to `c`; InvalidArgument for an unknown key or a bad value.
Status ApplyTag(const std::string& key, const std::string& value, FunctionConfig& c) {
  auto number = [&](int lo, int hi) -> StatusOr<int> {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) {
      return InvalidArgument(
          fmt::format("tag {}: '{}' is not a number in [{}, {}]", key, value, lo, hi));
    }
    return static_cast<int>(v);
  };
  if (key == "mlfaas:idle-timeout") {
    MLFAAS_ASSIGN_OR_RETURN(c.idle_timeout_s, number(1, 86400 * 7));
  } else if (key == "mlfaas:model-loading") {
    c.model_loading = value;
  } else if (key == "mlfaas:reserved-concurrency") {
    MLFAAS_ASSIGN_OR_RETURN(int n, number(0, 100000));
    c.reserved_concurrency = n;
  } else if (key == "mlfaas:provisioned-concurrency") {
    MLFAAS_ASSIGN_OR_RETURN(c.provisioned_concurrency, number(0, 100000));
  } else if (key == "mlfaas:max-concurrency-per-instance") {
    MLFAAS_ASSIGN_OR_RETURN(c.max_concurrency_per_instance, number(1, 1600));
  } else if (key.starts_with("mlfaas:")) {
    return InvalidArgument("unknown tag " + key +
                           ": mlfaas: tags are idle-timeout, model-loading, reserved-concurrency, "
                           "provisioned-concurrency, max-concurrency-per-instance");
  } else {
    return InvalidArgument("tag " + key +
                           ": only mlfaas: tags are kept (they carry mlfaas settings)");
  }
  return Status::Ok();
}

Status ApplyTags(const json* tags, FunctionConfig& c) {
  if (!tags || tags->is_null()) return Status::Ok();
  if (!tags->is_object()) return InvalidArgument("Tags must be an object of strings");
  for (const auto& [k, v] : tags->items()) {
    if (!v.is_string()) return InvalidArgument("tag " + k + " must be a string");
    MLFAAS_RETURN_IF_ERROR(ApplyTag(k, v.get<std::string>(), c));
  }
  return Status::Ok();
}

// The Lambda fields of Create/UpdateFunctionConfiguration that mlfaas honours, onto `c`.
Status ApplyConfigFields(const json& j, FunctionConfig& c) {
  std::optional<std::string> runtime, handler, description;
  std::optional<int> memory, timeout;
  MLFAAS_RETURN_IF_ERROR(StringField(j, "Runtime", runtime));
  MLFAAS_RETURN_IF_ERROR(StringField(j, "Handler", handler));
  MLFAAS_RETURN_IF_ERROR(StringField(j, "Description", description));
  MLFAAS_RETURN_IF_ERROR(IntField(j, "MemorySize", 128, 10240, memory));
  MLFAAS_RETURN_IF_ERROR(IntField(j, "Timeout", 1, 900, timeout));
  if (runtime) {
    MLFAAS_ASSIGN_OR_RETURN(c.runtime, ParseRuntime(*runtime));
  }
  if (handler) c.handler = *handler;
  if (description) c.description = *description;
  if (memory) c.memory_mb = *memory;
  if (timeout) c.timeout_s = *timeout;
  if (const json* env = JsonField(j, "Environment"); env && !env->is_null()) {
    const json* vars = env->is_object() ? JsonField(*env, "Variables") : nullptr;
    if (!env->is_object() || (vars && !vars->is_null() && !vars->is_object())) {
      return InvalidArgument("Environment must be {\"Variables\": {name: value}}");
    }
    c.environment.clear();
    if (vars && vars->is_object()) {
      for (const auto& [k, v] : vars->items()) {
        if (!v.is_string())
          return InvalidArgument("Environment.Variables." + k + " must be a string");
        c.environment[k] = v.get<std::string>();
      }
    }
  }
  if (const json* eph = JsonField(j, "EphemeralStorage"); eph && !eph->is_null()) {
    std::optional<int> size;
    if (!eph->is_object()) return InvalidArgument("EphemeralStorage must be {\"Size\": MB}");
    MLFAAS_RETURN_IF_ERROR(IntField(*eph, "Size", 512, 10240, size));
    if (size) c.ephemeral_storage_mb = *size;
  }
  // Lambda Managed Instances: the per-instance concurrency. mlfaas is its own capacity provider,
  // so CapacityProviderArn is not needed (one given is not kept).
  if (const json* cp = JsonField(j, "CapacityProviderConfig"); cp && !cp->is_null()) {
    const json* mi =
        cp->is_object() ? JsonField(*cp, "LambdaManagedInstancesCapacityProviderConfig") : nullptr;
    if (!mi || !mi->is_object()) {
      return InvalidArgument(
          "CapacityProviderConfig must be {\"LambdaManagedInstancesCapacityProviderConfig\": "
          "{\"PerExecutionEnvironmentMaxConcurrency\": N}}");
    }
    std::optional<int> per_instance;
    MLFAAS_RETURN_IF_ERROR(
        IntField(*mi, "PerExecutionEnvironmentMaxConcurrency", 1, 1600, per_instance));
    if (per_instance) c.max_concurrency_per_instance = *per_instance;
  }
  // Settings mlfaas cannot honour are refused rather than silently ignored.
  if (const json* pt = JsonField(j, "PackageType"); pt && pt->is_string() && *pt != "Zip") {
    return InvalidArgument("PackageType must be Zip: container images are not supported");
  }
  if (const json* arch = JsonField(j, "Architectures"); arch && arch->is_array()) {
    for (const auto& a : *arch) {
      if (a != "x86_64") return InvalidArgument("Architectures: only x86_64 is supported");
    }
  }
  if (const json* layers = JsonField(j, "Layers");
      layers && layers->is_array() && !layers->empty()) {
    return InvalidArgument("Layers are not supported: put everything in the package");
  }
  return registry::ValidateConfig(c);
}

// Code.ZipFile (base64) -> a private temp file the registry stores from; removed by the guard.
class TempZip {
 public:
  ~TempZip() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove(path_, ec);
    }
  }
  Status Write(const json* zip_b64) {
    if (!zip_b64 || !zip_b64->is_string()) {
      return InvalidArgument(
          "Code.ZipFile (base64 of the package zip) is required: S3 locations and images are "
          "not supported");
    }
    auto bytes = Base64Decode(zip_b64->get_ref<const std::string&>());
    if (!bytes) return InvalidArgument("Code.ZipFile is not valid base64");
    if (bytes->size() > kMaxZipBytes) {
      return InvalidArgument(
          fmt::format("Code.ZipFile is {} bytes, more than the {} a direct "
                      "upload may have",
                      bytes->size(), kMaxZipBytes));
    }
    std::string tmpl = (fs::temp_directory_path() / "mlfaas-upload-XXXXXX").string();
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return Internal("cannot create a temp file for the upload");
    ::close(fd);
    path_ = tmpl;
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    out.close();
    if (!out) return Internal("cannot write the upload to " + path_.string());
    return Status::Ok();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// ---- the routes ----------------------------------------------------------------------------

struct Call {
  ApiContext& ctx;
  Request& req;
  const Principal& who;
  std::string function;           // decoded {FunctionName}, empty for collection routes
  std::string qualifier;          // ?Qualifier=
  std::vector<std::string> rest;  // path segments after the function name

  // The registry, recording writes as this caller's.
  std::unique_ptr<registry::Registry> audited() const {
    if (!ctx.store) return nullptr;
    return std::make_unique<auth::AuditedRegistry>(*ctx.registry, *ctx.store, who.Describe(),
                                                   "http");
  }
};

std::optional<Response> Deny(const Call& c, auth::Action a, const std::string& op) {
  return Authorize(c.who, a, c.function, "lambda:" + op);
}

using Answer = StatusOr<Response>;

Answer CreateFunction(Call& c) {
  MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
  std::optional<std::string> name;
  MLFAAS_RETURN_IF_ERROR(StringField(body, "FunctionName", name));
  if (!name || !ValidFunctionName(*name)) {
    return InvalidArgument("FunctionName is required: 1-64 letters, digits, '-' or '_'");
  }
  c.function = *name;
  if (auto denied = Deny(c, auth::Action::kDeploy, "CreateFunction")) return std::move(*denied);
  if (!JsonField(body, "Runtime")) {
    return InvalidArgument("Runtime is required: mlfaas, provided or provided.al2023");
  }
  FunctionConfig config;
  MLFAAS_RETURN_IF_ERROR(ApplyConfigFields(body, config));
  MLFAAS_RETURN_IF_ERROR(ApplyTags(JsonField(body, "Tags"), config));
  MLFAAS_RETURN_IF_ERROR(registry::ValidateConfig(config));
  const json* code = JsonField(body, "Code");
  TempZip zip;
  MLFAAS_RETURN_IF_ERROR(
      zip.Write(code && code->is_object() ? JsonField(*code, "ZipFile") : nullptr));
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, r.CreateFunction(*name, zip.path(), config));
  VersionInfo shown = f.latest;
  if (auto publish = JsonBool(body, "Publish"); publish && *publish) {
    MLFAAS_ASSIGN_OR_RETURN(shown, r.PublishVersion(*name, ""));
  }
  json out = ConfigurationJson(c.ctx, shown);
  out["MlfaasFunction"] = registry::ToJson(f);
  return JsonAnswer(http::status::created, out);
}

// ?Marker=&MaxItems= (1-10000, default 50), as every Lambda list operation takes them.
struct Page {
  std::string marker;
  size_t max_items = 50;
};
StatusOr<Page> PageOf(const Call& c) {
  Page p;
  std::string max_text;
  const std::string_view target(c.req.target().data(), c.req.target().size());
  if (!QueryParam(target, "Marker", p.marker) || !QueryParam(target, "MaxItems", max_text)) {
    return InvalidArgument("malformed query string");
  }
  if (!max_text.empty()) {
    char* end = nullptr;
    const long v = std::strtol(max_text.c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 10000) {
      return InvalidArgument("MaxItems must be between 1 and 10000");
    }
    p.max_items = static_cast<size_t>(v);
  }
  return p;
}

Answer ListFunctions(Call& c) {
  MLFAAS_ASSIGN_OR_RETURN(Page page, PageOf(c));
  const std::string& marker = page.marker;
  const size_t max_items = page.max_items;
  MLFAAS_ASSIGN_OR_RETURN(auto all, c.ctx.registry->ListFunctions());  // sorted by name
  json items = json::array();
  std::string next;
  for (const auto& f : all) {
    if (!marker.empty() && f.name <= marker) continue;
    // A key sees only the functions it may read.
    if (!c.who.scopes.Allows(auth::Action::kRead, f.name)) continue;
    if (items.size() == max_items) {
      next = items.back()["FunctionName"].get<std::string>();
      break;
    }
    json item = ConfigurationJson(c.ctx, f.latest);
    item["MlfaasFunction"] = registry::ToJson(f);
    items.push_back(std::move(item));
  }
  json out = {{"Functions", std::move(items)}};
  if (!next.empty()) out["NextMarker"] = next;
  return JsonAnswer(http::status::ok, out);
}

// A qualifier as a control-plane read means it: an alias is its primary version (never a canary
// draw), a number that version, empty or $LATEST the draft.
StatusOr<VersionInfo> Qualified(Call& c) {
  if (c.qualifier.empty() || c.qualifier == registry::kLatest) {
    return c.ctx.registry->GetVersion(c.function, registry::kLatest);
  }
  if (auto alias = c.ctx.registry->GetAlias(c.function, c.qualifier); alias.ok()) {
    return c.ctx.registry->GetVersion(c.function, alias->version);
  }
  return c.ctx.registry->GetVersion(c.function, c.qualifier);
}

Answer GetFunction(Call& c) {
  if (auto denied = Deny(c, auth::Action::kRead, "GetFunction")) return std::move(*denied);
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, c.ctx.registry->GetFunction(c.function));
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, Qualified(c));
  json out = {{"Configuration", ConfigurationJson(c.ctx, v)},
              {"Code", {{"RepositoryType", "mlfaas"}, {"Location", ""}}},
              {"Tags", registry::MlfaasTags(f.latest.config)},
              {"Mlfaas", registry::ToJson(f)}};
  out["Configuration"]["MlfaasFunction"] = registry::ToJson(f);
  if (f.latest.config.reserved_concurrency) {
    out["Concurrency"] = {{"ReservedConcurrentExecutions", *f.latest.config.reserved_concurrency}};
  }
  return JsonAnswer(http::status::ok, out);
}

Answer GetConfiguration(Call& c) {
  if (auto denied = Deny(c, auth::Action::kRead, "GetFunctionConfiguration")) {
    return std::move(*denied);
  }
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, Qualified(c));
  return JsonAnswer(http::status::ok, ConfigurationJson(c.ctx, v));
}

Answer DeleteFunction(Call& c) {
  if (auto denied = Deny(c, auth::Action::kDeploy, "DeleteFunction")) return std::move(*denied);
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  if (c.qualifier.empty()) {
    MLFAAS_RETURN_IF_ERROR(r.DeleteFunction(c.function));
  } else {
    if (c.qualifier == registry::kLatest) {
      return InvalidArgument("$LATEST cannot be deleted alone: delete the function");
    }
    MLFAAS_RETURN_IF_ERROR(r.DeleteVersion(c.function, c.qualifier));
  }
  return NoContent();
}

Answer UpdateConfiguration(Call& c) {
  if (auto denied = Deny(c, auth::Action::kDeploy, "UpdateFunctionConfiguration")) {
    return std::move(*denied);
  }
  MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, c.ctx.registry->GetFunction(c.function));
  FunctionConfig config = f.latest.config;
  MLFAAS_RETURN_IF_ERROR(ApplyConfigFields(body, config));
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_ASSIGN_OR_RETURN(f, r.UpdateConfig(c.function, config));
  json out = ConfigurationJson(c.ctx, f.latest);
  out["MlfaasFunction"] = registry::ToJson(f);
  return JsonAnswer(http::status::ok, out);
}

Answer UpdateCode(Call& c) {
  if (auto denied = Deny(c, auth::Action::kDeploy, "UpdateFunctionCode")) return std::move(*denied);
  MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
  TempZip zip;
  MLFAAS_RETURN_IF_ERROR(zip.Write(JsonField(body, "ZipFile")));
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, r.UpdateCode(c.function, zip.path()));
  VersionInfo shown = f.latest;
  if (auto publish = JsonBool(body, "Publish"); publish && *publish) {
    MLFAAS_ASSIGN_OR_RETURN(shown, r.PublishVersion(c.function, ""));
  }
  json out = ConfigurationJson(c.ctx, shown);
  out["MlfaasFunction"] = registry::ToJson(f);
  return JsonAnswer(http::status::ok, out);
}

Answer PublishVersion(Call& c) {
  if (auto denied = Deny(c, auth::Action::kDeploy, "PublishVersion")) return std::move(*denied);
  MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
  std::optional<std::string> description;
  MLFAAS_RETURN_IF_ERROR(StringField(body, "Description", description));
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, r.PublishVersion(c.function, description.value_or("")));
  return JsonAnswer(http::status::created, ConfigurationJson(c.ctx, v));
}

// Marker/MaxItems paging over an already ordered list of items keyed by `key`.
Answer Paged(Call& c, json items, const char* list_name, const char* key) {
  MLFAAS_ASSIGN_OR_RETURN(Page p, PageOf(c));
  const std::string& marker = p.marker;
  const size_t max_items = p.max_items;
  size_t start = 0;
  if (!marker.empty()) {
    while (start < items.size() && items[start][key] != marker) ++start;
    if (start == items.size()) return InvalidArgument("Marker '" + marker + "' is not valid");
    ++start;
  }
  json page = json::array();
  for (size_t i = start; i < items.size() && page.size() < max_items; ++i) page.push_back(items[i]);
  json out = {{list_name, page}};
  if (start + page.size() < items.size() && !page.empty()) out["NextMarker"] = page.back()[key];
  return JsonAnswer(http::status::ok, out);
}

Answer ListVersions(Call& c) {
  if (auto denied = Deny(c, auth::Action::kRead, "ListVersionsByFunction")) {
    return std::move(*denied);
  }
  MLFAAS_ASSIGN_OR_RETURN(auto versions, c.ctx.registry->ListVersions(c.function));
  json items = json::array();
  for (const auto& v : versions) items.push_back(ConfigurationJson(c.ctx, v));
  return Paged(c, std::move(items), "Versions", "Version");
}

// The alias fields of a Create/UpdateAlias body onto `a`.
Status ApplyAliasFields(const json& body, AliasInfo& a) {
  std::optional<std::string> version, description;
  MLFAAS_RETURN_IF_ERROR(StringField(body, "FunctionVersion", version));
  MLFAAS_RETURN_IF_ERROR(StringField(body, "Description", description));
  if (version) a.version = *version;
  if (description) a.description = *description;
  if (const json* rc = JsonField(body, "RoutingConfig"); rc && !rc->is_null()) {
    const json* w = rc->is_object() ? JsonField(*rc, "AdditionalVersionWeights") : nullptr;
    if (!rc->is_object() || (w && !w->is_null() && !w->is_object())) {
      return InvalidArgument(
          "RoutingConfig must be {\"AdditionalVersionWeights\": {version: weight}}");
    }
    a.canary_version.reset();
    a.canary_weight = 0;
    if (w && w->is_object()) {
      if (w->size() > 1) return InvalidArgument("AdditionalVersionWeights: at most one version");
      for (const auto& [ver, weight] : w->items()) {
        if (!weight.is_number() || weight.get<double>() < 0 || weight.get<double>() > 1) {
          return InvalidArgument("AdditionalVersionWeights." + ver + " must be between 0 and 1");
        }
        a.canary_version = ver;
        a.canary_weight = weight.get<double>();
      }
    }
  }
  return Status::Ok();
}

Answer Aliases(Call& c) {
  const auto verb = c.req.method();
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  if (c.rest.size() == 1) {  // .../aliases
    if (verb == http::verb::get) {
      if (auto denied = Deny(c, auth::Action::kRead, "ListAliases")) return std::move(*denied);
      MLFAAS_ASSIGN_OR_RETURN(auto all, c.ctx.registry->ListAliases(c.function));
      json items = json::array();
      for (const auto& a : all) items.push_back(AliasJson(a));
      return Paged(c, std::move(items), "Aliases", "Name");
    }
    if (verb != http::verb::post) return InvalidArgument("use GET or POST on aliases");
    if (auto denied = Deny(c, auth::Action::kDeploy, "CreateAlias")) return std::move(*denied);
    MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
    AliasInfo a;
    a.function = c.function;
    std::optional<std::string> name;
    MLFAAS_RETURN_IF_ERROR(StringField(body, "Name", name));
    if (!name) return InvalidArgument("Name is required");
    a.name = *name;
    MLFAAS_RETURN_IF_ERROR(ApplyAliasFields(body, a));
    if (a.version.empty()) return InvalidArgument("FunctionVersion is required");
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo out, r.CreateAlias(a));
    return JsonAnswer(http::status::created, AliasJson(out));
  }
  const std::string& name = c.rest[1];
  if (verb == http::verb::get) {
    if (auto denied = Deny(c, auth::Action::kRead, "GetAlias")) return std::move(*denied);
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, c.ctx.registry->GetAlias(c.function, name));
    return JsonAnswer(http::status::ok, AliasJson(a));
  }
  if (verb == http::verb::put) {
    if (auto denied = Deny(c, auth::Action::kDeploy, "UpdateAlias")) return std::move(*denied);
    MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo a, c.ctx.registry->GetAlias(c.function, name));
    MLFAAS_RETURN_IF_ERROR(ApplyAliasFields(body, a));
    MLFAAS_ASSIGN_OR_RETURN(AliasInfo out, r.UpdateAlias(a));
    return JsonAnswer(http::status::ok, AliasJson(out));
  }
  if (verb == http::verb::delete_) {
    if (auto denied = Deny(c, auth::Action::kDeploy, "DeleteAlias")) return std::move(*denied);
    MLFAAS_RETURN_IF_ERROR(r.DeleteAlias(c.function, name));
    return NoContent();
  }
  return InvalidArgument("use GET, PUT or DELETE on an alias");
}

Answer Concurrency(Call& c) {
  const auto verb = c.req.method();
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, c.ctx.registry->GetFunction(c.function));
  FunctionConfig config = f.latest.config;
  if (verb == http::verb::get) {
    if (auto denied = Deny(c, auth::Action::kRead, "GetFunctionConcurrency")) {
      return std::move(*denied);
    }
    json out = json::object();
    if (config.reserved_concurrency)
      out["ReservedConcurrentExecutions"] = *config.reserved_concurrency;
    return JsonAnswer(http::status::ok, out);
  }
  const bool put = verb == http::verb::put;
  if (!put && verb != http::verb::delete_) return InvalidArgument("use GET, PUT or DELETE");
  if (auto denied = Deny(c, auth::Action::kDeploy,
                         put ? "PutFunctionConcurrency" : "DeleteFunctionConcurrency")) {
    return std::move(*denied);
  }
  if (put) {
    MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
    std::optional<int> n;
    MLFAAS_RETURN_IF_ERROR(IntField(body, "ReservedConcurrentExecutions", 0, 100000, n));
    if (!n) return InvalidArgument("ReservedConcurrentExecutions is required");
    config.reserved_concurrency = *n;
  } else {
    config.reserved_concurrency.reset();
  }
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_ASSIGN_OR_RETURN(f, r.UpdateConfig(c.function, config));
  if (!put) return NoContent();
  return JsonAnswer(http::status::ok,
                    {{"ReservedConcurrentExecutions", *config.reserved_concurrency}});
}

// Instances of (function, version) kept initialized right now, from the manager's status.
int ProvisionedReady(ApiContext& ctx, const std::string& function, const std::string& version) {
  int ready = 0;
  const json st = ctx.manager.StatusJson();
  for (const auto& f : st.value("functions", json::array())) {
    if (f.value("name", "") != function) continue;
    for (const auto& v : f.value("versions", json::array())) {
      if (v.value("version", "") != version) continue;
      for (const auto& i : v.value("instances", json::array())) {
        if (i.value("provisioned", false) && i.value("state", "") != "Starting") ++ready;
      }
    }
  }
  return ready;
}

Answer Provisioned(Call& c) {
  const auto verb = c.req.method();
  if (c.qualifier.empty() || c.qualifier == registry::kLatest) {
    return InvalidArgument("Qualifier must be a published version or an alias, not $LATEST");
  }
  // An alias stands for the version it points at (its primary).
  std::string version = c.qualifier;
  if (auto alias = c.ctx.registry->GetAlias(c.function, c.qualifier); alias.ok()) {
    version = alias->version;
  }
  if (verb == http::verb::get) {
    if (auto denied = Deny(c, auth::Action::kRead, "GetProvisionedConcurrencyConfig")) {
      return std::move(*denied);
    }
    MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, c.ctx.registry->GetVersion(c.function, version));
    const int n = v.config.provisioned_concurrency;
    if (n == 0) {
      return Response(LambdaError(http::status::not_found,
                                  "ProvisionedConcurrencyConfigNotFoundException",
                                  "No Provisioned Concurrency Config found for this function"));
    }
    const int ready = std::min(n, ProvisionedReady(c.ctx, c.function, version));
    return JsonAnswer(http::status::ok, {{"RequestedProvisionedConcurrentExecutions", n},
                                         {"AllocatedProvisionedConcurrentExecutions", ready},
                                         {"AvailableProvisionedConcurrentExecutions", ready},
                                         {"Status", ready >= n ? "READY" : "IN_PROGRESS"},
                                         {"LastModified", LambdaTime(v.created_at)}});
  }
  const bool put = verb == http::verb::put;
  if (!put && verb != http::verb::delete_) return InvalidArgument("use GET, PUT or DELETE");
  if (auto denied =
          Deny(c, auth::Action::kDeploy,
               put ? "PutProvisionedConcurrencyConfig" : "DeleteProvisionedConcurrencyConfig")) {
    return std::move(*denied);
  }
  int n = 0;
  if (put) {
    MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
    std::optional<int> want;
    MLFAAS_RETURN_IF_ERROR(IntField(body, "ProvisionedConcurrentExecutions", 1, 100000, want));
    if (!want) return InvalidArgument("ProvisionedConcurrentExecutions is required");
    n = *want;
  }
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_ASSIGN_OR_RETURN(VersionInfo v, r.SetProvisionedConcurrency(c.function, version, n));
  if (!put) return NoContent();
  return JsonAnswer(http::status::accepted, {{"RequestedProvisionedConcurrentExecutions", n},
                                             {"AllocatedProvisionedConcurrentExecutions", 0},
                                             {"AvailableProvisionedConcurrentExecutions", 0},
                                             {"Status", "IN_PROGRESS"},
                                             {"LastModified", LambdaTime(v.created_at)}});
}

Answer AccountSettings(Call& c) {
  MLFAAS_ASSIGN_OR_RETURN(auto all, c.ctx.registry->ListFunctions());
  int64_t total = 0, reserved = 0;
  std::set<std::string> digests;
  for (const auto& f : all) {
    if (f.latest.config.reserved_concurrency) reserved += *f.latest.config.reserved_concurrency;
    auto versions = c.ctx.registry->ListVersions(f.name);
    if (!versions.ok()) continue;
    for (const auto& v : *versions) digests.insert(v.code_digest);
  }
  for (const auto& d : digests) {
    if (auto path = c.ctx.registry->PackagePath(d); path.ok()) {
      std::error_code ec;
      const auto size = fs::file_size(*path, ec);
      if (!ec) total += static_cast<int64_t>(size);
    }
  }
  const int max = c.ctx.manager.StatusJson().value("max_instances", 0);
  return JsonAnswer(
      http::status::ok,
      {{"AccountLimit",
        {{"TotalCodeSize", 80530636800LL},
         {"CodeSizeUnzipped", 262144000},
         {"CodeSizeZipped", static_cast<int64_t>(kMaxZipBytes)},
         {"ConcurrentExecutions", max},
         {"UnreservedConcurrentExecutions", std::max<int64_t>(0, max - reserved)}}},
       {"AccountUsage",
        {{"TotalCodeSize", total}, {"FunctionCount", static_cast<int64_t>(all.size())}}}});
}

// /2017-03-31/tags/{function ARN}: mlfaas: settings of $LATEST as tags.
Answer Tags(Call& c) {
  const auto verb = c.req.method();
  const bool write = verb != http::verb::get;
  if (auto denied = Deny(c, write ? auth::Action::kDeploy : auth::Action::kRead,
                         verb == http::verb::get    ? "ListTags"
                         : verb == http::verb::post ? "TagResource"
                                                    : "UntagResource")) {
    return std::move(*denied);
  }
  MLFAAS_ASSIGN_OR_RETURN(FunctionInfo f, c.ctx.registry->GetFunction(c.function));
  if (verb == http::verb::get)
    return JsonAnswer(http::status::ok, {{"Tags", registry::MlfaasTags(f.latest.config)}});
  FunctionConfig config = f.latest.config;
  if (verb == http::verb::post) {
    MLFAAS_ASSIGN_OR_RETURN(json body, Body(c.req));
    const json* tags = JsonField(body, "Tags");
    if (!tags || !tags->is_object()) return InvalidArgument("Tags is required: {key: value}");
    MLFAAS_RETURN_IF_ERROR(ApplyTags(tags, config));
  } else if (verb == http::verb::delete_) {
    // ?tagKeys=a&tagKeys=b: each named setting goes back to its default.
    const FunctionConfig defaults;
    std::string_view q(c.req.target().data(), c.req.target().size());
    q = q.find('?') == std::string_view::npos ? "" : q.substr(q.find('?') + 1);
    while (!q.empty()) {
      const auto amp = q.find('&');
      std::string_view kv = q.substr(0, amp);
      q = amp == std::string_view::npos ? "" : q.substr(amp + 1);
      const auto eq = kv.find('=');
      if (kv.substr(0, eq) != "tagKeys" || eq == std::string_view::npos) continue;
      std::string key;
      if (!PercentDecode(kv.substr(eq + 1), key)) return InvalidArgument("malformed tagKeys");
      if (key == "mlfaas:idle-timeout")
        config.idle_timeout_s = defaults.idle_timeout_s;
      else if (key == "mlfaas:model-loading")
        config.model_loading = defaults.model_loading;
      else if (key == "mlfaas:reserved-concurrency")
        config.reserved_concurrency.reset();
      else if (key == "mlfaas:provisioned-concurrency")
        config.provisioned_concurrency = 0;
      else if (key == "mlfaas:max-concurrency-per-instance")
        config.max_concurrency_per_instance = defaults.max_concurrency_per_instance;
      else
        return InvalidArgument("tag " + key + " does not exist");
    }
  } else {
    return InvalidArgument("use GET, POST or DELETE on tags");
  }
  MLFAAS_RETURN_IF_ERROR(registry::ValidateConfig(config));
  auto reg = c.audited();
  registry::Registry& r = reg ? *reg : *c.ctx.registry;
  MLFAAS_RETURN_IF_ERROR(r.UpdateConfig(c.function, config).status());
  return NoContent();
}

// Lambda's API dates: a path under one of them that no route matches is an unsupported
// operation, not a missing route.
bool IsLambdaApiPath(std::string_view path) {
  for (std::string_view date :
       {"/2014-11-13/", "/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/",
        "/2018-10-31/", "/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/",
        "/2021-07-20/", "/2021-10-31/", "/2022-07-20/", "/2023-06-30/", "/2024-08-31/"}) {
    if (path.starts_with(date)) return true;
  }
  return false;
}

// Accepts a function name or a function ARN (arn:aws:lambda:r:a:function:name[:q]).
std::string FunctionFromNameOrArn(const std::string& raw, std::string* qualifier = nullptr) {
  constexpr std::string_view kMarker = ":function:";
  std::string name = raw;
  if (auto p = raw.find(kMarker); raw.starts_with("arn:") && p != std::string::npos) {
    name = raw.substr(p + kMarker.size());
  }
  if (auto colon = name.find(':'); colon != std::string::npos) {
    if (qualifier) *qualifier = name.substr(colon + 1);
    name.resize(colon);
  }
  return name;
}

// Which operation a request is; nullptr when it is none of the supported ones.
using Op = Answer (*)(Call&);
Op Match(Call& c, const std::vector<std::string>& seg) {
  const auto verb = c.req.method();
  const std::string& date = seg[0];
  if (date == "2016-08-19" && seg.size() >= 2 && seg[1] == "account-settings" &&
      (seg.size() == 2 || (seg.size() == 3 && seg[2].empty())) && verb == http::verb::get) {
    return AccountSettings;
  }
  if (date == "2017-03-31" && seg.size() == 3 && seg[1] == "tags") {
    c.function = FunctionFromNameOrArn(seg[2]);
    return Tags;
  }
  if (seg.size() < 2 || seg[1] != "functions") return nullptr;
  if (date == "2015-03-31" && (seg.size() == 2 || (seg.size() == 3 && seg[2].empty()))) {
    if (verb == http::verb::post) return CreateFunction;
    if (verb == http::verb::get) return ListFunctions;
    return nullptr;
  }
  if (seg.size() < 3) return nullptr;
  std::string from_name;
  c.function = FunctionFromNameOrArn(seg[2], &from_name);
  if (c.qualifier.empty()) c.qualifier = from_name;
  c.rest.assign(seg.begin() + 3, seg.end());
  const std::string what = c.rest.empty() ? "" : c.rest[0];
  if (date == "2015-03-31") {
    if (c.rest.empty()) {
      if (verb == http::verb::get) return GetFunction;
      if (verb == http::verb::delete_) return DeleteFunction;
      return nullptr;
    }
    if (c.rest.size() == 1 && what == "configuration") {
      if (verb == http::verb::get) return GetConfiguration;
      if (verb == http::verb::put) return UpdateConfiguration;
      return nullptr;
    }
    if (c.rest.size() == 1 && what == "code" && verb == http::verb::put) return UpdateCode;
    if (c.rest.size() == 1 && what == "versions") {
      if (verb == http::verb::post) return PublishVersion;
      if (verb == http::verb::get) return ListVersions;
      return nullptr;
    }
    if (what == "aliases" && c.rest.size() <= 2) return Aliases;
    return nullptr;
  }
  if ((date == "2017-10-31" || date == "2019-09-30") && c.rest.size() == 1 &&
      what == "concurrency") {
    return Concurrency;
  }
  if (date == "2019-09-30" && c.rest.size() == 1 && what == "provisioned-concurrency") {
    return Provisioned;
  }
  return nullptr;
}

}  // namespace

bool IsControlPlaneUpload(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return path == "/2015-03-31/functions" || path == "/2015-03-31/functions/" ||
         (path.starts_with("/2015-03-31/functions/") && path.ends_with("/code"));
}

bool HandleControlApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  if (!IsLambdaApiPath(path)) return false;
  if (!ctx.registry) return false;  // no control plane in this gateway
  std::vector<std::string> seg;
  if (!PathSegments(path, seg)) {
    respond(BadParam("malformed percent-escape in the request path"));
    return true;
  }
  Call call{ctx, req, who, "", "", {}};
  if (!QueryParam(target, "Qualifier", call.qualifier)) {
    respond(BadParam("malformed Qualifier: bad percent-escape"));
    return true;
  }
  Op op = Match(call, seg);
  if (!op) {
    respond(LambdaError(http::status::bad_request, "UnsupportedOperationException",
                        "mlfaas does not support " + std::string(req.method_string()) + " " +
                            std::string(path) +
                            " (see docs/api.md, Control plane, for the supported operations)"));
    return true;
  }
  // Names are checked before any scope: what is authorized is what is acted on.
  if (op != CreateFunction && op != ListFunctions && op != AccountSettings) {
    if (!ValidFunctionName(call.function)) {
      respond(BadParam("invalid function name: use 1-64 letters, digits, '-' or '_' (or its ARN)"));
      return true;
    }
    if (!call.qualifier.empty() && !ValidQualifier(call.qualifier)) {
      respond(BadParam("invalid Qualifier: use $LATEST, a version number or an alias name"));
      return true;
    }
  }
  if (ctx.shutting_down.load(std::memory_order_relaxed)) {
    respond(LambdaError(http::status::service_unavailable, "ServiceException",
                        "the gateway is shutting down"));
    return true;
  }
  // The request lives in the session until answered; the work keeps its own copy of the call.
  auto shared_req = std::make_shared<Request>(std::move(req));
  auto principal = std::make_shared<Principal>(who);
  Offload(ctx, respond, [&ctx, shared_req, principal, call = std::move(call), op]() mutable {
    Call c{ctx,
           *shared_req,
           *principal,
           std::move(call.function),
           std::move(call.qualifier),
           std::move(call.rest)};
    Answer a = op(c);
    return a.ok() ? std::move(a).value() : StatusResponse(a.status());
  });
  return true;
}

}  // namespace mlfaas::gateway
