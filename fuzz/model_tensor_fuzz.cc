// Fuzz target: a KServe V2 infer body, converted to the event a model function takes, without a
// gateway (gateway/frontend/kserve_v2.h): kserve::NeedsFeatures and kserve::ToEvent, then
// kserve::Outputs for the outputs asked for. The first byte picks the model's feature list (its
// value mod 4: none, one feature, kdd99's three, three names that need escaping); the rest is
// the body, parsed as the gateway parses it (ParseJson). The same bytes are also read as a
// manifest by FeaturesFromManifest (gateway/frontend/model_schema.h), and checked by
// JsonCertainlyValid (common/json.h), which may be sure only of bodies ParseJson accepts.
//
// Invariants: nothing throws; a refusal is InvalidArgument with a message. A converted request's
// event is JSON of at most kMaxEventBytes, {"instances": [...]} with `rows` (>= 1) objects; in the
// tensor form each row holds the features, in the declared order, with numbers; in the
// per-feature form each row holds the inputs' names in the inputs' order. A body that does not
// need the feature list converts the same under every list. A tensor converts to the very event
// its columns give when sent as one input per feature. The outputs asked for are known and
// distinct, and Outputs answers exactly those, in that order, each of shape [rows].
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "fuzz_util.h"
#include "gateway/frontend/kserve_v2.h"
#include "gateway/frontend/model_schema.h"

