// `mlfaas export knative`: a Knative Serving Service for one function version (its revision),
// with the aliases as traffic tags, and the Containerfile of its image. docs/deploy/knative.md
// has the mapping and its limits.
#pragma once

#include <string>

#include "common/status.h"
#include "deploy/export_input.h"

namespace mlfaas::deploy {

// Where the image keeps the function (LAMBDA_TASK_ROOT) and the port of the HTTP adapter.
inline constexpr const char* kTaskRoot = "/var/task";
inline constexpr int kHttpPort = 8080;
// mlfaas's (and Lambda's) CPU share: one vCPU per 1,769 MB of memory.
inline constexpr int kMbPerVcpu = 1769;
// Knative's bound on scale-to-zero-pod-retention-period (autoscaling WindowMax).
inline constexpr int kMaxRetentionSeconds = 3600;

struct KnativeOptions {
  std::string image;         // the image reference (required)
  std::string service_name;  // empty: derived from the function name (KnativeServiceName)
};

// The Kubernetes name of the function's Service: the function name lowercased with '_' as '-';
// InvalidArgument when that is no DNS-1035 label short enough for "<name>-v<N>" revisions.
StatusOr<std::string> KnativeServiceName(const std::string& function);

// CPU millicores for `memory_mb` at kMbPerVcpu, rounded up.
int MilliCpuFor(int memory_mb);

// The service.yaml text. The exported version N is the revision "<service>-vN"
// (spec.template.metadata.name); alias tags refer to the revisions of their versions, which
// must have been deployed by earlier exports. $LATEST gets a generated revision name.
StatusOr<Generated> KnativeService(const ExportInput& in, const KnativeOptions& options);

// The Containerfile text: FROM scratch, bootstrap and manifest.json under kTaskRoot, the
// runtime's HTTP adapter on kHttpPort as entrypoint.
std::string Containerfile(const ExportInput& in);

}  // namespace mlfaas::deploy
