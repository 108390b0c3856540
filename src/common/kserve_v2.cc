#include "common/kserve_v2.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "common/json.h"

namespace mlfaas::kserve {
namespace {

using nlohmann::json;

// Outputs() and the messages below know the two outputs by position.
static_assert(std::size(kOutputs) == 2);

// Client-chosen names and shapes in messages are cut to this many characters.
constexpr size_t kMaxInMessageChars = 64;
// Dimensions of a request tensor (the two forms need 1 or 2).
constexpr size_t kMaxTensorRank = 8;

std::string CutForMessage(std::string_view s) {
  std::string out(s.substr(0, kMaxInMessageChars));
  if (s.size() > kMaxInMessageChars) out += "...";
  return out;
}

std::string QuotedName(std::string_view name) { return "'" + CutForMessage(name) + "'"; }

// The V2 datatypes whose values are numbers: the models take float64.
bool IsNumericDatatype(std::string_view t) {
  static constexpr std::string_view kNumeric[] = {"INT8",  "INT16",  "INT32",  "INT64",
                                                  "UINT8", "UINT16", "UINT32", "UINT64",
                                                  "FP16",  "FP32",   "FP64"};
  return std::find(std::begin(kNumeric), std::end(kNumeric), t) != std::end(kNumeric);
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string TooManyValues() {
  return "the request holds more than " + std::to_string(kMaxTensorElements) + " values";
}

std::string EventTooLarge(size_t rows) {
  return "the request is too large: its " + std::to_string(rows) +
         " rows make an event over 6 MiB (Lambda's payload limit); send fewer rows";
}

// One entry of "inputs", checked.
struct V2Input {
  std::string name;
  std::string where;  // "inputs[i] ('name')", for messages
  std::optional<std::vector<uint64_t>> shape;
  const json* data = nullptr;
};

StatusOr<V2Input> ReadV2Input(const json& in, size_t i) {
  V2Input out;
  const std::string at = "inputs[" + std::to_string(i) + "]";
  if (!in.is_object()) return InvalidArgument(at + " is not an object");
  auto name = JsonString(in, "name");
  if (!name) return InvalidArgument(at + ": missing \"name\"");
  out.name = std::move(*name);
  out.where = at + " (" + QuotedName(out.name) + ")";
  const json* data = JsonField(in, "data");
  if (!data || !data->is_array()) return InvalidArgument(out.where + ": missing \"data\"");
  out.data = data;
  if (const json* type = JsonField(in, "datatype"); type && !type->is_null()) {
    if (!type->is_string()) return InvalidArgument(out.where + ": \"datatype\" is not a string");
    const auto& t = type->get_ref<const std::string&>();
    if (!IsNumericDatatype(t)) {
      return InvalidArgument(out.where + ": datatype " + QuotedName(t) +
                             " is not numeric; the model takes numbers (FP64, FP32, INT64, "
                             "INT32, ...)");
    }
  }
  const json* shape = JsonField(in, "shape");
  if (!shape || shape->is_null()) return out;
  if (!shape->is_array() || shape->empty() || shape->size() > kMaxTensorRank) {
    return InvalidArgument(out.where + ": \"shape\" must be a list of 1 to " +
                           std::to_string(kMaxTensorRank) + " dimensions, e.g. [2, 3]");
  }
  std::vector<uint64_t> dims;
  uint64_t product = 1;
  for (const json& d : *shape) {
    if (!d.is_number_integer() || (!d.is_number_unsigned() && d.get<int64_t>() < 0)) {
      return InvalidArgument(out.where + ": shape " + CutForMessage(DumpJson(*shape)) +
                             " must hold non-negative integers");
    }
    const uint64_t v =
        d.is_number_unsigned() ? d.get<uint64_t>() : static_cast<uint64_t>(d.get<int64_t>());
    // Each factor and the running product stay <= 2^20: no overflow.
    if (v > kMaxTensorElements || (product *= v) > kMaxTensorElements) {
      return InvalidArgument(out.where + ": shape " + CutForMessage(DumpJson(*shape)) +
                             " is too large: " + TooManyValues());
    }
    dims.push_back(v);
  }
  out.shape = std::move(dims);
  return out;
}

// Appends the leaves of `in.data` in row-major order to `out`, without recursion (the nesting is
// the client's), keeping `out` at most kMaxTensorElements long. Flat data (no array inside) is
// taken as it is. Nested data must have exactly the input's shape when it has one; without a
// shape, any nesting is read in row-major order.
Status FlattenTensorData(const V2Input& in, std::vector<const json*>& out) {
  const json& data = *in.data;
  const bool nested =
      std::any_of(data.begin(), data.end(), [](const json& e) { return e.is_array(); });
  if (!nested) {
    if (out.size() + data.size() > kMaxTensorElements) {
      return InvalidArgument(in.where + ": " + TooManyValues());
    }
    for (const json& e : data) out.push_back(&e);
    return Status::Ok();
  }
  const std::vector<uint64_t>* shape = in.shape ? &*in.shape : nullptr;
  struct Frame {
    const json* node;
    size_t depth;
    size_t next;
  };
  std::vector<Frame> stack{{&data, 0, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (shape && f.next == 0) {
      const bool want_array = f.depth < shape->size();
      if (f.node->is_array() != want_array || (want_array && f.node->size() != (*shape)[f.depth])) {
        return InvalidArgument(in.where + ": nested \"data\" does not have the shape " +
                               ShapeText(*shape) + " (send it flat or nested as the shape says)");
      }
    }
    if (!f.node->is_array()) {
      if (out.size() >= kMaxTensorElements) {
        return InvalidArgument(in.where + ": " + TooManyValues());
      }
      out.push_back(f.node);
      stack.pop_back();
    } else if (f.next < f.node->size()) {
      const json* child = &(*f.node)[f.next++];
      stack.push_back({child, f.depth + 1, 0});
    } else {
      stack.pop_back();
    }
  }
  return Status::Ok();
}

// Flat data must hold exactly the values its shape says (nested data was checked by
// FlattenTensorData).
Status CheckValueCount(const V2Input& in, size_t count) {
  if (!in.shape) return Status::Ok();
  uint64_t want = 1;
  for (uint64_t d : *in.shape) want *= d;  // <= kMaxTensorElements (ReadV2Input)
  if (count != want) {
    return InvalidArgument(in.where + ": shape " + ShapeText(*in.shape) + " says " +
                           std::to_string(want) + " values, \"data\" has " + std::to_string(count));
  }
  return Status::Ok();
}

// {"instances":[{key: value, ...}, ...]} with `keys` (each a JSON string followed by ':') and
// `cell(row, column)`, within kMaxEventBytes.
template <typename Cell>
StatusOr<std::string> WriteEvent(const std::vector<std::string>& keys, size_t rows, Cell cell) {
  // Every row takes its braces, keys and separators and at least a byte per value: refuse at
  // once what cannot fit, before writing anything.
  size_t row_floor = 2 + 2 * keys.size();
  for (const std::string& k : keys) row_floor += k.size();
  if (rows > kMaxEventBytes / row_floor) return InvalidArgument(EventTooLarge(rows));
  std::string event = "{\"instances\":[";
  event.reserve(std::min(kMaxEventBytes, rows * row_floor + 16));
  for (size_t r = 0; r < rows; ++r) {
    event += r == 0 ? "{" : ",{";
    for (size_t c = 0; c < keys.size(); ++c) {
      if (c > 0) event += ',';
      event += keys[c];
      event += DumpJson(*cell(r, c));
    }
    event += '}';
    if (event.size() > kMaxEventBytes) return InvalidArgument(EventTooLarge(rows));
  }
  event += "]}";
  if (event.size() > kMaxEventBytes) return InvalidArgument(EventTooLarge(rows));
  return event;
}

std::string EventKey(const std::string& name) { return DumpJson(json(name)) + ":"; }

// "outputs":[{"name": ...}, ...]: the names asked for, each a known output, once.
StatusOr<std::vector<std::string>> RequestedOutputs(const json& body) {
  std::vector<std::string> names;
  const json* outputs = JsonField(body, "outputs");
  if (!outputs || outputs->is_null()) return names;
  if (!outputs->is_array()) {
    return InvalidArgument("\"outputs\" must be a list of {\"name\": ...}");
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    const std::string at = "outputs[" + std::to_string(i) + "]";
    auto name = JsonString((*outputs)[i], "name");
    if (!name) return InvalidArgument(at + ": missing \"name\"");
    const bool known = std::any_of(std::begin(kOutputs), std::end(kOutputs),
                                   [&name](const OutputSpec& o) { return o.name == *name; });
    if (!known) {
      return InvalidArgument(at + ": unknown output " + QuotedName(*name) + "; the model has '" +
                             std::string(kOutputs[0].name) + "' and '" +
                             std::string(kOutputs[1].name) + "'");
    }
    if (std::find(names.begin(), names.end(), *name) != names.end()) {
      return InvalidArgument(at + ": output " + QuotedName(*name) + " is asked for twice");
    }
    names.push_back(std::move(*name));
  }
  return names;
}

// A feature list for messages: "(a, b, c)", cut after a few names.
std::string FeatureList(const std::vector<std::string>& features) {
  constexpr size_t kShown = 8;
  std::string s = "(";
  for (size_t i = 0; i < features.size() && i < kShown; ++i) {
    if (i > 0) s += ", ";
    s += CutForMessage(features[i]);
  }
  if (features.size() > kShown) s += ", ...";
  return s + ")";
}

// One input [N, F], columns in the declared feature order.
StatusOr<std::string> TensorEvent(const V2Input& in, const std::vector<std::string>& features,
                                  size_t& rows) {
  const std::vector<uint64_t>& shape = *in.shape;
  if (features.empty()) {
    return InvalidArgument(in.where + ": a tensor of shape " + ShapeText(shape) +
                           " needs the model's feature list, and this model declares none; "
                           "send one input per feature");
  }
  if (shape[1] != features.size()) {
    return InvalidArgument(in.where + ": shape " + ShapeText(shape) + " has " +
                           std::to_string(shape[1]) + " columns; the model takes " +
                           std::to_string(features.size()) + " features " + FeatureList(features) +
                           ", in that order");
  }
  if (shape[0] == 0)
    return InvalidArgument(in.where + ": shape " + ShapeText(shape) + " has no rows");
  std::vector<const json*> flat;
  MLFAAS_RETURN_IF_ERROR(FlattenTensorData(in, flat));
  MLFAAS_RETURN_IF_ERROR(CheckValueCount(in, flat.size()));
  const size_t cols = features.size();
  for (size_t i = 0; i < flat.size(); ++i) {
    if (!flat[i]->is_number()) {
      return InvalidArgument(in.where + ": the value at row " + std::to_string(i / cols) +
                             ", column " + std::to_string(i % cols) + " ('" +
                             CutForMessage(features[i % cols]) + "') is not a number");
    }
  }
  rows = shape[0];
  std::vector<std::string> keys;
  keys.reserve(cols);
  for (const std::string& f : features) keys.push_back(EventKey(f));
  return WriteEvent(keys, rows, [&flat, cols](size_t r, size_t c) { return flat[r * cols + c]; });
}

// One input per feature, shape [N] or [N, 1]; the values go to the function as they are (it
// names what it refuses).
StatusOr<std::string> PerFeatureEvent(const std::vector<V2Input>& inputs, size_t& rows) {
  std::vector<std::vector<const json*>> columns(inputs.size());
  std::map<std::string_view, size_t> seen;
  size_t total = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const V2Input& in = inputs[i];
    if (auto [it, fresh] = seen.emplace(in.name, i); !fresh) {
      return InvalidArgument(in.where + " repeats inputs[" + std::to_string(it->second) + "]");
    }
    if (in.shape && !(in.shape->size() == 1 || (in.shape->size() == 2 && (*in.shape)[1] == 1))) {
      return InvalidArgument(in.where + ": shape " + ShapeText(*in.shape) +
                             " is not a feature column: send one input per feature with shape "
                             "[N] or [N, 1], or a single input of shape [N, F]");
    }
    std::vector<const json*>& column = columns[i];
    MLFAAS_RETURN_IF_ERROR(FlattenTensorData(in, column));
    MLFAAS_RETURN_IF_ERROR(CheckValueCount(in, column.size()));
    if (i > 0 && column.size() != columns[0].size()) {
      return InvalidArgument(in.where + " has " + std::to_string(column.size()) +
                             " values, inputs[0] has " + std::to_string(columns[0].size()));
    }
    if ((total += column.size()) > kMaxTensorElements) {
      return InvalidArgument(in.where + ": " + TooManyValues());
    }
  }
  rows = columns[0].size();
  if (rows == 0) return InvalidArgument(inputs[0].where + " has no values");
  std::vector<std::string> keys;
  keys.reserve(inputs.size());
  for (const V2Input& in : inputs) keys.push_back(EventKey(in.name));
  return WriteEvent(keys, rows, [&columns](size_t r, size_t c) { return columns[c][r]; });
}

}  // namespace

bool NeedsFeatures(const json& body) {
  const json* inputs = JsonField(body, "inputs");
  if (!inputs || !inputs->is_array() || inputs->size() != 1) return false;
  const json* shape = JsonField((*inputs)[0], "shape");
  return shape && shape->is_array() && shape->size() == 2;
}

StatusOr<InferRequest> ToEvent(const json& body, const std::vector<std::string>& features) {
  const json* inputs = JsonField(body, "inputs");
  if (!inputs || !inputs->is_array() || inputs->empty()) {
    return InvalidArgument(
        "expected {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}");
  }
  InferRequest out;
  MLFAAS_ASSIGN_OR_RETURN(out.outputs, RequestedOutputs(body));
  if (const json* id = JsonField(body, "id")) out.id = *id;
  std::vector<V2Input> read;
  read.reserve(std::min<size_t>(inputs->size(), 64));
  for (size_t i = 0; i < inputs->size(); ++i) {
    MLFAAS_ASSIGN_OR_RETURN(V2Input in, ReadV2Input((*inputs)[i], i));
    read.push_back(std::move(in));
  }
  const V2Input& first = read[0];
  if (read.size() == 1 && first.shape && first.shape->size() == 2) {
    const bool column = (*first.shape)[1] == 1 &&
                        (features.empty() ||
                         std::find(features.begin(), features.end(), first.name) != features.end());
    out.tensor = !column;
  }
  if (out.tensor) {
    MLFAAS_ASSIGN_OR_RETURN(out.event, TensorEvent(first, features, out.rows));
  } else {
    MLFAAS_ASSIGN_OR_RETURN(out.event, PerFeatureEvent(read, out.rows));
  }
  return out;
}

StatusOr<json> Outputs(const json& predictions, const std::vector<std::string>& requested) {
  if (!predictions.is_array()) return InvalidArgument("\"predictions\" is not an array");
  // One data array per output, in kOutputs' order.
  json data[std::size(kOutputs)] = {json::array(), json::array()};
  for (const json& p : predictions) {
    auto probability = JsonNumber(p, "probability");
    auto anomaly = JsonBool(p, "anomaly");
    if (!probability || !anomaly) {
      return InvalidArgument("predictions[" + std::to_string(data[0].size()) +
                             "] lacks a numeric \"probability\" or a boolean \"anomaly\"");
    }
    data[0].push_back(*probability);
    data[1].push_back(*anomaly);
  }
  const size_t n = predictions.size();
  std::vector<size_t> order;
  for (const std::string& name : requested) {
    const auto* spec = std::find_if(std::begin(kOutputs), std::end(kOutputs),
                                    [&name](const OutputSpec& o) { return o.name == name; });
    const size_t k = static_cast<size_t>(spec - std::begin(kOutputs));
    if (spec == std::end(kOutputs) || std::find(order.begin(), order.end(), k) != order.end()) {
      return InvalidArgument("output " + QuotedName(name) + " is unknown or asked for twice");
    }
    order.push_back(k);
  }
  if (order.empty()) {
    for (size_t k = 0; k < std::size(kOutputs); ++k) order.push_back(k);
  }
  json out = json::array();
  for (size_t k : order) {
    out.push_back({{"name", std::string(kOutputs[k].name)},
                   {"datatype", std::string(kOutputs[k].datatype)},
                   {"shape", json::array({n})},
                   {"data", std::move(data[k])}});
  }
  return out;
}

json InputsMetadata(const std::vector<std::string>& features) {
  json inputs = json::array();
  for (const std::string& f : features) {
    inputs.push_back({{"name", f}, {"datatype", "FP64"}, {"shape", json::array({-1})}});
  }
  return inputs;
}

json OutputsMetadata() {
  json outputs = json::array();
  for (const OutputSpec& o : kOutputs) {
    outputs.push_back({{"name", std::string(o.name)},
                       {"datatype", std::string(o.datatype)},
                       {"shape", json::array({-1})}});
  }
  return outputs;
}

}  // namespace mlfaas::kserve
