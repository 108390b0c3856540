#include <nlohmann/json.hpp>

#include "loadtest/session.h"

namespace mlfaas::loadtest {
namespace {

// Resolves "$.a.b[0].c" in `doc`; nullptr when a step is missing.
const nlohmann::json* Lookup(const nlohmann::json& doc, const std::string& path) {
  const nlohmann::json* cur = &doc;
  size_t i = 1;  // skip '$'
  while (i < path.size() && cur) {
    if (path[i] == '.') {
      size_t j = i + 1;
      while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      const std::string key = path.substr(i + 1, j - i - 1);
      cur = cur->is_object() && cur->contains(key) ? &(*cur)[key] : nullptr;
      i = j;
    } else if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) return nullptr;
      const std::string idx = path.substr(i + 1, close - i - 1);
      if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      const size_t n = std::stoul(idx);
      cur = cur->is_array() && n < cur->size() ? &(*cur)[n] : nullptr;
      i = close + 1;
    } else {
      return nullptr;
    }
  }
  return cur;
}

bool JsonMatches(const nlohmann::json& value, const std::string& expected_json) {
  const nlohmann::json expected = nlohmann::json::parse(expected_json, nullptr, false);
  if (value == expected) return true;
  // Numbers compare by value (1 == 1.0).
  return value.is_number() && expected.is_number() && value.get<double>() == expected.get<double>();
}

}  // namespace

std::string CheckAssertions(const RequestSpec& r, int status, const std::string& body) {
  for (const ContainsAssertion& a : r.asserts) {
    const std::string subject =
        a.subject == ContainsAssertion::Subject::kBody ? body : std::to_string(status);
    for (const std::string& needle : a.contains) {
      const bool found = subject.find(needle) != std::string::npos;
      if (found == a.invert) {
        return (a.invert ? "unexpected '" : "missing '") + needle + "' in " +
               (a.subject == ContainsAssertion::Subject::kBody ? "body" : "http-code");
      }
    }
  }
  if (r.json_asserts.empty()) return "";
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return "body is not JSON";
  for (const JsonAssertion& a : r.json_asserts) {
    const nlohmann::json* v = Lookup(doc, a.path);
    bool ok = v != nullptr && (!a.expected || JsonMatches(*v, *a.expected));
    if (ok == a.invert) {
      return a.path + (v ? " = " + v->dump() : std::string(" missing")) +
             (a.expected ? " (expected " + std::string(a.invert ? "not " : "") + *a.expected + ")"
                         : "");
    }
  }
  return "";
}

}  // namespace mlfaas::loadtest
