// The mlfaas worker protocol: the Lambda Runtime API's calls carried as length-prefixed frames
// over a Unix stream socket that `mlfaas serve` hands its built-in worker ($MLFAAS_RUNTIME_FD),
// instead of HTTP over loopback TCP. Same calls, same semantics, a fraction of the cost: no HTTP
// parsing on either side and no TCP stack. Custom runtimes keep the HTTP Runtime API.
// docs/runtime.md describes the frames.
//
// Frame: u32 little-endian length L of what follows, then L bytes: one type byte and the
// fields, separated by NUL; the last field is raw (it may contain NULs).
//
//   N  worker  -> gateway  next                      (GET  /runtime/invocation/next)
//   R  worker  -> gateway  request_id, payload       (POST /runtime/invocation/{id}/response)
//   E  worker  -> gateway  request_id, error_type, body   (POST .../{id}/error)
//   I  worker  -> gateway  error_type, body          (POST /runtime/init/error)
//   V  gateway -> worker   request_id, deadline_ms, function_arn, trace_id, payload
//   L  gateway -> stem     executable, cwd, argc, argv..., env...   (launch a waiting stem cell)
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::wire {

enum class FrameType : uint8_t {
  kNext = 'N',
  kResponse = 'R',
  kError = 'E',
  kInitError = 'I',
  kInvocation = 'V',
  kLaunch = 'L',
};

// Larger frames are a protocol error (bodies are limited to 6 MB by the gateway).
inline constexpr size_t kMaxFrame = 16u << 20;
inline constexpr size_t kHeaderSize = 4;

// Appends one frame: `fields` joined by NUL.
void AppendFrame(std::string& out, FrameType type, std::initializer_list<std::string_view> fields);
// Same, from a vector (launch frames).
void AppendFrame(std::string& out, FrameType type, const std::vector<std::string>& fields);

struct Frame {
  FrameType type{};
  std::string_view data;  // the fields, NUL-separated
};

// Parses the first frame of `buf`. Returns the bytes it spans, or 0 when `buf` holds only part
// of it. InvalidArgument for an unknown type or a length over kMaxFrame.
StatusOr<size_t> ParseFrame(std::string_view buf, Frame* frame);

// Splits `data` into exactly `n` fields: n-1 NUL-terminated ones and the rest. False if there are
// fewer than n-1 separators.
bool SplitFields(std::string_view data, size_t n, std::string_view* out);
// Splits every NUL-separated field.
std::vector<std::string_view> SplitAll(std::string_view data);

}  // namespace mlfaas::wire
