// Fuzz target: everything a worker sends, gateway side.
//
//  1. Pure functions over the bytes: wire::ParseFrame / SplitFields / SplitAll as the channel
//     reader walks a stream, gateway::WorkerErrorBody (its result must be a JSON object whose
//     errorMessage and errorType are strings, docs/reliability.md), ParseJson / ValidateJson
//     (same verdict; a parsed value dumps and re-parses to itself) and the type-checked
//     accessors of common/json.h (never throw, agree with the value's type), ErrorJson.
//  2. When they start with a plausible frame header (length 1..kMaxFrame): the bytes as the
//     stream a built-in worker writes on its worker-protocol socket, to a real
//     InstanceManager behind the real HTTP front door: a client sends a Lambda invoke (with
//     X-Amz-Log-Type: Tail), a TF-Serving predict and a KServe infer to kdd99; the gateway
//     "starts" a worker (fuzz::LoopbackLauncher: a socketpair, no process) and this target
//     plays it. Conventions, so that inputs can speak about live invocations:
//       - the input is cut into frames (u32 little-endian length, type byte, data); in each
//         complete frame "$RID" becomes the id of the invocation last delivered (V frame) and the
//         length is recomputed; frames of type 'o' are written to the worker's output pipe
//         (stdout/stderr lines) instead of the socket;
//       - from the first incomplete or impossible frame header on, the rest is sent raw;
//       - at the end the worker "exits" (InstanceManager::KillAll), completing whatever waits.
//     Every answer must be valid HTTP with a JSON body (a Lambda success may carry the
//     function's raw bytes), every request answered, nothing thrown.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/worker_protocol.h"
#include "fuzz_gateway.h"
#include "gateway/pool/instance.h"

