#include "common/worker_protocol.h"

#include <charconv>

namespace mlfaas::wire {
namespace {

bool KnownType(uint8_t t) {
  switch (static_cast<FrameType>(t)) {
    case FrameType::kNext:
    case FrameType::kPipelinedNext:
    case FrameType::kResponse:
    case FrameType::kError:
    case FrameType::kInitError:
    case FrameType::kInvocation:
    case FrameType::kLaunch:
    case FrameType::kStemReady:
    case FrameType::kTemplateReady:
    case FrameType::kFork:
    case FrameType::kGo:
      return true;
  }
  return false;
}

template <typename Fields>
void Append(std::string& out, FrameType type, const Fields& fields) {
  size_t len = 1;
  for (std::string_view f : fields) len += f.size() + 1;
  if (fields.size() > 0) --len;  // no separator after the last field
  const auto n = static_cast<uint32_t>(len);
  const char header[kHeaderSize] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                                    static_cast<char>((n >> 16) & 0xff),
                                    static_cast<char>((n >> 24) & 0xff)};
  out.reserve(out.size() + kHeaderSize + len);
  out.append(header, kHeaderSize);
  out.push_back(static_cast<char>(type));
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) out.push_back('\0');
    first = false;
    out.append(f);
  }
}

}  // namespace

void AppendFrame(std::string& out, FrameType type, std::initializer_list<std::string_view> fields) {
  Append(out, type, fields);
}

void AppendFrame(std::string& out, FrameType type, const std::vector<std::string>& fields) {
  Append(out, type, fields);
}

StatusOr<size_t> ParseFrame(std::string_view buf, Frame* frame) {
  if (buf.size() < kHeaderSize + 1) return size_t{0};
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  const size_t len = size_t{p[0]} | size_t{p[1]} << 8 | size_t{p[2]} << 16 | size_t{p[3]} << 24;
  if (len == 0 || len > kMaxFrame) {
    return InvalidArgument("worker protocol: bad frame length " + std::to_string(len));
  }
  if (!KnownType(p[4])) {
    return InvalidArgument("worker protocol: unknown frame type " + std::to_string(p[4]));
  }
  if (buf.size() < kHeaderSize + len) return size_t{0};
  frame->type = static_cast<FrameType>(p[4]);
  frame->data = buf.substr(kHeaderSize + 1, len - 1);
  return kHeaderSize + len;
}

bool SplitFields(std::string_view data, size_t n, std::string_view* out) {
  for (size_t i = 0; i + 1 < n; ++i) {
    size_t z = data.find('\0');
    if (z == std::string_view::npos) return false;
    out[i] = data.substr(0, z);
    data.remove_prefix(z + 1);
  }
  if (n > 0) out[n - 1] = data;
  return true;
}

std::vector<std::string_view> SplitAll(std::string_view data) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t z = data.find('\0');
    out.push_back(data.substr(0, z));
    if (z == std::string_view::npos) break;
    data.remove_prefix(z + 1);
  }
  return out;
}

std::string WorkerFdEntry(const char* env_name) {
  return std::string(env_name) + "=" + std::to_string(kWorkerFd);
}

RuntimeApiPath ParseRuntimeApiPath(std::string_view target) {
  if (!target.starts_with(kRuntimeApiPrefix)) return {};
  const std::string_view path = target.substr(kRuntimeApiPrefix.size());
  if (path == "invocation/next") return {RuntimeCall::kNext, {}};
  if (path == "init/error") return {RuntimeCall::kInitError, {}};
  constexpr std::string_view kInvocation = "invocation/";
  if (!path.starts_with(kInvocation)) return {};
  const std::string_view rest = path.substr(kInvocation.size());
  const size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  const std::string_view id = rest.substr(0, slash), what = rest.substr(slash + 1);
  if (what == "response") return {RuntimeCall::kResponse, id};
  if (what == "error") return {RuntimeCall::kError, id};
  return {};
}

std::string RuntimeApiTarget(RuntimeCall call, std::string_view request_id) {
  std::string out(kRuntimeApiPrefix);
  switch (call) {
    case RuntimeCall::kNext:
      return out + "invocation/next";
    case RuntimeCall::kInitError:
      return out + "init/error";
    case RuntimeCall::kResponse:
      return out.append("invocation/").append(request_id).append("/response");
    case RuntimeCall::kError:
      return out.append("invocation/").append(request_id).append("/error");
    case RuntimeCall::kUnknown:
      break;
  }
  return out;
}

void AppendInvocation(std::string& out, const InvocationMsg& m) {
  const std::string deadline = std::to_string(m.deadline_ms);
  AppendFrame(out, FrameType::kInvocation,
              {m.request_id, deadline, m.function_arn, m.trace_id, m.payload});
}

std::optional<InvocationMsg> DecodeInvocation(std::string_view data) {
  std::string_view f[5];
  if (!SplitFields(data, 5, f) || f[0].empty()) return std::nullopt;
  InvocationMsg m{f[0], 0, f[2], f[3], f[4]};
  auto [end, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), m.deadline_ms);
  if (ec != std::errc() || end != f[1].data() + f[1].size()) return std::nullopt;
  return m;
}

void AppendNext(std::string& out) { AppendFrame(out, FrameType::kNext, {}); }

