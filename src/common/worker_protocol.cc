#include "common/worker_protocol.h"

namespace mlfaas::wire {
namespace {

bool KnownType(uint8_t t) {
  switch (static_cast<FrameType>(t)) {
    case FrameType::kNext:
    case FrameType::kResponse:
    case FrameType::kError:
    case FrameType::kInitError:
    case FrameType::kInvocation:
    case FrameType::kLaunch:
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

}  // namespace mlfaas::wire
