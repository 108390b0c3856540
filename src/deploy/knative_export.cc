#include "deploy/knative_export.h"

#include <cctype>
#include <cmath>
#include <map>
#include <vector>

#include "common/model_loading.h"
#include "deploy/yaml_text.h"

namespace mlfaas::deploy {
namespace {

using registry::AliasInfo;
using registry::FunctionConfig;

constexpr size_t kMaxLabel = 63;  // DNS label length, also Kubernetes names of revisions

// [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDns1035Label(const std::string& s) {
  if (s.empty() || s.size() > kMaxLabel || s[0] < 'a' || s[0] > 'z' || s.back() == '-') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string Kubernetesish(const std::string& name) {
  std::string out;
  for (char c : name) out += c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return out;
}

struct Target {
  std::string tag;       // "" for none
  std::string revision;  // "" with latest
  bool latest = false;
  int percent = 0;
};

std::string RevisionName(const std::string& service, const std::string& version) {
  return service + "-v" + version;
}

StatusOr<std::string> TagFor(const AliasInfo& a, const std::string& service) {
  std::string tag = Kubernetesish(a.name);
  if (!IsDns1035Label(tag) || tag.size() + 1 + service.size() > kMaxLabel) {
    return InvalidArgument("alias '" + a.name + "' cannot be a Knative tag: '" + tag + "-" +
                           service + "' must be a DNS-1035 label of at most 63 characters");
  }
  return tag;
}

// The traffic block: the alias the export went through carries the split of its canary; else
// the exported revision takes it all. Every alias is a tag on its primary version's revision.
StatusOr<std::vector<Target>> Traffic(const ExportInput& in, const std::string& service,
                                      std::vector<std::string>& warnings) {
  std::vector<Target> targets;
  std::map<std::string, std::string> tags;  // tag -> alias
  const bool latest = !IsVersionNumber(in.version.version);
  if (in.via_alias.empty()) {
    targets.push_back({"", latest ? "" : RevisionName(service, in.version.version), latest, 100});
  }
  for (const AliasInfo& a : in.aliases) {
    MLFAAS_ASSIGN_OR_RETURN(std::string tag, TagFor(a, service));
    if (auto [it, fresh] = tags.emplace(tag, a.name); !fresh) {
      return InvalidArgument("aliases '" + it->second + "' and '" + a.name +
                             "' give the same Knative tag '" + tag + "'");
    }
    const bool canary = a.canary_version && *a.canary_version != a.version;
    if (a.name != in.via_alias) {
      targets.push_back({tag, RevisionName(service, a.version), false, 0});
      if (canary && a.canary_weight > 0) {
        warnings.push_back("alias " + a.name + "'s canary (version " + *a.canary_version +
                           ") is not routed: a Knative tag names one revision; export " +
                           in.version.function + ":" + a.name + " to split the traffic");
      }
      continue;
    }
    const int canary_percent = canary ? static_cast<int>(std::lround(a.canary_weight * 100.0)) : 0;
    if (canary && a.canary_weight > 0 && canary_percent == 0) {
      warnings.push_back("alias " + a.name + "'s canary weight rounds to 0%");
    }
    targets.push_back({tag, RevisionName(service, a.version), false, 100 - canary_percent});
    if (canary) {
      targets.push_back({"", RevisionName(service, *a.canary_version), false, canary_percent});
    }
  }
  return targets;
}

void EmitAnnotations(YAML::Emitter& out, const FunctionConfig& c,
                     std::vector<std::string>& warnings) {
  out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
  if (c.provisioned_concurrency > 0) {
    yaml::Str(out, "autoscaling.knative.dev/min-scale", std::to_string(c.provisioned_concurrency));
  }
  if (c.reserved_concurrency && *c.reserved_concurrency > 0) {
    yaml::Str(out, "autoscaling.knative.dev/max-scale", std::to_string(*c.reserved_concurrency));
  } else if (c.reserved_concurrency) {
    warnings.push_back(
        "reserved concurrency 0 (no invocations) has no Knative counterpart "
        "(max-scale 0 means unbounded); left out");
  }
  int retention = c.idle_timeout_s;
  if (retention > kMaxRetentionSeconds) {
    warnings.push_back("idle timeout " + std::to_string(retention) +
                       "s exceeds Knative's 1h bound on scale-to-zero-pod-retention-period; "
                       "using 3600s");
    retention = kMaxRetentionSeconds;
  }
  yaml::Str(out, "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
            std::to_string(retention) + "s");
  out << YAML::EndMap;
}

// The worker's environment contract (docs/runtime.md) as mlfaas serve would set it.
std::map<std::string, std::string> ContainerEnv(const ExportInput& in) {
  const FunctionConfig& c = in.version.config;
  std::map<std::string, std::string> env = c.environment;
  auto loading = ParseModelLoading(c.model_loading);
  if (loading && *loading != ModelLoading::kInit) {
    env[kModelLoadingEnv] = ModelLoadingName(*loading);
  }
  env["_HANDLER"] = c.handler;
  env["AWS_LAMBDA_FUNCTION_NAME"] = in.version.function;
  env["AWS_LAMBDA_FUNCTION_VERSION"] = in.version.version;
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(c.memory_mb);
  if (c.max_concurrency_per_instance > 1) {
    env["AWS_LAMBDA_MAX_CONCURRENCY"] = std::to_string(c.max_concurrency_per_instance);
  }
  return env;
}

void EmitResources(YAML::Emitter& out, const FunctionConfig& c) {
  out << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
  for (const char* kind : {"requests", "limits"}) {
    out << YAML::Key << kind << YAML::Value << YAML::BeginMap;
    yaml::Str(out, "cpu", std::to_string(MilliCpuFor(c.memory_mb)) + "m");
    yaml::Str(out, "memory", std::to_string(c.memory_mb) + "Mi");
    yaml::Str(out, "ephemeral-storage", std::to_string(c.ephemeral_storage_mb) + "Mi");
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void EmitContainer(YAML::Emitter& out, const ExportInput& in, const KnativeOptions& o) {
  out << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  yaml::Str(out, "name", "function");
  yaml::Str(out, "image", o.image);
  out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  yaml::Str(out, "name", "http1");
  yaml::Int(out, "containerPort", kHttpPort);
  out << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
  for (const auto& [k, v] : ContainerEnv(in)) {
    out << YAML::BeginMap;
    yaml::Str(out, "name", k);
    yaml::Str(out, "value", v);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  EmitResources(out, in.version.config);
  out << YAML::EndMap << YAML::EndSeq;
}

void EmitTraffic(YAML::Emitter& out, const std::vector<Target>& targets) {
  out << YAML::Key << "traffic" << YAML::Value << YAML::BeginSeq;
  for (const Target& t : targets) {
    out << YAML::BeginMap;
    if (!t.tag.empty()) yaml::Str(out, "tag", t.tag);
    if (t.latest) {
      out << YAML::Key << "latestRevision" << YAML::Value << true;
    } else {
      yaml::Str(out, "revisionName", t.revision);
    }
    yaml::Int(out, "percent", t.percent);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

}  // namespace

StatusOr<std::string> KnativeServiceName(const std::string& function) {
  std::string name = Kubernetesish(function);
  // Room for "-v" and a version number in revision names.
  if (!IsDns1035Label(name) || name.size() > kMaxLabel - 8) {
    return InvalidArgument("function name '" + function + "' gives '" + name +
                           "', no Knative service name (a DNS-1035 label of at most 55 "
                           "characters); choose one with --name");
  }
  return name;
}

int MilliCpuFor(int memory_mb) {
  return static_cast<int>((static_cast<long long>(memory_mb) * 1000 + kMbPerVcpu - 1) / kMbPerVcpu);
}

StatusOr<Generated> KnativeService(const ExportInput& in, const KnativeOptions& o) {
  MLFAAS_RETURN_IF_ERROR(ValidateExportInput(in));
  if (o.image.empty() || o.image.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("--image must be an image reference without whitespace");
  }
  MLFAAS_RETURN_IF_ERROR(CheckUtf8(o.image, "--image"));
  std::string service = o.service_name;
  if (service.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(service, KnativeServiceName(in.version.function));
  } else if (!IsDns1035Label(service) || service.size() > kMaxLabel - 8) {
    return InvalidArgument("--name '" + service +
                           "' must be a DNS-1035 label of at most 55 characters");
  }
  Generated g;
  MLFAAS_ASSIGN_OR_RETURN(std::vector<Target> targets, Traffic(in, service, g.warnings));
  const FunctionConfig& c = in.version.config;
  YAML::Emitter out;
  yaml::Setup(out);
  out << YAML::BeginMap;
  yaml::Str(out, "apiVersion", "serving.knative.dev/v1");
  yaml::Str(out, "kind", "Service");
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  yaml::Str(out, "name", service);
  out << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  if (IsVersionNumber(in.version.version)) {
    yaml::Str(out, "name", RevisionName(service, in.version.version));
  }
  EmitAnnotations(out, c, g.warnings);
  out << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  yaml::Int(out, "containerConcurrency", c.max_concurrency_per_instance);
  yaml::Int(out, "timeoutSeconds", c.timeout_s);
  EmitContainer(out, in, o);
  out << YAML::EndMap << YAML::EndMap;
  EmitTraffic(out, targets);
  out << YAML::EndMap << YAML::EndMap;
  MLFAAS_ASSIGN_OR_RETURN(g.text, yaml::Finish(out));
  if (c.timeout_s > 600) {
    g.warnings.push_back("timeout " + std::to_string(c.timeout_s) +
                         "s exceeds Knative's default max-revision-timeout-seconds (600)");
  }
  if (c.max_concurrency_per_instance > 1000) {
    g.warnings.push_back(
        "per-instance concurrency above Knative's default "
        "container-concurrency-max-limit (1000)");
  }
  return g;
}

std::string Containerfile(const ExportInput& in) {
  const std::string root = kTaskRoot;
  const std::string port = std::to_string(kHttpPort);
  return "# mlfaas function " + in.version.function + ", version " + in.version.version +
         " (exported by " + in.producer +
         ").\n"
         "# Build in this directory: podman build -t IMAGE .\n"
         "# The bootstrap is the static mlfaas runtime, so the image needs no base.\n"
         "FROM scratch\n"
         "COPY bootstrap " +
         root +
         "/bootstrap\n"
         "COPY manifest.json " +
         root +
         "/manifest.json\n"
         "ENV LAMBDA_TASK_ROOT=" +
         root +
         "\n"
         "WORKDIR " +
         root +
         "\n"
         "USER 65532:65532\n"
         "EXPOSE " +
         port +
         "\n"
         "ENTRYPOINT [\"" +
         root + "/bootstrap\", \"--http\", \":" + port + "\"]\n";
}

}  // namespace mlfaas::deploy
