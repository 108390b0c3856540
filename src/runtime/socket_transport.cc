#include "runtime/socket_transport.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace mlfaas::runtime {

SocketTransport::SocketTransport(int fd) : fd_(fd) {}

SocketTransport::~SocketTransport() {
  (void)Flush();
  if (fd_ >= 0) ::close(fd_);
}

Status SocketTransport::Flush() {
  size_t off = 0;
  while (off < out_.size()) {
    ssize_t n = ::write(fd_, out_.data() + off, out_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out_.clear();
      return Unavailable(std::string("worker socket: write: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  out_.clear();
  return Status::Ok();
}

StatusOr<std::string> SocketTransport::ReadFrame(wire::FrameType expected) {
  for (;;) {
    wire::Frame frame;
    MLFAAS_ASSIGN_OR_RETURN(size_t used, wire::ParseFrame(in_, &frame));
    if (used > 0) {
      if (frame.type != expected) {
        return Unavailable(std::string("worker socket: unexpected frame '") +
                           static_cast<char>(frame.type) + "'");
      }
      std::string data(frame.data);
      in_.erase(0, used);
      return data;
    }
    // Wait in poll(POLLIN) rather than in read(): a blocked read() sleeps on the socket's one
    // wait queue and is woken, for nothing, each time the gateway drains what this worker wrote
    // (the "write space" wake-up); poll's keyed wait ignores those.
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
      return Unavailable(std::string("worker socket: poll: ") + std::strerror(errno));
    }
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Unavailable("worker socket closed by the gateway");
    if (n < 0) return Unavailable(std::string("worker socket: read: ") + std::strerror(errno));
    in_.append(buf, static_cast<size_t>(n));
  }
}

StatusOr<Invocation> ParseInvocationFrame(std::string_view data) {
  std::optional<wire::InvocationMsg> m = wire::DecodeInvocation(data);
  if (!m) return Unavailable("worker socket: malformed invocation frame");
  Invocation inv;
  inv.request_id = m->request_id;
  inv.deadline_ms = m->deadline_ms;
  inv.function_arn = m->function_arn;
  inv.trace_id = m->trace_id;
  inv.payload = m->payload;
  return inv;
}

StatusOr<Invocation> SocketTransport::Next() {
  wire::AppendNext(out_);
  MLFAAS_RETURN_IF_ERROR(Flush());
  MLFAAS_ASSIGN_OR_RETURN(std::string data, ReadFrame(wire::FrameType::kInvocation));
  return ParseInvocationFrame(data);
}

Status SocketTransport::PostResponse(const std::string& request_id, std::string_view payload) {
  wire::AppendResponse(out_, {request_id, payload});
  return Status::Ok();
}

Status SocketTransport::PostError(const std::string& request_id, std::string_view error_type,
                                  std::string_view error_message) {
  const std::string body = ErrorBody(error_type, error_message);
  wire::AppendError(out_, {request_id, error_type, body});
  return Status::Ok();
}

Status SocketTransport::PostInitError(std::string_view error_type, std::string_view error_message) {
  const std::string body = ErrorBody(error_type, error_message);
  wire::AppendInitError(out_, {error_type, body});
  return Flush();
}

void SocketTransport::Interrupt() { ::shutdown(fd_, SHUT_RDWR); }

}  // namespace mlfaas::runtime
