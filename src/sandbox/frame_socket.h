// Worker-protocol frames over a Unix stream socket with descriptors (SCM_RIGHTS) and the
// sender's kernel-checked pid (SCM_CREDENTIALS) riding along: what stem cells and snapshot
// templates and their children exchange with the gateway. Blocking, bounded by a timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/worker_protocol.h"

namespace mlfaas::sandbox {

// Sends all of `frame`, with `fds` attached to its first byte.
Status SendWithFds(int sock, const std::string& frame, const std::vector<int>& fds);

// Reads whole frames from one socket, keeping what it read past a frame for the next call.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // The next frame. Descriptors that came with it are appended to fds() (the caller takes them;
  // at most kMaxFds are kept, the rest closed), the sender's pid (as this process sees it; 0
  // when none came) is in pid(). `timeout` < 0: wait for ever. `also` (>= 0): fail as soon as
  // that descriptor is readable (a pidfd: the sender's parent died). Unavailable at EOF
  // or when `also` fired, DeadlineExceeded on timeout; InvalidArgument for a malformed frame.
  StatusOr<wire::Frame> Next(std::chrono::milliseconds timeout, int also = -1);
  std::vector<int>& fds() { return fds_; }
  pid_t pid() const { return pid_; }

  static constexpr size_t kMaxFds = 4;

 private:
  int fd_;
  std::string buf_;
  size_t consumed_ = 0;  // bytes of buf_ that the last frame spanned
  std::vector<int> fds_;
  pid_t pid_ = 0;
};

}  // namespace mlfaas::sandbox