namespace {

using namespace mlfaas;
using nlohmann::json;

void CheckErrorBody(const std::string& body, std::string_view input) {
  auto parsed = ParseJson(body);
  if (!parsed.ok() || !parsed->is_object() || !JsonString(*parsed, "errorMessage") ||
      !JsonString(*parsed, "errorType")) {
    fuzz::Fail("WorkerErrorBody broke its contract",
               body + "\n--- from ---\n" + std::string(input));
  }
}

void CheckAccessors(const json& j, std::string_view key) {
  const json* f = JsonField(j, key);
  if ((f != nullptr) != (j.is_object() && j.contains(key))) fuzz::Fail("JsonField disagrees");
  if (JsonString(j, key).has_value() != (f && f->is_string())) fuzz::Fail("JsonString disagrees");
  if (JsonNumber(j, key).has_value() != (f && f->is_number())) fuzz::Fail("JsonNumber disagrees");
  if (JsonBool(j, key).has_value() != (f && f->is_boolean())) fuzz::Fail("JsonBool disagrees");
  if (JsonInt(j, key).has_value() && !(f && f->is_number_integer())) {
    fuzz::Fail("JsonInt accepted a non-integer");
  }
  (void)JsonString(j, key, "fallback");
}

// What a typed decoder accepts, its encoder writes back byte for byte (the invocation's deadline
// and the launch's argc aside: "007" decodes as 7); whatever the data, each decoder returns or
// refuses, never crashes.
template <typename Msg>
void ExpectSameFrame(const wire::Frame& frame, const std::optional<Msg>& m,
                     void (*append)(std::string&, const Msg&)) {
  if (!m) return;
  std::string again;
  append(again, *m);
  wire::Frame back;
  auto used = wire::ParseFrame(again, &back);
  if (!used.ok() || *used != again.size() || back.type != frame.type || back.data != frame.data) {
    fuzz::Fail("a typed frame does not re-encode to the same bytes", frame.data);
  }
}

void CheckTypedRoundTrip(const wire::Frame& frame) {
  auto inv = wire::DecodeInvocation(frame.data);
  if (inv && inv->request_id.empty()) fuzz::Fail("DecodeInvocation accepted an empty request id");
  auto launch = wire::DecodeLaunch(frame.data);
  switch (frame.type) {
    case wire::FrameType::kResponse:
      return ExpectSameFrame(frame, wire::DecodeResponse(frame.data), &wire::AppendResponse);
    case wire::FrameType::kError:
      return ExpectSameFrame(frame, wire::DecodeError(frame.data), &wire::AppendError);
    case wire::FrameType::kInitError:
      return ExpectSameFrame(frame, wire::DecodeInitError(frame.data), &wire::AppendInitError);
    case wire::FrameType::kLaunch:
      if (launch) {  // numbers in canonical form only ("01" decodes as 1 and prints as "1")
        const auto f = wire::SplitAll(frame.data);
        if (std::to_string(launch->uid) == f[2] && std::to_string(launch->gid) == f[3] &&
            std::to_string(launch->tmp_mb) == f[4] && std::to_string(launch->args.size()) == f[5]) {
          ExpectSameFrame(frame, launch, &wire::AppendLaunch);
        }
      }
      return;
    case wire::FrameType::kStemReady:
      if (auto ready = wire::DecodeStemReady(frame.data)) {
        std::string again;
        wire::AppendStemReady(again, *ready);
        if (again.substr(wire::kHeaderSize + 1) != frame.data) fuzz::Fail("S frame round trip");
      }
      return;
    case wire::FrameType::kFork:
      if (auto fork = wire::DecodeFork(frame.data)) {  // tmp_mb in canonical form only
        if (std::to_string(fork->tmp_mb) == wire::SplitAll(frame.data)[1]) {
          ExpectSameFrame(frame, fork, &wire::AppendFork);
        }
        if (fork->name.empty() || fork->name.size() > 128) fuzz::Fail("DecodeFork: bad name");
        for (const auto& e : fork->env) {
          if (e.find('=') == 0 || e.find('=') == std::string::npos) fuzz::Fail("DecodeFork: env");
        }
      }
      return;
    case wire::FrameType::kTemplateReady:
      if (auto us = wire::DecodeTemplateReady(frame.data)) {
        if (*us < 0) fuzz::Fail("DecodeTemplateReady: negative");
        if (std::to_string(*us) == frame.data) {
          std::string again;
          wire::AppendTemplateReady(again, *us);
          if (again.substr(wire::kHeaderSize + 1) != frame.data) fuzz::Fail("T frame round trip");
        }
      }
      return;
    case wire::FrameType::kInvocation:
      if (inv && std::to_string(inv->deadline_ms) == wire::SplitAll(frame.data)[1]) {
        ExpectSameFrame(frame, inv, &wire::AppendInvocation);
      }
      return;
    default:
      return;
  }
}

void CheckPure(std::string_view bytes) {
  std::string_view rest = bytes;
  for (int i = 0; i < 64; ++i) {
    wire::Frame frame;
    auto used = wire::ParseFrame(rest, &frame);
    if (!used.ok() || *used == 0) break;
    if (*used > rest.size() || *used < wire::kHeaderSize + 1) fuzz::Fail("ParseFrame overran");
    std::string_view f[5];
    for (size_t n = 1; n <= 5; ++n) {
      if (!wire::SplitFields(frame.data, n, f)) continue;
      size_t total = n - 1;
      for (size_t k = 0; k < n; ++k) total += f[k].size();
      if (total != frame.data.size()) fuzz::Fail("SplitFields lost or invented bytes");
    }
    std::string joined;
    const auto parts = wire::SplitAll(frame.data);
    for (size_t k = 0; k < parts.size(); ++k) {
      if (k > 0) joined.push_back('\0');
      joined.append(parts[k]);
    }
    if (joined != frame.data) fuzz::Fail("SplitAll lost or invented bytes");
    if (frame.type == wire::FrameType::kError && wire::SplitFields(frame.data, 3, f)) {
      CheckErrorBody(gateway::WorkerErrorBody(std::string(f[2]), f[1]), bytes);
    }
    if (frame.type == wire::FrameType::kInitError && wire::SplitFields(frame.data, 2, f)) {
      CheckErrorBody(gateway::WorkerErrorBody(std::string(f[1]), f[0]), bytes);
    }
    CheckTypedRoundTrip(frame);
    rest.remove_prefix(*used);
  }
  CheckErrorBody(gateway::WorkerErrorBody(std::string(bytes), ""), bytes);
  CheckErrorBody(gateway::WorkerErrorBody(std::string(bytes), "Custom.Error"), bytes);
  if (!json::accept(ErrorJson(bytes, bytes))) fuzz::Fail("ErrorJson is not JSON");

  (void)JsonNestingDepth(bytes);
  const Status valid = ValidateJson(bytes);
  auto parsed = ParseJson(bytes);
  if (valid.ok() != parsed.ok()) fuzz::Fail("ValidateJson and ParseJson disagree", bytes);
  if (!parsed.ok()) return;
  const std::string dumped = DumpJson(*parsed);
  auto again = ParseJson(dumped);
  if (!again.ok() || *again != *parsed) fuzz::Fail("DumpJson does not round-trip", dumped);
  for (std::string_view key : {"errorMessage", "errorType", "predictions", ""}) {
    CheckAccessors(*parsed, key);
  }
  if (parsed->is_object()) {
    int n = 0;
    for (const auto& item : parsed->items()) {
      if (++n > 16) break;
      CheckAccessors(*parsed, item.key());
    }
  }
}

// ---- the worker side of a live gateway ------------------------------------------------------

std::string Request(std::string_view target, std::string_view extra_headers,
                    std::string_view body) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: fuzz\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

class FakeWorker {
 public:
  explicit FakeWorker(fuzz::LoopbackLauncher& launcher) : launcher_(launcher) {}

