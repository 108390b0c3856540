// The HTTP adapter mode (`mlfaas-runtime --http [HOST]:PORT`, docs/runtime.md): the worker as a
// plain HTTP/1.1 server (Boost.Beast, asynchronous) for Knative and containers, without the
// Lambda Runtime API. What it answers is runtime/http_routes.h; this is the I/O around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/http_routes.h"

namespace mlfaas::runtime {

struct HttpAdapterOptions {
  std::string listen;  // "[HOST]:PORT"; HOST a numeric address, empty for all (0.0.0.0)
  int threads = 1;     // io threads, each may run the handler: 1 serves one request at a time
  size_t max_body_bytes = size_t{6} << 20;  // Lambda's synchronous payload limit: larger is 413
  uint32_t max_header_bytes = 16 * 1024;    // request line and fields: larger is 431
  // A connection waiting for its next request is closed after idle_timeout; a request must
  // arrive whole within read_timeout of its first byte; an answer must be taken within
  // write_timeout.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(75);
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
};

// Parses "[HOST]:PORT" (":8080", "127.0.0.1:0", "[::1]:8080"; "localhost" is 127.0.0.1). Only
// numeric hosts: the static bootstrap has no name resolution. InvalidArgument on anything else.
Status ParseListenAddress(std::string_view listen, std::string* host, unsigned short* port);

// Binds, prints `mlfaas-runtime: listening on HOST:PORT` on stdout (flushed; the bound port when
// PORT is 0), and serves `routes` until SIGTERM or SIGINT (then OK: the acceptor closes, requests
// in progress are answered, idle connections close) or until a route answers `fatal` (then,
// once that answer is written, FailedPrecondition). A bind failure is Unavailable. Keep-alive,
// pipelined requests; a malformed request is answered 400 and its connection closed, without
// affecting any other. Never throws.
Status ServeHttp(const HttpAdapterOptions& options, const HttpRoutes& routes);

}  // namespace mlfaas::runtime
