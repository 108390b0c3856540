#include "deploy/yaml_text.h"

namespace mlfaas::deploy::yaml {

void Setup(YAML::Emitter& out) {
  out.SetOutputCharset(YAML::EscapeNonAscii);
  out.SetIndent(2);
  out.SetDoublePrecision(6);
}

void Str(YAML::Emitter& out, const std::string& key, const std::string& value) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}

void Int(YAML::Emitter& out, const std::string& key, long long value) {
  out << YAML::Key << key << YAML::Value << value;
}

void Ref(YAML::Emitter& out, const std::string& key, const std::string& name) {
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  Str(out, "Ref", name);
  out << YAML::EndMap;
}

void GetAtt(YAML::Emitter& out, const std::string& key, const std::string& resource,
            const std::string& attribute) {
  out << YAML::Key << key << YAML::Value << YAML::BeginMap << YAML::Key << "Fn::GetAtt"
      << YAML::Value << YAML::Flow << YAML::BeginSeq << YAML::DoubleQuoted << resource
      << YAML::DoubleQuoted << attribute << YAML::EndSeq << YAML::EndMap;
}

StatusOr<std::string> Finish(const YAML::Emitter& out) {
  if (!out.good()) return Internal("cannot write YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace mlfaas::deploy::yaml