std::optional<int> ParseMaxConcurrency(std::string_view text) {
  if (text.empty() || text.size() > 4 || text[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > kMaxConcurrencyPerInstance) return std::nullopt;
  return n;
}

void AppendPipelinedNext(std::string& out, int max_in_flight) {
  AppendFrame(out, FrameType::kPipelinedNext, {std::to_string(max_in_flight)});
}

std::optional<int> DecodePipelinedNext(std::string_view data) { return ParseMaxConcurrency(data); }

void AppendResponse(std::string& out, const ResponseMsg& m) {
  AppendFrame(out, FrameType::kResponse, {m.request_id, m.payload});
}

std::optional<ResponseMsg> DecodeResponse(std::string_view data) {
  std::string_view f[2];
  if (!SplitFields(data, 2, f)) return std::nullopt;
  return ResponseMsg{f[0], f[1]};
}

void AppendError(std::string& out, const ErrorMsg& m) {
  AppendFrame(out, FrameType::kError, {m.request_id, m.error_type, m.body});
}

std::optional<ErrorMsg> DecodeError(std::string_view data) {
  std::string_view f[3];
  if (!SplitFields(data, 3, f)) return std::nullopt;
  return ErrorMsg{f[0], f[1], f[2]};
}

void AppendInitError(std::string& out, const InitErrorMsg& m) {
  AppendFrame(out, FrameType::kInitError, {m.error_type, m.body});
}

std::optional<InitErrorMsg> DecodeInitError(std::string_view data) {
  std::string_view f[2];
  if (!SplitFields(data, 2, f)) return std::nullopt;
  return InitErrorMsg{f[0], f[1]};
}

// Fields: executable, cwd, argc, argv[1..argc], env...
void AppendLaunch(std::string& out, const LaunchMsg& m) {
  std::vector<std::string> fields{m.executable,
                                  m.cwd,
                                  std::to_string(m.uid),
                                  std::to_string(m.gid),
                                  std::to_string(m.tmp_mb),
                                  std::to_string(m.args.size())};
  fields.insert(fields.end(), m.args.begin(), m.args.end());
  fields.insert(fields.end(), m.env.begin(), m.env.end());
  AppendFrame(out, FrameType::kLaunch, fields);
}

namespace {

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::optional<LaunchMsg> DecodeLaunch(std::string_view data) {
  constexpr size_t kFixed = 6;  // executable, cwd, uid, gid, tmp_mb, argc
  const std::vector<std::string_view> f = SplitAll(data);
  if (f.size() < kFixed) return std::nullopt;
  LaunchMsg m{std::string(f[0]), std::string(f[1]), {}, {}};
  size_t argc = 0;
  if (!ParseNumber(f[2], m.uid) || !ParseNumber(f[3], m.gid) || !ParseNumber(f[4], m.tmp_mb) ||
      !ParseNumber(f[5], argc) || argc > f.size() - kFixed) {
    return std::nullopt;
  }
  // Ids are 32-bit (-1: keep); sizes are non-negative.
  for (int64_t id : {m.uid, m.gid}) {
    if (id < -1 || id > int64_t{UINT32_MAX} - 1) return std::nullopt;
  }
  if (m.tmp_mb < 0 || m.tmp_mb > (int64_t{1} << 30)) return std::nullopt;
  const auto args_end = f.begin() + kFixed + static_cast<std::ptrdiff_t>(argc);
  m.args.assign(f.begin() + kFixed, args_end);
  m.env.assign(args_end, f.end());
  return m;
}

void AppendStemReady(std::string& out, bool has_listener) {
  AppendFrame(out, FrameType::kStemReady, {has_listener ? "1" : "0"});
}

std::optional<bool> DecodeStemReady(std::string_view data) {
  if (data == "1") return true;
  if (data == "0") return false;
  return std::nullopt;
}

void AppendTemplateReady(std::string& out, int64_t init_us) {
  AppendFrame(out, FrameType::kTemplateReady, {std::to_string(init_us)});
}

std::optional<int64_t> DecodeTemplateReady(std::string_view data) {
  int64_t us = 0;
  if (!ParseNumber(data, us) || us < 0) return std::nullopt;
  return us;
}

namespace {

bool ValidInstanceName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void AppendFork(std::string& out, const ForkMsg& m) {
  std::vector<std::string> fields{m.name, std::to_string(m.tmp_mb)};
  fields.insert(fields.end(), m.env.begin(), m.env.end());
  AppendFrame(out, FrameType::kFork, fields);
}

std::optional<ForkMsg> DecodeFork(std::string_view data) {
  const std::vector<std::string_view> f = SplitAll(data);
  if (f.size() < 2 || !ValidInstanceName(f[0])) return std::nullopt;
  ForkMsg m;
  m.name = std::string(f[0]);
  if (!ParseNumber(f[1], m.tmp_mb) || m.tmp_mb < 0 || m.tmp_mb > (int64_t{1} << 30)) {
    return std::nullopt;
  }
  for (size_t i = 2; i < f.size(); ++i) {
    const size_t eq = f[i].find('=');
    if (eq == 0 || eq == std::string_view::npos) return std::nullopt;  // "KEY=VALUE" only
    m.env.emplace_back(f[i]);
  }
  return m;
}

void AppendGo(std::string& out) { AppendFrame(out, FrameType::kGo, std::vector<std::string>{}); }

}  // namespace mlfaas::wire
