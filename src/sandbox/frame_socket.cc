#include "sandbox/frame_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mlfaas::sandbox {

Status SendWithFds(int sock, const std::string& frame, const std::vector<int>& fds) {
  size_t off = 0;
  bool first = true;
  while (off < frame.size()) {
    iovec iov{const_cast<char*>(frame.data() + off), frame.size() - off};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * FrameReader::kMaxFds)] = {};
    if (first && !fds.empty()) {
      if (fds.size() > FrameReader::kMaxFds) return InvalidArgument("too many descriptors");
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable(std::string("send: ") + std::strerror(errno));
    off += static_cast<size_t>(n);
    first = false;
  }
  return Status::Ok();
}

FrameReader::~FrameReader() {
  for (int fd : fds_) close(fd);
}

StatusOr<wire::Frame> FrameReader::Next(std::chrono::milliseconds timeout, int also) {
  buf_.erase(0, consumed_);
  consumed_ = 0;
  pid_ = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    wire::Frame frame;
    MLFAAS_ASSIGN_OR_RETURN(size_t used, wire::ParseFrame(buf_, &frame));
    if (used > 0) {
      consumed_ = used;
      return frame;
    }
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return DeadlineExceeded("no frame within " + std::to_string(timeout.count()) + " ms");
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p[2] = {{fd_, POLLIN, 0}, {also, POLLIN, 0}};
    const int ready = poll(p, also >= 0 ? 2 : 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Unavailable(std::string("poll: ") + std::strerror(errno));
    if (ready == 0) continue;  // the deadline check above ends it
    if (also >= 0 && (p[1].revents & POLLIN) && !(p[0].revents & POLLIN)) {
      return Unavailable("the other side's process ended");
    }
    char chunk[4096];
    iovec iov{chunk, sizeof chunk};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds) + CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_RIGHTS) {
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          if (fds_.size() < kMaxFds) {
            fds_.push_back(fd);
          } else {
            close(fd);
          }
        }
      } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        if (pid_ == 0) pid_ = cred.pid;
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) return InvalidArgument("too many descriptors in a frame");
    if (n < 0) return Unavailable(std::string("recv: ") + std::strerror(errno));
    if (n == 0) return Unavailable("the other side closed the socket");
    if (buf_.size() + static_cast<size_t>(n) > wire::kMaxFrame + wire::kHeaderSize) {
      return InvalidArgument("frame too large");
    }
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace mlfaas::sandbox
