// Async HTTP/1.1 server (Boost.Beast) used twice: the public gateway and, for instances that
// speak HTTP (custom runtimes, --worker-transport http), one Runtime API endpoint per instance,
// all on one io_context.
//
// Protocol limits enforced before the handler sees a request:
//   - header block larger than `header_limit`      -> 431, connection closed
//   - request target longer than `uri_limit`        -> 414, connection closed
//   - Content-Length (or chunked body) > body_limit -> 413 without reading the body, closed
//   - malformed HTTP                                -> 400, closed
//   - idle keep-alive connections close after `idle_timeout`; a request (header + body) that
//     does not arrive within `read_timeout` is dropped (slow clients).
// The handler answers through a Responder, now or later, from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace mlfaas::gateway {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace detail {
class Session;
}

// The body of a streamed answer (server-sent events): chunks written in order until Close, the
// client going away (anything it sends, or EOF, ends the stream) or the server stopping.
// Thread-safe; obtained from Responder::Stream.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Queues `data`; false (and nothing queued) once the stream is closed, or when more than
  // kMaxPending bytes would wait to be written: a client that does not read is dropped.
  virtual bool Write(std::string data) = 0;
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  static constexpr size_t kMaxPending = 1 << 20;
};

// Completes one request. Copyable handle; call it exactly once (later calls are ignored).
// Thread-safe: the write is posted to the connection's strand. Dropping every copy without
// calling it closes the connection.
class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<detail::Session> s) : session_(std::move(s)) {}
  void operator()(Response res) const;
  explicit operator bool() const { return session_ != nullptr; }
  // Answers with `head` (status and fields; its body is ignored) and no Content-Length, then
  // streams the body through the returned handle; the connection closes when the stream ends.
  // Counts as the one call to this Responder. Null if it was already answered. The stream does
  // not count in HttpServer::Busy (it may last for ever): the owner closes it before shutdown.
  std::shared_ptr<BodyStream> Stream(Response head) const;

 private:
  std::shared_ptr<detail::Session> session_;
};

using Handler = std::function<void(Request&& req, Responder respond)>;
// Builds the error response for a protocol-level rejection (413, 400, 431, 414, ...).
using ErrorFactory =
    std::function<Response(http::status status, const std::string& type, const std::string& msg)>;

// {"type": ..., "message": ...} with Content-Type: application/json.
Response JsonErrorResponse(http::status status, const std::string& type, const std::string& msg);

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port
  uint64_t body_limit = 6 * 1024 * 1024;
  uint32_t header_limit = 16 * 1024;
  size_t uri_limit = 8 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  ErrorFactory error_factory = JsonErrorResponse;
  std::string server_name = "mlfaas";
  // When set, an accepted connection is served only if admit(its descriptor) holds; otherwise
  // it is closed at once, unread.
  std::function<bool(int)> admit;
  // When set, the body limit of a request whose target this returns true for (the control
  // plane's code uploads), instead of body_limit. Such a request with a body over body_limit
  // takes one of large_body_slots while it is received and answered; with none free it is
  // refused (503 ServiceException, unread): a few large uploads at once, never many.
  std::function<bool(std::string_view target)> large_body_route;
  uint64_t large_body_limit = 70ull << 20;
  int large_body_slots = 2;
  // When both are set, every request handed to the handler is timed from its last byte read to
  // its response's last byte written, and on_exchange gets route_of(method, target) (a name
  // from a fixed set, never the client's bytes), the status and the time. Called on the
  // connection's strand; must not throw (an exception is swallowed).
  std::function<const char*(http::verb method, std::string_view target)> route_of;
  std::function<void(const char* route, unsigned status, std::chrono::nanoseconds elapsed)>
      on_exchange;
};

// Owns a listening socket. Sessions outlive the server object safely (they share its state).
// Start/Stop are thread-safe; the handler runs on io_context threads.
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Unavailable when the address cannot be bound.
  Status Start();
  // Starts accepting on `listen_fd`, a socket already bound and listening (an execution
  // environment's, inside its own network namespace); the server owns it from here on, also
  // when this fails.
  Status Adopt(int listen_fd);
  // Stops accepting new connections; open connections finish their current exchange (a request
  // still uploading is read to its end and answered), then close.
  void Stop();
  // Requests being received (header complete) or answered right now. Thread-safe.
  int Busy() const;
  // The bound port (valid after Start).
  uint16_t port() const { return port_; }

  struct State;

 private:
  std::shared_ptr<State> state_;
  uint16_t port_ = 0;
};

}  // namespace mlfaas::gateway
