// JSON for bytes from outside the process (clients, functions, files on disk): bounded and
// exception-free.
//
// nlohmann's parser and destructor are iterative, but dump(), copies and comparisons recurse once
// per nesting level. ParseJson therefore refuses documents nested deeper than a bound *before*
// parsing them, so everything done later with the value recurses at most that deep. The
// accessors below check types instead of throwing (json::value() and get<T>() throw
// type_error when a field has an unexpected type, which a hostile sender controls).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas {

// Deepest nesting of arrays/objects accepted from outside ([[1]] is depth 2).
inline constexpr int kMaxJsonDepth = 128;

// Nesting depth of `text` (0 for a scalar), without recursion. Counting stops once it exceeds
// `limit` (returns limit + 1). Brackets inside strings do not count. Meaningful only for text
// that is valid JSON; never fails.
int JsonNestingDepth(std::string_view text, int limit = kMaxJsonDepth);

// Checks `text` is one JSON value nested at most `max_depth` deep, with nothing after it but
// whitespace. Otherwise InvalidArgument with a message that completes "the body is ...":
// "not valid JSON: <the parser's detail>" or "nested deeper than N levels". Never throws; does
// not build a value.
Status ValidateJson(std::string_view text, int max_depth = kMaxJsonDepth);

// True when `text` is certainly what ValidateJson accepts: one RFC 8259 value nested at most
// `max_depth` deep, strings of well-formed UTF-8 with well-formed escapes, numbers without an
// exponent of at most 300 characters. False means "not certain" (anything else, valid or
// not). One pass, no recursion, no allocation up to 15 levels of nesting. ValidateJson's fast
// path; the full parser decides the rest.
bool JsonCertainlyValid(std::string_view text, int max_depth = kMaxJsonDepth);

// Parses one JSON value (same rules as ValidateJson). Never throws.
StatusOr<nlohmann::json> ParseJson(std::string_view text, int max_depth = kMaxJsonDepth);

// Serializes without throwing: invalid UTF-8 in strings becomes U+FFFD.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

// {"errorMessage": message, "errorType": type}: a Lambda function error, serialized safely.
std::string ErrorJson(std::string_view type, std::string_view message);

// Type-checked field access on a value of any type: `fallback` (or nullopt) when `j` is not an
// object, lacks `key`, or the field has another type.
std::optional<std::string> JsonString(const nlohmann::json& j, std::string_view key);
std::string JsonString(const nlohmann::json& j, std::string_view key, std::string_view fallback);
std::optional<double> JsonNumber(const nlohmann::json& j, std::string_view key);
std::optional<int64_t> JsonInt(const nlohmann::json& j, std::string_view key);
std::optional<bool> JsonBool(const nlohmann::json& j, std::string_view key);
// The field itself (any type), or nullptr.
const nlohmann::json* JsonField(const nlohmann::json& j, std::string_view key);

}  // namespace mlfaas
