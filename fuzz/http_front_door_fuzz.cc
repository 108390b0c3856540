// Fuzz target: raw bytes from a client at the gateway's public front door.
//
// The bytes are parsed as pipelined HTTP/1.1 requests by Boost.Beast's request_parser with the
// gateway's limits (header 16 KiB, body 6 MiB) to learn what was asked, and sent as they are to
// a real HttpServer whose handler is gateway::Route over a real Invoker and InstanceManager
// (FakeRegistry with kdd99 and echo, FakeClock, no process ever started: every launch fails).
// Each answer must be a well-formed HTTP/1.1 response with a JSON body (fuzz_gateway.h,
// CheckResponses), every complete request must be answered, and nothing may throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_gateway.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlfaas;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto methods = fuzz::ParsePipelinedRequests(bytes);
  fuzz::FailingLauncher launcher;
  fuzz::FuzzGateway gw(launcher, /*with_http=*/true);
  const fuzz::Exchange ex = fuzz::HttpExchange(gw, bytes);
  fuzz::CheckResponses(ex, methods);
  return 0;
}
