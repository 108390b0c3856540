// The gateway <-> worker contract, the one place both sides take it from: the environment a worker
// is started with, the Runtime API's paths and headers, and the mlfaas worker protocol's frames
// with a typed encoder and decoder for each.
//
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
//   P  worker  -> gateway  max_in_flight             (pipelined next: the worker takes up to
//                                                     max_in_flight invocations at once; sent
//                                                     once instead of N, after which every R or
//                                                     E frees a slot; only with
//                                                     AWS_LAMBDA_MAX_CONCURRENCY > 1)
//   R  worker  -> gateway  request_id, payload       (POST /runtime/invocation/{id}/response)
//   E  worker  -> gateway  request_id, error_type, body   (POST .../{id}/error)
//   I  worker  -> gateway  error_type, body          (POST /runtime/init/error)
//   V  gateway -> worker   request_id, deadline_ms, function_arn, trace_id, payload
//   S  stem    -> gateway  has_listener              (the stem is ready; in a network namespace
//                                                     the Runtime API's listening socket rides
//                                                     along as SCM_RIGHTS when has_listener is 1)
//   L  gateway -> stem     executable, cwd, uid, gid, tmp_mb, argc, argv..., env...
//                                                    (launch a waiting stem cell)
// Snapshots (model_loading = snapshot; docs/runtime.md, "The fork protocol"):
//   T  template -> gateway init_us                   (init done: ready to fork)
//   F  gateway -> template name, tmp_mb, env...      (fork an instance; its channel and its
//                                                     output ride along as SCM_RIGHTS)
//   S  child   -> gateway  has_listener              (on the child's own channel: it is
//                                                     confined and waits; its pid is the
//                                                     kernel's SCM_CREDENTIALS)
//   G  gateway -> child    (none)                    (its cgroups are set: go on)
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::wire {

// ---- Environment ----------------------------------------------------------------------------
// A worker speaking the worker protocol over an inherited socket: its descriptor number.
inline constexpr const char* kRuntimeFdEnv = "MLFAAS_RUNTIME_FD";
// A stem cell: the socket on which it waits for its launch frame.
inline constexpr const char* kStemFdEnv = "MLFAAS_STEM_FD";
// A snapshot template: after init, wait for F frames on this descriptor (the fork protocol).
inline constexpr const char* kSnapshotFdEnv = "MLFAAS_SNAPSHOT_FD";
// Lambda Managed Instances: how many invocations one execution environment may run at once
// (PerExecutionEnvironmentMaxConcurrency). Unset or 1: one at a time, Lambda's default model.
inline constexpr const char* kMaxConcurrencyEnv = "AWS_LAMBDA_MAX_CONCURRENCY";
inline constexpr int kMaxConcurrencyPerInstance = 1600;  // Lambda's upper bound
// A decimal in 1..kMaxConcurrencyPerInstance, nothing else (no sign, no spaces, no leading 0).
std::optional<int> ParseMaxConcurrency(std::string_view text);
// Where the HTTP Runtime API listens ("host:port"), as on AWS Lambda.
inline constexpr const char* kRuntimeApiEnv = "AWS_LAMBDA_RUNTIME_API";
// The descriptor number a worker inherits its socket as.
inline constexpr int kWorkerFd = 3;
// "NAME=3": the environment entry that hands a worker its socket.
std::string WorkerFdEntry(const char* env_name);

// ---- The HTTP Runtime API (what custom runtimes speak) -----------------------------------------
inline constexpr std::string_view kRuntimeApiPrefix = "/2018-06-01/runtime/";
inline constexpr const char* kRequestIdHeader = "Lambda-Runtime-Aws-Request-Id";
inline constexpr const char* kDeadlineHeader = "Lambda-Runtime-Deadline-Ms";
inline constexpr const char* kFunctionArnHeader = "Lambda-Runtime-Invoked-Function-Arn";
inline constexpr const char* kTraceIdHeader = "Lambda-Runtime-Trace-Id";
inline constexpr const char* kClientContextHeader = "Lambda-Runtime-Client-Context";
inline constexpr const char* kCognitoIdentityHeader = "Lambda-Runtime-Cognito-Identity";
inline constexpr const char* kErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";

enum class RuntimeCall {
  kUnknown,
  kNext,       // GET  invocation/next
  kResponse,   // POST invocation/{id}/response
  kError,      // POST invocation/{id}/error
  kInitError,  // POST init/error
};
struct RuntimeApiPath {
  RuntimeCall call = RuntimeCall::kUnknown;
  std::string_view request_id;  // kResponse, kError: a view into the target
};
// Which call a request target names (the method is the caller's to check). kUnknown for anything
// else, including an empty request id or one holding '/'.
RuntimeApiPath ParseRuntimeApiPath(std::string_view target);
// The request target of `call` (kResponse and kError need the request id).
std::string RuntimeApiTarget(RuntimeCall call, std::string_view request_id = {});

// ---- Frames ---------------------------------------------------------------------------------
enum class FrameType : uint8_t {
  kNext = 'N',
  kPipelinedNext = 'P',
  kResponse = 'R',
  kError = 'E',
  kInitError = 'I',
  kInvocation = 'V',
  kLaunch = 'L',
  kStemReady = 'S',
  kTemplateReady = 'T',
  kFork = 'F',
  kGo = 'G',
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

// ---- Typed frames ---------------------------------------------------------------------------
// Each message has an Append* encoder and a Decode* that reads a parsed frame's `data` (the frame
// type is the caller's dispatch). Decoded views point into that data. A decoder returns nullopt
// for data that does not have the message's fields.

// V: gateway -> worker. request_id is never empty.
struct InvocationMsg {
  std::string_view request_id;
  int64_t deadline_ms = 0;  // Unix epoch milliseconds
  std::string_view function_arn;
  std::string_view trace_id;
  std::string_view payload;
};
void AppendInvocation(std::string& out, const InvocationMsg& m);
std::optional<InvocationMsg> DecodeInvocation(std::string_view data);

// N: worker -> gateway, no fields.
void AppendNext(std::string& out);

// P: worker -> gateway, instead of its first N: up to `max_in_flight` invocations may be sent to
// it without waiting (1..kMaxConcurrencyPerInstance). Several V frames may then arrive in one
// read, and the worker may answer several in one write.
void AppendPipelinedNext(std::string& out, int max_in_flight);
std::optional<int> DecodePipelinedNext(std::string_view data);

// R: worker -> gateway.
struct ResponseMsg {
  std::string_view request_id;
  std::string_view payload;
};
void AppendResponse(std::string& out, const ResponseMsg& m);
std::optional<ResponseMsg> DecodeResponse(std::string_view data);

// E: worker -> gateway. `body` is the Lambda error JSON the worker built.
struct ErrorMsg {
  std::string_view request_id;
  std::string_view error_type;
  std::string_view body;
};
void AppendError(std::string& out, const ErrorMsg& m);
std::optional<ErrorMsg> DecodeError(std::string_view data);

// I: worker -> gateway.
struct InitErrorMsg {
  std::string_view error_type;
  std::string_view body;
};
void AppendInitError(std::string& out, const InitErrorMsg& m);
std::optional<InitErrorMsg> DecodeInitError(std::string_view data);

// L: gateway -> stem cell. An empty executable means "stay the built-in runtime"; otherwise the
// stem execs it with `args` (argv[1..]). `env` is the complete environment. `cwd` is the
// function's code directory (a host path: a confined stem mounts it at /var/task). `uid`/`gid`:
// the identity the environment takes (-1: keep the stem's). `tmp_mb`: the size of a confined
// environment's /tmp (0: leave it).
struct LaunchMsg {
  std::string executable;
  std::string cwd;
  std::vector<std::string> args;
  std::vector<std::string> env;
  int64_t uid = -1;
  int64_t gid = -1;
  int64_t tmp_mb = 0;
};
void AppendLaunch(std::string& out, const LaunchMsg& m);
std::optional<LaunchMsg> DecodeLaunch(std::string_view data);

// S: stem cell -> gateway, once it is ready for its launch frame.
void AppendStemReady(std::string& out, bool has_listener);
// Whether a listener rides along; nullopt for anything but "0" or "1".
std::optional<bool> DecodeStemReady(std::string_view data);

// T: template -> gateway, once its init is done (init_us: how long it took, microseconds).
void AppendTemplateReady(std::string& out, int64_t init_us);
std::optional<int64_t> DecodeTemplateReady(std::string_view data);

// F: gateway -> template. `name` names the instance (letters, digits, '-', '_', '.'; 1..128);
// `tmp_mb` the size of its own /tmp (0: the template's); `env`: "KEY=VALUE" entries set in the
// child on top of the template's environment (its log stream name, its initialization type).
// Two descriptors ride along: the child's channel, then its output (stdout and stderr).
struct ForkMsg {
  std::string name;
  int64_t tmp_mb = 0;
  std::vector<std::string> env;
};
void AppendFork(std::string& out, const ForkMsg& m);
std::optional<ForkMsg> DecodeFork(std::string_view data);
// The number of descriptors an F frame carries.
inline constexpr int kForkFds = 2;

// G: gateway -> child, no fields.
void AppendGo(std::string& out);

}  // namespace mlfaas::wire
