#include "registry/feedback.h"

#include <cmath>
#include <cstdint>
#include <set>

#include "common/json.h"
#include "common/sha256.h"

namespace mlfaas::registry {
namespace {

using nlohmann::json;

// Deepest nesting a valid body has: {"rows": [{"features": {...}}]}.
constexpr int kMaxFeedbackDepth = 4;

Status RowError(size_t i, const std::string& what) {
  return InvalidArgument("rows[" + std::to_string(i) + "]: " + what);
}

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

StatusOr<FeedbackRow> ParseRow(const json& r, size_t i, const std::vector<std::string>& features,
                               const FeedbackLimits& limits) {
  if (!r.is_object()) return RowError(i, "must be an object with id, label and features");
  for (const auto& [key, value] : r.items()) {
    (void)value;
    if (key != "id" && key != "label" && key != "features") {
      return RowError(i, "unknown field '" + key + "' (expected id, label, features)");
    }
  }
  FeedbackRow row;
  const json* id = JsonField(r, "id");
  if (id == nullptr || !id->is_string()) return RowError(i, "id must be a string");
  row.id = id->get_ref<const std::string&>();
  if (row.id.empty() || row.id.size() > limits.max_id_bytes || !IsPrintableAscii(row.id)) {
    return RowError(
        i, "id must be 1.." + std::to_string(limits.max_id_bytes) + " printable ASCII characters");
  }
  const json* label = JsonField(r, "label");
  if (label == nullptr) return RowError(i, "label is missing");
  if (label->is_boolean()) {
    row.label = label->get<bool>() ? 1 : 0;
  } else if (label->is_number_integer() && (*label == 0 || *label == 1)) {
    row.label = *label == 1 ? 1 : 0;
  } else if (label->is_number_float() &&
             (label->get<double>() == 0.0 || label->get<double>() == 1.0)) {
    row.label = label->get<double>() == 1.0 ? 1 : 0;
  } else {
    return RowError(i, "label must be 0 or 1");
  }
  const json* f = JsonField(r, "features");
  if (f == nullptr || !f->is_object()) return RowError(i, "features must be an object");
  if (f->size() > limits.max_features) {
    return RowError(i, "has more than " + std::to_string(limits.max_features) + " features");
  }
  for (const auto& [name, value] : f->items()) {
    if (!value.is_number()) return RowError(i, "features." + name + " must be a number");
    const double v = value.get<double>();
    if (!std::isfinite(v)) return RowError(i, "features." + name + " must be finite");
    if (!features.empty()) {
      bool known = false;
      for (const std::string& want : features) known = known || want == name;
      if (!known) return RowError(i, "unknown feature '" + name + "'");
    }
    row.features[name] = v;
  }
  for (const std::string& want : features) {
    if (row.features.count(want) == 0) return RowError(i, "features." + want + " is missing");
  }
  return row;
}

}  // namespace

StatusOr<std::vector<FeedbackRow>> ParseFeedback(std::string_view body,
                                                 const std::vector<std::string>& features,
                                                 const FeedbackLimits& limits) {
  auto parsed = ParseJson(body, kMaxFeedbackDepth);
  if (!parsed.ok()) return InvalidArgument("the body is " + parsed.status().message());
  const json& doc = *parsed;
  if (!doc.is_object()) return InvalidArgument("the body must be an object with a rows array");
  for (const auto& [key, value] : doc.items()) {
    (void)value;
    if (key != "rows") return InvalidArgument("unknown field '" + key + "' (expected rows)");
  }
  const json* rows = JsonField(doc, "rows");
  if (rows == nullptr || !rows->is_array()) return InvalidArgument("rows must be an array");
  if (rows->empty()) return InvalidArgument("rows is empty");
  if (rows->size() > limits.max_rows) {
    return InvalidArgument("more than " + std::to_string(limits.max_rows) + " rows in one request");
  }
  std::vector<FeedbackRow> out;
  out.reserve(rows->size());
  std::set<std::string> ids;
  for (size_t i = 0; i < rows->size(); ++i) {
    MLFAAS_ASSIGN_OR_RETURN(FeedbackRow row, ParseRow((*rows)[i], i, features, limits));
    if (!ids.insert(row.id).second) return RowError(i, "id '" + row.id + "' appears twice");
    out.push_back(std::move(row));
  }
  return out;
}

bool IsHeldOut(std::string_view id, double share) {
  const std::string hex = Sha256Hex(id);
  const uint64_t v = std::stoull(hex.substr(0, 16), nullptr, 16);
  // v / 2^64 < share, without rounding v to a double first for share = 0 or 1.
  if (share <= 0) return false;
  if (share >= 1) return true;
  return static_cast<long double>(v) < static_cast<long double>(share) * 18446744073709551616.0L;
}

}  // namespace mlfaas::registry
