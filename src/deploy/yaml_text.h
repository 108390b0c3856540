// Small helpers over yaml-cpp's emitter for the generated manifests: every string the user
// controls is written double-quoted with non-ASCII escaped, so quotes, newlines, ": ", "#",
// numbers-looking text ("123", "true", "null") and any Unicode stay one string scalar.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "common/status.h"

namespace mlfaas::deploy::yaml {

// An emitter set up for the manifests (2-space indent, non-ASCII escaped).
void Setup(YAML::Emitter& out);
// key: "value" (double-quoted)
void Str(YAML::Emitter& out, const std::string& key, const std::string& value);
// key: 123
void Int(YAML::Emitter& out, const std::string& key, long long value);
// key: {Ref: name}
void Ref(YAML::Emitter& out, const std::string& key, const std::string& name);
// key: {Fn::GetAtt: [resource, attribute]}
void GetAtt(YAML::Emitter& out, const std::string& key, const std::string& resource,
            const std::string& attribute);
// The document text, or Internal with yaml-cpp's error when the emitter failed.
StatusOr<std::string> Finish(const YAML::Emitter& out);

}  // namespace mlfaas::deploy::yaml
