#include "common/json.h"

#include <cstring>

namespace mlfaas {
namespace {

using nlohmann::json;

Status Malformed(std::string_view what) {
  return InvalidArgument("not valid JSON: " + std::string(what));
}

// Depth check and NUL check shared by ValidateJson and ParseJson (the parse itself catches
// every other defect).
Status Precheck(std::string_view text, int max_depth) {
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
    return Malformed("it contains a NUL byte");
  }
  if (JsonNestingDepth(text, max_depth) > max_depth) {
    return InvalidArgument("nested deeper than " + std::to_string(max_depth) + " levels");
  }
  return Status::Ok();
}

}  // namespace

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > limit) return limit + 1;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

Status ValidateJson(std::string_view text, int max_depth) {
  MLFAAS_RETURN_IF_ERROR(Precheck(text, max_depth));
  if (json::accept(text.begin(), text.end())) return Status::Ok();
  return ParseJson(text, max_depth).status();  // the parser's own description of the defect
}

StatusOr<json> ParseJson(std::string_view text, int max_depth) {
  MLFAAS_RETURN_IF_ERROR(Precheck(text, max_depth));
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." minus the tag.
    std::string_view what = e.what();
    if (auto tag = what.find("] "); what.starts_with("[json.") && tag != what.npos) {
      what.remove_prefix(tag + 2);
    }
    return Malformed(what);
  }
}

std::string DumpJson(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string ErrorJson(std::string_view type, std::string_view message) {
  return DumpJson(json{{"errorMessage", message}, {"errorType", type}});
}

const json* JsonField(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<std::string> JsonString(const json& j, std::string_view key) {
  const json* f = JsonField(j, key);
  if (!f || !f->is_string()) return std::nullopt;
  return f->get_ref<const std::string&>();
}

std::string JsonString(const json& j, std::string_view key, std::string_view fallback) {
  auto s = JsonString(j, key);
  return s ? std::move(*s) : std::string(fallback);
}

std::optional<double> JsonNumber(const json& j, std::string_view key) {
  const json* f = JsonField(j, key);
  if (!f || !f->is_number()) return std::nullopt;
  return f->get<double>();
}

std::optional<int64_t> JsonInt(const json& j, std::string_view key) {
  const json* f = JsonField(j, key);
  if (!f || !f->is_number_integer()) return std::nullopt;
  if (f->is_number_unsigned() && f->get<uint64_t>() > uint64_t{INT64_MAX}) return std::nullopt;
  return f->get<int64_t>();
}

std::optional<bool> JsonBool(const json& j, std::string_view key) {
  const json* f = JsonField(j, key);
  if (!f || !f->is_boolean()) return std::nullopt;
  return f->get<bool>();
}

}  // namespace mlfaas
