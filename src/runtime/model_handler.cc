#include "runtime/model_handler.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace mlfaas::runtime {

namespace {

using nlohmann::json;

Response Invalid(std::string message) {
  return Response::Error(std::string(kInvalidInput), std::move(message));
}

// Appends the rows of `event` to `rows` (feature order); returns an InvalidInput message or "".
std::string ParseEvent(const model::Predictor& predictor, const json& event,
                       std::vector<double>* rows) {
  if (!event.is_object()) return "event must be a JSON object";
  auto it = event.find("instances");
  if (it == event.end()) {
    Status st = predictor.ParseRow(event, rows);
    return st.ok() ? "" : st.message();
  }
  for (const auto& [key, value] : event.items()) {
    if (key != "instances") return "field '" + key + "' is not allowed next to 'instances'";
  }
  if (!it->is_array() || it->empty()) return "field 'instances' must be a non-empty array";
  rows->reserve(it->size() * predictor.num_features());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& row = (*it)[i];
    std::string prefix = "instances[" + std::to_string(i) + "]: ";
    if (!row.is_object()) return prefix + "must be a JSON object";
    Status st = predictor.ParseRow(row, rows);
    if (!st.ok()) return prefix + st.message();
  }
  return "";
}

}  // namespace

ModelHandler::ModelHandler(std::shared_ptr<const model::Predictor> predictor, const ModelInfo& info)
    : predictor_(std::move(predictor)), info_(info) {
  // ordered_json keeps the documented key order: name, version, digest.
  nlohmann::ordered_json model = {
      {"name", info.name}, {"version", info.version}, {"digest", info.digest}};
  model_suffix_ = "],\"model\":" +
                  model.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                  "}";
}

Response ModelHandler::HandleEvent(std::string_view payload) const {
  auto parsed = ParseJson(payload);
  if (!parsed.ok()) return Invalid("event is " + parsed.status().message());
  const json& event = *parsed;
  std::vector<double> rows;
  std::string error = ParseEvent(*predictor_, event, &rows);
  if (!error.empty()) return Invalid(std::move(error));
  const size_t n = predictor_->num_features();
  std::vector<double> probabilities(n == 0 ? 0 : rows.size() / n);
  predictor_->PredictProba(rows, probabilities);
  return Response::Success(Render(probabilities));
}

std::string ModelHandler::Render(const std::vector<double>& probabilities) const {
  const double threshold = predictor_->model().threshold;
  std::string out = "{\"predictions\":[";
  out.reserve(out.size() + probabilities.size() * 48 + model_suffix_.size());
  char num[32];
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const double p = probabilities[i];
    if (i > 0) out += ',';
    out += p >= threshold ? "{\"anomaly\":true,\"probability\":"
                          : "{\"anomaly\":false,\"probability\":";
    // Shortest representation that round-trips, like Python's repr.
    auto [end, ec] = std::to_chars(num, num + sizeof(num), p);
    out.append(num, ec == std::errc() ? end : num);
    out += '}';
  }
  out += model_suffix_;
  return out;
}

}  // namespace mlfaas::runtime
