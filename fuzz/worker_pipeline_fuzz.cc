// Fuzz target: the worker's pipelined loop (runtime/pipeline.h), fed by a hostile gateway.
//
// Input: one configuration byte (bit 0: 1 or 2 handler threads; bits 1-2: max_in_flight 1..4),
// then the bytes the "gateway" writes on its end of a socketpair, after which it shuts its
// writing side (EOF for the worker) and reads until the worker's end is closed. The handler is
// trivial: a payload starting with 'E' is a function error, 'X' throws, 'F' is a fatal error,
// anything else is echoed.
//
// Checked: RunPipelinedLoop returns (every thread joined; libFuzzer's -timeout catches a hang),
// never OK, FailedPrecondition only when a fatal payload was sent; what the worker wrote is a P
// frame carrying max_in_flight, then only R and E frames, each answering a request id the input
// sent, one per handled invocation (stats); nothing is answered beyond what was sent.
// Also the pure P-frame decoder: what DecodePipelinedNext accepts re-encodes to the same bytes.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "common/worker_protocol.h"
#include "fuzz_util.h"
#include "runtime/pipeline.h"

namespace {

using namespace mlfaas;

runtime::Response TrivialHandler(const runtime::Invocation& inv) {
  const char first = inv.payload.empty() ? '\0' : inv.payload[0];
  if (first == 'E') return runtime::Response::Error("Fuzz.Error", inv.payload);
  if (first == 'X') throw std::runtime_error("handler threw");
  if (first == 'F') return runtime::Response::FatalError("InitError", "fatal");
  return runtime::Response::Success(inv.payload);
}

void CheckPipelinedNext(std::string_view data) {
  std::optional<int> n = wire::DecodePipelinedNext(data);
  if (!n) return;
  if (*n < 1 || *n > wire::kMaxConcurrencyPerInstance) fuzz::Fail("P frame out of range", data);
  std::string again;
  wire::AppendPipelinedNext(again, *n);
  if (again.substr(wire::kHeaderSize + 1) != data) fuzz::Fail("P frame round trip", data);
}

// What the input says, read as the worker will: request id -> how many V frames carry it, and
// whether a fatal payload is among them. Stops where the worker would.
struct Sent {
  std::map<std::string, int> ids;
  bool fatal = false;
};
Sent WhatWasSent(std::string_view stream) {
  Sent sent;
  for (int i = 0; i < 4096 && !stream.empty(); ++i) {
    wire::Frame frame;
    auto used = wire::ParseFrame(stream, &frame);
    if (!used.ok() || *used == 0) break;
    if (frame.type == wire::FrameType::kPipelinedNext) CheckPipelinedNext(frame.data);
    if (frame.type != wire::FrameType::kInvocation) break;
    auto inv = wire::DecodeInvocation(frame.data);
    if (!inv) break;
    ++sent.ids[std::string(inv->request_id)];
    if (!inv->payload.empty() && inv->payload[0] == 'F') sent.fatal = true;
    stream.remove_prefix(*used);
  }
  return sent;
}

// Plays the gateway on `fd` (non-blocking): writes `input`, shuts down its writing side, and
// returns everything the worker wrote until it closed its end.
std::string Exchange(int fd, std::string_view input) {
  std::string got;
  size_t off = 0;
  bool shut = false;
  for (;;) {
    if (!shut && off == input.size()) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      fuzz::Fail("poll failed");
    }
    if (!shut && (p.revents & POLLOUT)) {
      ssize_t n = ::send(fd, input.data() + off, input.size() - off, MSG_NOSIGNAL);
      if (n > 0) off += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) off = input.size();  // the worker is gone
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) return got;
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      if (n < 0 && errno != EAGAIN && errno != EINTR) return got;
    }
  }
}

void CheckLoop(uint8_t config, std::string_view stream) {
  runtime::PipelineOptions options;
  options.threads = 1 + (config & 1);
  options.max_in_flight = 1 + ((config >> 1) & 3);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fuzz::Fail("socketpair");
  // The gateway's end does not block; the worker's does, as the inherited socket.
  if (::fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) fuzz::Fail("fcntl");
  const int worker_fd = sv[1];
  Status end;
  runtime::PipelineStats stats;
  std::thread worker([&] {
    end = runtime::RunPipelinedLoop(worker_fd, TrivialHandler, options, &stats);
    ::close(worker_fd);
  });
  const std::string out = Exchange(sv[0], stream);
  worker.join();
  ::close(sv[0]);

  if (end.ok()) fuzz::Fail("the pipelined loop returned OK");
  const Sent sent = WhatWasSent(stream);
  if (end.code() == StatusCode::kFailedPrecondition && !sent.fatal) {
    fuzz::Fail("FailedPrecondition without a fatal payload", end.ToString());
  }
  if (end.code() != StatusCode::kUnavailable && end.code() != StatusCode::kFailedPrecondition) {
    fuzz::Fail("unexpected end status", end.ToString());
  }
  // What the worker wrote.
  std::string_view rest = out;
  wire::Frame frame;
  auto used = wire::ParseFrame(rest, &frame);
  if (!used.ok() || *used == 0 || frame.type != wire::FrameType::kPipelinedNext ||
      wire::DecodePipelinedNext(frame.data) != options.max_in_flight) {
    fuzz::Fail("the worker did not start with its P frame", out);
  }
  rest.remove_prefix(*used);
  std::map<std::string, int> answered;
  uint64_t answers = 0;
  while (!rest.empty()) {
    used = wire::ParseFrame(rest, &frame);
    if (!used.ok() || *used == 0) fuzz::Fail("the worker wrote a malformed frame", out);
    std::string id;
    if (frame.type == wire::FrameType::kResponse) {
      auto r = wire::DecodeResponse(frame.data);
      if (!r) fuzz::Fail("malformed R frame", frame.data);
      id = std::string(r->request_id);
    } else if (frame.type == wire::FrameType::kError) {
      auto e = wire::DecodeError(frame.data);
      if (!e) fuzz::Fail("malformed E frame", frame.data);
      id = std::string(e->request_id);
    } else {
      fuzz::Fail("the worker wrote something other than R or E", out);
    }
    auto it = sent.ids.find(id);
    if (it == sent.ids.end() || ++answered[id] > it->second) {
      fuzz::Fail("an answer to a request that was not sent", id);
    }
    ++answers;
    rest.remove_prefix(*used);
  }
  if (answers != stats.invocations || answers != stats.frames_written) {
    fuzz::Fail("answers written do not match the invocations handled");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckPipelinedNext(bytes);
  if (size == 0) return 0;
  CheckLoop(data[0], bytes.substr(1));
  return 0;
}
