// RuntimeTransport over the mlfaas worker protocol (common/worker_protocol.h): blocking I/O on a
// Unix stream socket inherited from `mlfaas serve` ($MLFAAS_RUNTIME_FD).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/worker_protocol.h"
#include "runtime/transport.h"

namespace mlfaas::runtime {

// A response or error is queued and written together with the following Next() (one write for
// "here is the result, give me the next one"), or at destruction. Any I/O error, and a closed
// socket, is kUnavailable: the worker is expected to exit. Not thread-safe.
class SocketTransport final : public RuntimeTransport {
 public:
  // Takes ownership of `fd`.
  explicit SocketTransport(int fd);
  ~SocketTransport() override;
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  StatusOr<Invocation> Next() override;
  Status PostResponse(const std::string& request_id, std::string_view payload) override;
  Status PostError(const std::string& request_id, std::string_view error_type,
                   std::string_view error_message) override;
  Status PostInitError(std::string_view error_type, std::string_view error_message) override;
  // shutdown(2) of the socket.
  void Interrupt() override;

  // The socket, still owned by this transport: with AWS_LAMBDA_MAX_CONCURRENCY > 1 the worker
  // runs the pipelined loop (runtime/pipeline.h) on it instead of calling Next().
  int fd() const { return fd_; }

  // Reads one frame, which must be of type `expected` (a waiting stem cell's launch frame).
  StatusOr<std::string> ReadFrame(wire::FrameType expected);

 private:
  // Writes what is queued.
  Status Flush();

  const int fd_;
  std::string out_;  // queued frames
  std::string in_;   // bytes read but not yet consumed
};

// Parses a V frame's fields into an Invocation.
StatusOr<Invocation> ParseInvocationFrame(std::string_view data);

}  // namespace mlfaas::runtime
