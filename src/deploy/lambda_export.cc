#include "deploy/lambda_export.h"

#include <sys/stat.h>
#include <zip.h>

#include <cctype>
#include <map>
#include <set>
#include <string>

#include "common/model_loading.h"
#include "deploy/yaml_text.h"

namespace mlfaas::deploy {
namespace {

using registry::AliasInfo;
using registry::FunctionConfig;

// What the template needs to know beyond the input, decided once.
struct SamPlan {
  const ExportInput* in = nullptr;
  // max_concurrency_per_instance > 1: Lambda Managed Instances (a capacity provider).
  bool managed = false;
  // Provisioned concurrency on a default (non-managed) function: AutoPublishAlias.
  bool auto_publish = false;
  std::string auto_alias;  // the AutoPublishAlias name
  // The exported version when it is a number ("" for $LATEST).
  std::string exported;
  // Other mlfaas versions the aliases reference (each a template parameter).
  std::set<int> foreign;
};

std::string ParamFor(const std::string& version) { return "LambdaVersionOfV" + version; }

// A name no alias has: "mlfaas-v3" or "mlfaas-latest", "-auto" appended until unique.
std::string AutoAliasName(const ExportInput& in) {
  std::string name = IsVersionNumber(in.version.version) ? "mlfaas-v" + in.version.version
                                                         : std::string("mlfaas-latest");
  auto taken = [&](const std::string& n) {
    for (const AliasInfo& a : in.aliases) {
      if (a.name == n) return true;
    }
    return false;
  };
  while (taken(name)) name += "-auto";
  return name;
}

SamPlan MakePlan(const ExportInput& in) {
  SamPlan p;
  p.in = &in;
  const FunctionConfig& c = in.version.config;
  p.managed = c.max_concurrency_per_instance > 1;
  p.auto_publish = !p.managed && c.provisioned_concurrency > 0;
  if (p.auto_publish) p.auto_alias = AutoAliasName(in);
  if (IsVersionNumber(in.version.version)) p.exported = in.version.version;
  for (const AliasInfo& a : in.aliases) {
    if (a.version != p.exported) p.foreign.insert(std::stoi(a.version));
    if (a.canary_version && *a.canary_version != p.exported) {
      p.foreign.insert(std::stoi(*a.canary_version));
    }
  }
  return p;
}

// key: <the Lambda version number holding mlfaas version `v`>
void VersionValue(YAML::Emitter& out, const SamPlan& p, const std::string& key,
                  const std::string& v) {
  if (v != p.exported) {
    yaml::Ref(out, key, ParamFor(v));
  } else if (p.auto_publish) {
    yaml::GetAtt(out, key, std::string(kSamFunctionId) + ".Version", "Version");
  } else {
    yaml::GetAtt(out, key, "Version" + v, "Version");
  }
}

void EmitParameters(YAML::Emitter& out, const SamPlan& p) {
  if (p.foreign.empty() && !p.managed) return;
  out << YAML::Key << "Parameters" << YAML::Value << YAML::BeginMap;
  for (int v : p.foreign) {
    const std::string n = std::to_string(v);
    out << YAML::Key << ParamFor(n) << YAML::Value << YAML::BeginMap;
    yaml::Str(out, "Type", "String");
    yaml::Str(out, "AllowedPattern", "^[0-9]+$");
    yaml::Str(out, "Description",
              "The Lambda version number that holds mlfaas version " + n + " (output " +
                  ParamFor(n) + " of its own export's stack)");
    out << YAML::EndMap;
  }
  if (p.managed) {
    out << YAML::Key << "CapacityProviderSubnetIds" << YAML::Value << YAML::BeginMap;
    yaml::Str(out, "Type", "List<AWS::EC2::Subnet::Id>");
    yaml::Str(out, "Description", "Subnets for the Lambda Managed Instances capacity provider");
    out << YAML::EndMap;
    out << YAML::Key << "CapacityProviderSecurityGroupIds" << YAML::Value << YAML::BeginMap;
    yaml::Str(out, "Type", "List<AWS::EC2::SecurityGroup::Id>");
    yaml::Str(out, "Description", "Security groups of the capacity provider's instances");
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void EmitEnvironment(YAML::Emitter& out, const FunctionConfig& c) {
  std::map<std::string, std::string> env = c.environment;
  auto loading = ParseModelLoading(c.model_loading);
  if (loading && *loading != ModelLoading::kInit) {
    env[kModelLoadingEnv] = ModelLoadingName(*loading);
  }
  if (env.empty()) return;
  out << YAML::Key << "Environment" << YAML::Value << YAML::BeginMap << YAML::Key << "Variables"
      << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : env) yaml::Str(out, k, v);
  out << YAML::EndMap << YAML::EndMap;
}

// Concurrency: reserved and provisioned on a default function; on Lambda Managed Instances
// (which refuse ProvisionedConcurrencyConfig) the capacity provider and the scaling bounds.
void EmitConcurrency(YAML::Emitter& out, const SamPlan& p) {
  const FunctionConfig& c = p.in->version.config;
  if (!p.managed) {
    if (c.reserved_concurrency)
      yaml::Int(out, "ReservedConcurrentExecutions", *c.reserved_concurrency);
    if (p.auto_publish) {
      yaml::Str(out, "AutoPublishAlias", p.auto_alias);
      out << YAML::Key << "ProvisionedConcurrencyConfig" << YAML::Value << YAML::BeginMap;
      yaml::Int(out, "ProvisionedConcurrentExecutions", c.provisioned_concurrency);
      out << YAML::EndMap;
    }
    return;
  }
  out << YAML::Key << "CapacityProviderConfig" << YAML::Value << YAML::BeginMap;
  yaml::GetAtt(out, "Arn", kSamCapacityProviderId, "Arn");
  yaml::Int(out, "PerExecutionEnvironmentMaxConcurrency", c.max_concurrency_per_instance);
  out << YAML::EndMap;
  if (c.provisioned_concurrency > 0 || c.reserved_concurrency) {
    out << YAML::Key << "FunctionScalingConfig" << YAML::Value << YAML::BeginMap;
    if (c.provisioned_concurrency > 0) {
      yaml::Int(out, "MinExecutionEnvironments", c.provisioned_concurrency);
    }
    if (c.reserved_concurrency) yaml::Int(out, "MaxExecutionEnvironments", *c.reserved_concurrency);
    out << YAML::EndMap;
  }
}

const char* Architecture() {
#if defined(__aarch64__)
  return "arm64";
#else
  return "x86_64";
#endif
}

void EmitFunction(YAML::Emitter& out, const SamPlan& p) {
  const registry::VersionInfo& v = p.in->version;
  const FunctionConfig& c = v.config;
  out << YAML::Key << kSamFunctionId << YAML::Value << YAML::BeginMap;
  yaml::Str(out, "Type", "AWS::Serverless::Function");
  out << YAML::Key << "Properties" << YAML::Value << YAML::BeginMap;
  yaml::Str(out, "FunctionName", v.function);
  if (!c.description.empty()) yaml::Str(out, "Description", c.description);
  yaml::Str(out, "Runtime", "provided.al2023");
  yaml::Str(out, "Handler", c.handler);
  yaml::Str(out, "CodeUri", kSamCodeUri);
  out << YAML::Key << "Architectures" << YAML::Value << YAML::BeginSeq << YAML::DoubleQuoted
      << Architecture() << YAML::EndSeq;
  yaml::Int(out, "MemorySize", c.memory_mb);
  yaml::Int(out, "Timeout", c.timeout_s);
  out << YAML::Key << "EphemeralStorage" << YAML::Value << YAML::BeginMap;
  yaml::Int(out, "Size", c.ephemeral_storage_mb);
  out << YAML::EndMap;
  EmitEnvironment(out, c);
  EmitConcurrency(out, p);
  out << YAML::EndMap << YAML::EndMap;
}

void EmitCapacityProvider(YAML::Emitter& out) {
  out << YAML::Key << kSamCapacityProviderId << YAML::Value << YAML::BeginMap;
  yaml::Str(out, "Type", "AWS::Serverless::CapacityProvider");
  out << YAML::Key << "Properties" << YAML::Value << YAML::BeginMap << YAML::Key << "VpcConfig"
      << YAML::Value << YAML::BeginMap;
  yaml::Ref(out, "SubnetIds", "CapacityProviderSubnetIds");
  yaml::Ref(out, "SecurityGroupIds", "CapacityProviderSecurityGroupIds");
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
}

// The exported version as an AWS::Lambda::Version that outlives the stack's next update, so
// aliases of later exports can still point at it.
void EmitVersion(YAML::Emitter& out, const SamPlan& p) {
  out << YAML::Key << "Version" + p.exported << YAML::Value << YAML::BeginMap;
  yaml::Str(out, "Type", "AWS::Lambda::Version");
  yaml::Str(out, "DeletionPolicy", "Retain");
  yaml::Str(out, "UpdateReplacePolicy", "Retain");
  out << YAML::Key << "Properties" << YAML::Value << YAML::BeginMap;
  yaml::Ref(out, "FunctionName", kSamFunctionId);
  yaml::Str(out, "Description", "mlfaas version " + p.exported);
  out << YAML::EndMap << YAML::EndMap;
}

// "Alias" + the alias name's letters and digits (the first upper-cased), unique among `used`.
std::string AliasId(const std::string& name, std::set<std::string>& used) {
  std::string id = "Alias";
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) continue;
    id += id.size() == 5 ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch;
  }
  std::string unique = id;
  for (int n = 2; used.count(unique) > 0; ++n) unique = id + std::to_string(n);
  used.insert(unique);
  return unique;
}

void EmitAlias(YAML::Emitter& out, const SamPlan& p, const AliasInfo& a, const std::string& id) {
  out << YAML::Key << id << YAML::Value << YAML::BeginMap;
  yaml::Str(out, "Type", "AWS::Lambda::Alias");
  out << YAML::Key << "Properties" << YAML::Value << YAML::BeginMap;
  yaml::Ref(out, "FunctionName", kSamFunctionId);
  VersionValue(out, p, "FunctionVersion", a.version);
  yaml::Str(out, "Name", a.name);
  if (!a.description.empty()) yaml::Str(out, "Description", a.description);
  if (a.canary_version && *a.canary_version != a.version && a.canary_weight > 0.0) {
    out << YAML::Key << "RoutingConfig" << YAML::Value << YAML::BeginMap << YAML::Key
        << "AdditionalVersionWeights" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    VersionValue(out, p, "FunctionVersion", *a.canary_version);
    out << YAML::Key << "FunctionWeight" << YAML::Value << a.canary_weight;
    out << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
}

void EmitOutputs(YAML::Emitter& out, const SamPlan& p) {
  out << YAML::Key << "Outputs" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "FunctionArn" << YAML::Value << YAML::BeginMap;
  yaml::GetAtt(out, "Value", kSamFunctionId, "Arn");
  out << YAML::EndMap;
  if (!p.exported.empty()) {
    out << YAML::Key << ParamFor(p.exported) << YAML::Value << YAML::BeginMap;
    yaml::Str(out, "Description",
              "The Lambda version number holding mlfaas version " + p.exported + " (parameter " +
                  ParamFor(p.exported) + " of other versions' exports)");
    VersionValue(out, p, "Value", p.exported);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

std::vector<std::string> SamWarnings(const SamPlan& p) {
  std::vector<std::string> w;
  const FunctionConfig& c = p.in->version.config;
  if (ParseModelLoading(c.model_loading) == ModelLoading::kSnapshot) {
    w.push_back(
        "model loading 'snapshot' needs mlfaas's snapshot templates; on Lambda it acts "
        "as 'init'");
  }
  for (int v : p.foreign) {
    w.push_back("aliases use mlfaas version " + std::to_string(v) + ": deploy its export first " +
                "and pass its Lambda version number as parameter " + ParamFor(std::to_string(v)));
  }
  if (p.managed) {
    w.push_back("per-instance concurrency " + std::to_string(c.max_concurrency_per_instance) +
                " runs on Lambda Managed Instances: pass CapacityProviderSubnetIds and "
                "CapacityProviderSecurityGroupIds");
  }
  if (c.retrain_every_s > 0 || c.retrain_after_labels > 0) {
    w.push_back("automatic retraining is an mlfaas gateway feature; it is not exported");
  }
  return w;
}

}  // namespace

StatusOr<Generated> SamTemplate(const ExportInput& in) {
  MLFAAS_RETURN_IF_ERROR(ValidateExportInput(in));
  const SamPlan p = MakePlan(in);
  YAML::Emitter out;
  yaml::Setup(out);
  out << YAML::BeginMap;
  yaml::Str(out, "AWSTemplateFormatVersion", "2010-09-09");
  yaml::Str(out, "Transform", "AWS::Serverless-2016-10-31");
  yaml::Str(out, "Description",
            "mlfaas function " + in.version.function + ", version " + in.version.version +
                " (exported by " + in.producer + ")");
  EmitParameters(out, p);
  out << YAML::Key << "Resources" << YAML::Value << YAML::BeginMap;
  EmitFunction(out, p);
  if (p.managed) EmitCapacityProvider(out);
  if (!p.exported.empty() && !p.auto_publish) EmitVersion(out, p);
  std::set<std::string> ids;
  for (const AliasInfo& a : in.aliases) EmitAlias(out, p, a, AliasId(a.name, ids));
  out << YAML::EndMap;
  EmitOutputs(out, p);
  out << YAML::EndMap;
  MLFAAS_ASSIGN_OR_RETURN(std::string text, yaml::Finish(out));
  return Generated{std::move(text), SamWarnings(p)};
}

namespace {

// libzip's error text, then the archive discarded (nothing is written).
Status ZipFailure(zip_t* za, const std::string& what) {
  std::string msg = what + ": " + zip_strerror(za);
  zip_discard(za);
  return Internal(msg);
}

// 2020-01-01 00:00 as MS-DOS date and time: reproducible archives.
constexpr zip_uint16_t kZipDate = ((2020 - 1980) << 9) | (1 << 5) | 1;
constexpr zip_uint16_t kZipTime = 0;

Status AddEntry(zip_t* za, zip_source_t* src, const char* name, uint32_t mode) {
  if (src == nullptr) return ZipFailure(za, std::string("zip source for ") + name);
  zip_int64_t idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8);
  if (idx < 0) {
    zip_source_free(src);
    return ZipFailure(za, std::string("zip add ") + name);
  }
  auto i = static_cast<zip_uint64_t>(idx);
  if (zip_set_file_compression(za, i, ZIP_CM_DEFLATE, 9) != 0 ||
      zip_file_set_dostime(za, i, kZipTime, kZipDate, 0) != 0 ||
      zip_file_set_external_attributes(za, i, 0, ZIP_OPSYS_UNIX, (S_IFREG | mode) << 16) != 0) {
    return ZipFailure(za, std::string("zip attributes of ") + name);
  }
  return Status::Ok();
}

}  // namespace

Status WriteLambdaZip(const std::filesystem::path& zip_path,
                      const std::filesystem::path& bootstrap_path,
                      const std::string& manifest_json) {
  int err = 0;
  zip_t* za = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  if (za == nullptr) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string msg = "cannot create " + zip_path.string() + ": " + zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return Internal(msg);
  }
  MLFAAS_RETURN_IF_ERROR(
      AddEntry(za, zip_source_file(za, bootstrap_path.c_str(), 0, -1), "bootstrap", 0755));
  MLFAAS_RETURN_IF_ERROR(
      AddEntry(za, zip_source_buffer(za, manifest_json.data(), manifest_json.size(), 0),
               "manifest.json", 0644));
  if (zip_close(za) != 0) return ZipFailure(za, "cannot write " + zip_path.string());
  return Status::Ok();
}

}  // namespace mlfaas::deploy