  // Reads what the gateway sent its workers, learning request ids; true when bytes moved.
  bool Serve() {
    bool moved = false;
    for (auto& w : launcher_.workers()) {
      moved = w.Io() || moved;
      for (;;) {
        wire::Frame frame;
        auto used = wire::ParseFrame(w.in, &frame);
        if (!used.ok()) fuzz::Fail("the gateway sent a malformed frame", w.in);
        if (*used == 0) break;
        std::string_view f[5];
        if (frame.type != wire::FrameType::kInvocation || !wire::SplitFields(frame.data, 5, f) ||
            f[0].empty()) {
          fuzz::Fail("the gateway sent something other than an invocation frame", w.in);
        }
        rid_ = std::string(f[0]);
        w.in.erase(0, *used);
        moved = true;
      }
    }
    return moved;
  }

  // Sends one chunk of the input from the most recently started worker.
  void Send(char type, std::string_view data, bool raw) {
    if (launcher_.workers().empty()) return;  // nothing started (yet): the bytes are lost
    auto& w = launcher_.workers().back();
    if (raw) {
      w.out.append(data);
    } else if (type == 'o') {
      ssize_t ignored = write(w.output_write, data.data(), data.size());  // EAGAIN: dropped
      (void)ignored;
    } else {
      std::string d(data);
      if (!rid_.empty()) {
        for (size_t p = 0; (p = d.find("$RID", p)) != std::string::npos; p += rid_.size()) {
          d.replace(p, 4, rid_);
        }
      }
      const uint32_t len = static_cast<uint32_t>(d.size() + 1);
      const char header[5] = {static_cast<char>(len & 0xff), static_cast<char>((len >> 8) & 0xff),
                              static_cast<char>((len >> 16) & 0xff),
                              static_cast<char>((len >> 24) & 0xff), type};
      w.out.append(header, sizeof header);
      w.out.append(d);
    }
  }

 private:
  fuzz::LoopbackLauncher& launcher_;
  std::string rid_;
};

void CheckLiveGateway(std::string_view bytes) {
  fuzz::LoopbackLauncher launcher(/*send_next_on_launch=*/false);
  fuzz::FuzzGateway gw(launcher, /*with_http=*/true);
  FakeWorker worker(launcher);
  const std::string requests =
      Request("/2015-03-31/functions/kdd99/invocations?Qualifier=live", "X-Amz-Log-Type: Tail\r\n",
              R"({"duration":0,"src_bytes":215,"dst_bytes":45076})") +
      Request("/v1/models/kdd99:predict", "",
              R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2}]})") +
      Request("/v2/models/kdd99/infer", "",
              R"({"id":"q","inputs":[{"name":"duration","shape":[1],"datatype":"FP64","data":[0]},)"
              R"({"name":"src_bytes","shape":[1],"datatype":"FP64","data":[1]},)"
              R"({"name":"dst_bytes","shape":[1],"datatype":"FP64","data":[2]}]})");
  fuzz::Exchange ex;
  {
    fuzz::ClientConnection client(gw);
    client.Send(requests);
    auto io = [&] {
      bool a = worker.Serve();
      bool b = client.Io();
      return a || b;
    };
    gw.Pump(io);
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t left = bytes.size() - pos;
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
      const size_t len =
          left < 5 ? 0 : size_t{p[0]} | size_t{p[1]} << 8 | size_t{p[2]} << 16 | size_t{p[3]} << 24;
      if (len == 0 || len > wire::kMaxFrame || len > left - 4) {
        worker.Send(0, bytes.substr(pos), /*raw=*/true);
        pos = bytes.size();
      } else {
        worker.Send(static_cast<char>(p[4]), bytes.substr(pos + 5, len - 1), /*raw=*/false);
        pos += 4 + len;
      }
      gw.Pump(io);
    }
    gw.manager().KillAll();  // the worker exits
    gw.Pump(io);
    client.AwaitAnswers(gw, fuzz::ParsePipelinedRequests(requests), io);
    ex = client.exchange();
  }
  gw.Pump();
  fuzz::CheckResponses(ex, fuzz::ParsePipelinedRequests(requests),
                       [](size_t i) { return i == 0; });  // the Lambda invoke: raw result
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckPure(bytes);
  // The live gateway costs ~100x more than the pure checks: only streams that start with a
  // plausible frame header go there (a JSON body, say, starts with a length over kMaxFrame).
  if (size >= wire::kHeaderSize + 1) {
    const size_t len =
        size_t{data[0]} | size_t{data[1]} << 8 | size_t{data[2]} << 16 | size_t{data[3]} << 24;
    if (len > 0 && len <= wire::kMaxFrame) CheckLiveGateway(bytes);
  }
  return 0;
}
