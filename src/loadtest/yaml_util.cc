#include "loadtest/yaml_util.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace mlfaas::loadtest::yamlutil {
namespace {

std::string Show(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsDefined() && n.IsScalar()) return "'" + n.Scalar() + "'";
  return (n.IsDefined() && n.IsMap()) ? "a map" : "a list";
}

bool ParseInt(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  out = v;
  return true;
}

bool ParseDouble(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

Status Reader::Error(const YAML::Node& node, std::string_view what,
                     std::string_view message) const {
  std::ostringstream out;
  out << source_;
  if (node.IsDefined() && node.Mark().line >= 0) {
    out << ":" << node.Mark().line + 1 << ":" << node.Mark().column + 1;
  }
  out << ": " << what << ": " << message;
  return InvalidArgument(out.str());
}

StatusOr<std::string> Reader::String(const YAML::Node& n, std::string_view what) const {
  if (!(n.IsDefined() && n.IsScalar())) return Error(n, what, "expected a string, got " + Show(n));
  return n.Scalar();
}

StatusOr<int64_t> Reader::Int(const YAML::Node& n, std::string_view what, int64_t min) const {
  int64_t v = 0;
  if (!(n.IsDefined() && n.IsScalar()) || !ParseInt(n.Scalar(), v) || v < min) {
    return Error(n, what, "expected an integer >= " + std::to_string(min) + ", got " + Show(n));
  }
  return v;
}

StatusOr<double> Reader::Number(const YAML::Node& n, std::string_view what) const {
  double v = 0;
  if (!(n.IsDefined() && n.IsScalar()) || !ParseDouble(n.Scalar(), v) || v < 0) {
    return Error(n, what, "expected a non-negative number, got " + Show(n));
  }
  return v;
}

StatusOr<bool> Reader::Bool(const YAML::Node& n, std::string_view what) const {
  if (n.IsDefined() && n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return Error(n, what, "expected true or false, got " + Show(n));
}

StatusOr<Duration> Reader::Dur(const YAML::Node& n, std::string_view what) const {
  if (!(n.IsDefined() && n.IsScalar()))
    return Error(n, what, "expected a duration (90s, 3m, 500ms), got " + Show(n));
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) return Error(n, what, d.status().message());
  return d;
}

Status Reader::KnownKeys(const YAML::Node& n, std::string_view what,
                         std::initializer_list<std::string_view> allowed) const {
  if (!(n.IsDefined() && n.IsMap())) return Error(n, what, "expected a map, got " + Show(n));
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || key == a;
    if (ok) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return Error(kv.first, what, "unknown key '" + key + "', expected one of: " + list);
  }
  return Status::Ok();
}

nlohmann::json ToJson(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsDefined() && node.IsSequence()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& item : node) arr.push_back(ToJson(item));
    return arr;
  }
  if (node.IsDefined() && node.IsMap()) {
    nlohmann::json obj = nlohmann::json::object();
    for (const auto& kv : node) obj[kv.first.Scalar()] = ToJson(kv.second);
    return obj;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted
  int64_t i = 0;
  double d = 0;
  if (ParseInt(s, i)) return i;
  if (ParseDouble(s, d)) return d;
  if (s == "true" || s == "false") return s == "true";
  if (s == "null" || s == "~") return nullptr;
  return s;
}

Status ApplyOverride(YAML::Node root, std::string_view path, const std::string& value) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  YAML::Node node = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& key = parts[i];
    if (key.empty()) return InvalidArgument("-o " + std::string(path) + ": empty path element");
    int64_t index = 0;
    YAML::Node next;
    if (node.IsDefined() && node.IsSequence()) {
      if (!ParseInt(key, index) || index < 0 || index >= static_cast<int64_t>(node.size())) {
        return InvalidArgument("-o " + std::string(path) + ": '" + key +
                               "' is not an index of that list");
      }
      next = node[static_cast<size_t>(index)];
    } else {
      next = node[key];
    }
    if (i + 1 == parts.size()) {
      next = YAML::Load(value);
    } else {
      if (!next.IsDefined() || next.IsNull()) {
        node[key] = YAML::Node(YAML::NodeType::Map);
        next.reset(node[key]);
      }
      node.reset(next);
    }
  }
  return Status::Ok();
}

}  // namespace mlfaas::loadtest::yamlutil
