#include "common/json.h"

#include <cstring>

#include "common/utf8.h"

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

namespace {

bool IsWhitespace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The \uXXXX escape at p[i] (p[i] == 'u'): its code unit, or -1.
int Utf16Unit(const unsigned char* p, size_t i, size_t n) {
  if (i + 5 > n) return -1;
  int v = 0;
  for (size_t k = 1; k <= 4; ++k) {
    const int h = HexValue(p[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

}  // namespace

bool JsonCertainlyValid(std::string_view text, int max_depth) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  // The open containers, innermost last: '{' or '['. Bounded by max_depth.
  std::string open;
  auto skip_ws = [&] {
    while (i < n && IsWhitespace(p[i])) ++i;
  };
  // A string from its opening quote; false if malformed (or anything this check leaves to the
  // full parser).
  auto string = [&]() -> bool {
    ++i;  // the opening quote
    for (;;) {
      // Plain printable ASCII in bulk: the common case.
      while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') ++i;
      if (i >= n) return false;
      const unsigned char c = p[i];
      if (c == '"') {
        ++i;
        return true;
      }
      if (c < 0x20) return false;  // control characters must be escaped
      if (c >= 0x80) {
        const size_t len = Utf8SequenceLength(p, i, n);
        if (len == 0) return false;
        i += len;
        continue;
      }
      // A backslash.
      if (i + 1 >= n) return false;
      const unsigned char e = p[i + 1];
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
          e == 't') {
        i += 2;
        continue;
      }
      if (e != 'u') return false;
      const int unit = Utf16Unit(p, i + 1, n);
      if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;  // lone low surrogate
      i += 6;
      if (unit >= 0xD800 && unit <= 0xDBFF) {  // must be followed by a low surrogate
        if (i + 1 >= n || p[i] != '\\' || p[i + 1] != 'u') return false;
        const int low = Utf16Unit(p, i + 1, n);
        if (low < 0xDC00 || low > 0xDFFF) return false;
        i += 6;
      }
    }
  };
  // A number: only the forms no double can overflow (no exponent, at most 300 digits); the
  // rest is left to the full parser.
  auto number = [&]() -> bool {
    const size_t start = i;
    if (p[i] == '-') ++i;
    if (i >= n || !IsDigit(p[i])) return false;
    if (p[i] == '0') {
      ++i;
    } else {
      while (i < n && IsDigit(p[i])) ++i;
    }
    if (i < n && p[i] == '.') {
      ++i;
      if (i >= n || !IsDigit(p[i])) return false;
      while (i < n && IsDigit(p[i])) ++i;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) return false;
    return i - start <= 300;
  };
  auto literal = [&](std::string_view word) -> bool {
    if (text.substr(i, word.size()) != word) return false;
    i += word.size();
    return true;
  };
  // A value starts at p[i] (after whitespace); containers are opened here and closed below.
  for (;;) {
    skip_ws();
    if (i >= n) return false;
    bool scalar_done = true;
    switch (p[i]) {
      case '"':
        if (!string()) return false;
        break;
      case 't':
        if (!literal("true")) return false;
        break;
      case 'f':
        if (!literal("false")) return false;
        break;
      case 'n':
        if (!literal("null")) return false;
        break;
      case '{':
      case '[': {
        if (static_cast<int>(open.size()) >= max_depth) return false;
        const bool object = p[i] == '{';
        open.push_back(static_cast<char>(p[i]));
        ++i;
        skip_ws();
        if (i < n && p[i] == (object ? '}' : ']')) {  // empty
          open.pop_back();
          ++i;
          break;
        }
        if (object) {  // the first member's key
          if (i >= n || p[i] != '"' || !string()) return false;
          skip_ws();
          if (i >= n || p[i] != ':') return false;
          ++i;
        }
        scalar_done = false;  // the first element or member value follows
        break;
      }
      default:
        if (p[i] != '-' && !IsDigit(p[i])) return false;
        if (!number()) return false;
    }
    if (!scalar_done) continue;
    // After a value: close containers, or go on to the next element or member.
    for (;;) {
      skip_ws();
      if (open.empty()) return i == n;
      if (i >= n) return false;
      const bool object = open.back() == '{';
      if (p[i] == (object ? '}' : ']')) {
        open.pop_back();
        ++i;
        continue;
      }
      if (p[i] != ',') return false;
      ++i;
      if (object) {
        skip_ws();
        if (i >= n || p[i] != '"' || !string()) return false;
        skip_ws();
        if (i >= n || p[i] != ':') return false;
        ++i;
      }
      break;  // the next value
    }
  }
}

Status ValidateJson(std::string_view text, int max_depth) {
  // Every invocation's payload comes through here: the common case is answered by one pass
  // without allocation; anything it is not sure of goes to nlohmann's parser, whose verdict
  // and message stand.
  if (JsonCertainlyValid(text, max_depth)) return Status::Ok();
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
