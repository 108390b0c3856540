// Fuzz target: bytes as the body of a model-serving request, end to end.
//
//  1. As an event of the built-in runtime: runtime::ModelHandler::HandleEvent with the shared
//     test model (tests/testing/sample_manifest.h). A success must be a JSON document with one
//     probability in [0, 1] per row; a failure an InvalidInput error.
//  2. As a TF-Serving predict body (POST /v1/models/kdd99:predict) and a KServe V2 infer body
//     (POST /v2/models/kdd99/versions/live/infer), pipelined on one connection to an in-process
//     gateway (fuzz_gateway.h) whose worker is played in process by the same ModelHandler over
//     the worker protocol: the conversion to an event, the event, the handler's result and its
//     shaping back into each protocol's answer. A genuine worker's result must never be refused
//     (no 5xx): the answer is 200 or 400, with a JSON body of the protocol's shape.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/worker_protocol.h"
#include "fuzz_gateway.h"
#include "model/predictor.h"
#include "runtime/model_handler.h"
#include "runtime/transport.h"
#include "testing/sample_manifest.h"

namespace {

using namespace mlfaas;
using nlohmann::json;

const runtime::ModelHandler& Handler() {
  static const runtime::ModelHandler* handler = [] {
    package::Manifest m = package::sample::SampleManifest();
    m.name = "kdd99-test";
    if (!model::Predictor::Validate(m.model).ok()) fuzz::Fail("the test model is invalid");
    auto predictor = std::make_shared<const model::Predictor>(m.model);
    return new runtime::ModelHandler(predictor, {m.name, "$LATEST", std::string(64, 'd')});
  }();
  return *handler;
}

// j[key] when j is an object holding it, else null (json::value() throws on non-objects).
json Field(const json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key] : json();
}

void CheckPredictions(const json& predictions, std::string_view where) {
  if (!predictions.is_array() || predictions.empty()) fuzz::Fail(where, predictions.dump());
  for (const json& p : predictions) {
    const json* prob = p.is_object() && p.contains("probability") ? &p["probability"] : nullptr;
    if (!prob || !prob->is_number() || !p.contains("anomaly") || !p["anomaly"].is_boolean()) {
      fuzz::Fail(where, predictions.dump());
    }
    const double v = prob->get<double>();
    if (!(v >= 0.0 && v <= 1.0)) fuzz::Fail("probability outside [0, 1]", p.dump());
  }
}

// Direct: the handler's contract.
void CheckHandler(std::string_view event) {
  runtime::Response r = Handler().HandleEvent(event);
  if (r.is_error) {
    if (r.error_type != runtime::kInvalidInput || r.error_message.empty()) {
      fuzz::Fail("handler error is not InvalidInput", r.error_type + ": " + r.error_message);
    }
    if (!json::accept(runtime::ErrorBody(r.error_type, r.error_message))) {
      fuzz::Fail("error body is not JSON", r.error_message);
    }
    return;
  }
  if (!json::accept(r.payload)) fuzz::Fail("handler result is not valid JSON", r.payload);
  const json j = json::parse(r.payload);
  CheckPredictions(Field(j, "predictions"), "handler result lacks predictions");
}

// Plays the built-in worker for every instance the gateway "started".
bool ServeWorkers(fuzz::LoopbackLauncher& launcher) {
  bool moved = false;
  for (auto& w : launcher.workers()) {
    moved = w.Io() || moved;
    for (;;) {
      wire::Frame frame;
      auto used = wire::ParseFrame(w.in, &frame);
      if (!used.ok()) fuzz::Fail("the gateway sent a malformed frame", used.status().ToString());
      if (*used == 0) break;
      std::string_view f[5];
      if (frame.type != wire::FrameType::kInvocation || !wire::SplitFields(frame.data, 5, f) ||
          f[0].empty()) {
        fuzz::Fail("the gateway sent something other than an invocation frame", w.in);
      }
      runtime::Response r = Handler().HandleEvent(f[4]);
      if (r.is_error) {
        wire::AppendFrame(w.out, wire::FrameType::kError,
                          {f[0], r.error_type, runtime::ErrorBody(r.error_type, r.error_message)});
      } else {
        wire::AppendFrame(w.out, wire::FrameType::kResponse, {f[0], r.payload});
      }
      wire::AppendFrame(w.out, wire::FrameType::kNext, {});
      w.in.erase(0, *used);
      moved = true;
    }
    moved = w.Io() || moved;
  }
  return moved;
}

std::string Post(std::string_view target, std::string_view body) {
  std::string req = "POST " + std::string(target) +
                    " HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n";
  req.append(body);
  return req;
}

void CheckModelAnswer(const mlfaas::gateway::Response& res, bool kserve) {
  const unsigned status = res.result_int();
  const json body = json::parse(res.body());  // CheckResponses accepted it
  if (status == 400) {
    if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) {
      fuzz::Fail("400 without {\"error\": string}", res.body());
    }
    return;
  }
  if (status != 200) fuzz::Fail("a genuine worker's result was refused", res.body());
  if (!kserve) return CheckPredictions(Field(body, "predictions"), "TF answer");
  // Both outputs, or the subset the request's "outputs" filter asked for: one or two objects,
  // each with as many values as the other.
  const json outputs = Field(body, "outputs");
  if (Field(body, "model_name") != "kdd99" || !outputs.is_array() || outputs.empty() ||
      outputs.size() > 2 || !outputs[0].is_object() || !outputs.back().is_object() ||
      Field(outputs[0], "data").size() != Field(outputs.back(), "data").size()) {
    fuzz::Fail("KServe answer of the wrong shape", res.body());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckHandler(bytes);

  fuzz::LoopbackLauncher launcher(/*send_next_on_launch=*/true);
  fuzz::FuzzGateway gw(launcher, /*with_http=*/true);
  const std::string requests =
      Post("/v1/models/kdd99:predict", bytes) + Post("/v2/models/kdd99/versions/live/infer", bytes);
  const fuzz::Exchange ex =
      fuzz::HttpExchange(gw, requests, [&launcher] { return ServeWorkers(launcher); });
  const auto answers = fuzz::CheckResponses(ex, fuzz::ParsePipelinedRequests(requests));
  if (answers.size() != 2) fuzz::Fail("expected two answers", ex.received);
  CheckModelAnswer(answers[0], /*kserve=*/false);
  CheckModelAnswer(answers[1], /*kserve=*/true);
  return 0;
}