namespace {

using namespace mlfaas;
using nlohmann::json;
using nlohmann::ordered_json;
namespace kserve = gateway::kserve;

const std::vector<std::string>& FeatureList(uint8_t pick) {
  using Lists = std::array<std::vector<std::string>, 4>;
  static const Lists* const kLists = new Lists{{
      {},
      {"x"},
      {"duration", "src_bytes", "dst_bytes"},
      {"a\"b", "\xc3\xbc", "c\\d"},
  }};
  return (*kLists)[pick % kLists->size()];
}

// The event as ordered JSON (keys in the order written), or a failure.
ordered_json ParseEvent(const std::string& event) {
  if (event.size() > kserve::kMaxEventBytes) fuzz::Fail("event over kMaxEventBytes", event);
  if (!ValidateJson(event).ok()) fuzz::Fail("event is not JSON", event);
  ordered_json e = ordered_json::parse(event, nullptr, false);
  if (!e.is_object() || e.size() != 1 || !e.contains("instances") || !e["instances"].is_array()) {
    fuzz::Fail("event is not {\"instances\": [...]}", event);
  }
  return e;
}

// The row keys `names` in that order, in every row.
void CheckRows(const ordered_json& rows, const std::vector<std::string>& names, bool numbers,
               const std::string& event) {
  for (const ordered_json& row : rows) {
    if (!row.is_object() || row.size() != names.size()) fuzz::Fail("row of the wrong size", event);
    size_t c = 0;
    for (auto it = row.begin(); it != row.end(); ++it, ++c) {
      if (it.key() != names[c]) fuzz::Fail("row keys out of order", event);
      if (numbers && !it.value().is_number()) fuzz::Fail("a tensor value is not a number", event);
    }
  }
}

void CheckOutputs(const kserve::InferRequest& r) {
  std::set<std::string> seen;
  for (const std::string& name : r.outputs) {
    if (name != kserve::kOutputs[0].name && name != kserve::kOutputs[1].name) {
      fuzz::Fail("an unknown output was accepted", name);
    }
    if (!seen.insert(name).second) fuzz::Fail("an output was accepted twice", name);
  }
  if (r.rows > 4096) return;  // the shaping is linear; keep each input fast
  json predictions = json::array();
  for (size_t i = 0; i < r.rows; ++i) {
    predictions.push_back({{"probability", 0.5}, {"anomaly", i % 2 == 0}});
  }
  auto out = kserve::Outputs(predictions, r.outputs);
  if (!out.ok()) fuzz::Fail("Outputs refused what ToEvent accepted", out.status().message());
  const size_t want = r.outputs.empty() ? std::size(kserve::kOutputs) : r.outputs.size();
  if (!out->is_array() || out->size() != want) fuzz::Fail("wrong number of outputs", out->dump());
  for (size_t k = 0; k < want; ++k) {
    const json& o = (*out)[k];
    const std::string name =
        r.outputs.empty() ? std::string(kserve::kOutputs[k].name) : r.outputs[k];
    if (o["name"] != name || o["shape"] != json::array({r.rows}) || o["data"].size() != r.rows) {
      fuzz::Fail("output of the wrong shape", o.dump());
    }
  }
}

// The tensor's columns as one input per feature convert to the same event.
void CheckTensorRoundTrip(const ordered_json& rows, const std::vector<std::string>& features,
                          const std::string& event) {
  json inputs = json::array();
  for (const std::string& f : features) {
    json column = json::array();
    for (const ordered_json& row : rows) column.push_back(json::parse(row[f].dump()));
    inputs.push_back({{"name", f}, {"shape", {column.size()}}, {"data", std::move(column)}});
  }
  auto again = kserve::ToEvent(json{{"inputs", std::move(inputs)}}, features);
  if (!again.ok()) fuzz::Fail("the tensor's columns were refused", again.status().message());
  if (again->event != event) fuzz::Fail("the tensor's columns give another event", again->event);
}

void CheckConversion(const json& body, const std::vector<std::string>& features) {
  auto r = kserve::ToEvent(body, features);
  const bool needs = kserve::NeedsFeatures(body);
  if (!needs) {  // the feature list must not matter
    for (uint8_t other = 0; other < 4; ++other) {
      auto o = kserve::ToEvent(body, FeatureList(other));
      if (o.ok() != r.ok() || (o.ok() && o->event != r->event) ||
          (!o.ok() && o.status().message() != r.status().message())) {
        fuzz::Fail("a body without a 2-D input converts differently under another feature list",
                   body.dump());
      }
    }
  }
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kInvalidArgument || r.status().message().empty()) {
      fuzz::Fail("a refusal is not InvalidArgument with a message", r.status().ToString());
    }
    return;
  }
  if (r->tensor && !needs) fuzz::Fail("tensor form without a 2-D input", body.dump());
  if (r->rows == 0) fuzz::Fail("a request without rows was accepted", body.dump());
  const ordered_json event = ParseEvent(r->event);
  const ordered_json& rows = event["instances"];
  if (rows.size() != r->rows) fuzz::Fail("rows miscounted", r->event);
  if (r->tensor) {
    CheckRows(rows, features, /*numbers=*/true, r->event);
    CheckTensorRoundTrip(rows, features, r->event);
  } else {
    std::vector<std::string> names;
    for (const json& in : body["inputs"]) names.push_back(in["name"].get<std::string>());
    CheckRows(rows, names, /*numbers=*/false, r->event);
  }
  CheckOutputs(*r);
}

void CheckManifest(std::string_view text) {
  auto parsed = ParseJson(text);
  const std::string digest = parsed.ok() ? JsonString(*parsed, "digest", "") : "";
  auto features = gateway::FeaturesFromManifest(text, digest);
  if (!features.ok()) return;
  std::set<std::string> seen;
  for (const std::string& f : *features) {
    if (f.empty() || !seen.insert(f).second) fuzz::Fail("a bad feature list was accepted", f);
  }
  if (kserve::InputsMetadata(*features).size() != features->size()) {
    fuzz::Fail("metadata inputs miscounted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<std::string>& features = FeatureList(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  CheckManifest(text);
  auto body = ParseJson(text);  // as the gateway parses a body: bounded depth, no trailing bytes
  // ValidateJson's fast path is sure only of what the parser accepts (common/json.h).
  if (JsonCertainlyValid(text) && !body.ok()) {
    fuzz::Fail("JsonCertainlyValid passed what ParseJson refuses", text);
  }
  if (!body.ok()) return 0;
  CheckConversion(*body, features);
  return 0;
}
