// What an export is made from: one version of a function (its configuration) and the function's
// aliases, as read from the registry. The generators in this folder are pure functions of it, so
// they are tested without a registry (docs/deploy/aws-lambda.md, docs/deploy/knative.md).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"

namespace mlfaas::deploy {

struct ExportInput {
  // The exported version: its `function`, `version` ("$LATEST" or "1", "2", ...) and `config`.
  registry::VersionInfo version;
  // Every alias of the function (each points at published versions).
  std::vector<registry::AliasInfo> aliases;
  // The alias the export was asked for (FUNCTION:ALIAS), empty for a version or $LATEST. Its
  // primary version is `version`; Knative gives it the service's traffic split.
  std::string via_alias;
  // The mlfaas release writing the files, for comments ("mlfaas 0.1.0").
  std::string producer = "mlfaas";
};

// Generated text plus the caveats of the mapping (one line each, for stderr).
struct Generated {
  std::string text;
  std::vector<std::string> warnings;
};

// True when `version` is a published version number ("1", "2", ...).
bool IsVersionNumber(const std::string& version);

// InvalidArgument unless `s` is well-formed UTF-8 (what YAML requires of every scalar); `what`
// names the value in the message.
Status CheckUtf8(const std::string& s, const std::string& what);

// Checks the input's own consistency: a function name, the aliases belong to it, canary
// weights in [0, 1], and every user string valid UTF-8.
Status ValidateExportInput(const ExportInput& in);

}  // namespace mlfaas::deploy
