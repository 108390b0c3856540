#include "runtime/http_transport.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <vector>

#include "common/worker_protocol.h"
#include "runtime/name_resolver.h"

namespace mlfaas::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Larger than any payload the Runtime API may deliver (6 MB sync invoke limit).
constexpr uint64_t kMaxBodyBytes = 16ull << 20;

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

std::string Header(const HttpResponse& r, std::string_view name) {
  auto it = r.find(beast::string_view(name.data(), name.size()));
  return it == r.end() ? std::string() : std::string(it->value());
}

}  // namespace

Status SplitHostPort(std::string_view endpoint, std::string* host, std::string* port) {
  size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == endpoint.size()) {
    return InvalidArgument("runtime API endpoint '" + std::string(endpoint) + "' is not host:port");
  }
  std::string_view h = endpoint.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  *host = std::string(h);
  *port = std::string(endpoint.substr(colon + 1));
  return Status::Ok();
}

struct HttpTransport::Impl {
  std::string host_header;
  std::vector<tcp::endpoint> endpoints;
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool connected = false;
  // Interrupt() runs on another thread: it and whatever opens or closes the socket's descriptor
  // (Connect, Close) hold `mu`. Reads and writes do not: they only use the descriptor.
  std::mutex mu;
  bool interrupted = false;

  Status Connect() {
    std::lock_guard<std::mutex> lock(mu);
    if (interrupted) return Unavailable("runtime API connection interrupted");
    beast::error_code ec;
    asio::connect(socket, endpoints, ec);
    if (ec)
      return Unavailable("cannot connect to runtime API " + host_header + ": " + ec.message());
    socket.set_option(tcp::no_delay(true), ec);
    connected = true;
    buffer.clear();
    return Status::Ok();
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    connected = false;
  }

  // Sends `req` and reads the whole response. kUnavailable on any I/O error.
  StatusOr<HttpResponse> RoundTrip(HttpRequest& req) {
    if (!connected) MLFAAS_RETURN_IF_ERROR(Connect());
    req.set(http::field::host, host_header);
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    http::write(socket, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    // The header first: Boost 1.74's eager read does not hold a Content-Length that arrives with
    // body bytes to body_limit, and a string body reserves whatever length it is told (bad_alloc).
    if (!ec) http::read_header(socket, buffer, parser, ec);
    if (!ec && parser.content_length() && *parser.content_length() > kMaxBodyBytes) {
      ec = http::error::body_limit;
    }
    if (!ec && !parser.is_done()) http::read(socket, buffer, parser, ec);
    if (ec) {
      Close();
      return Unavailable("runtime API connection lost (" + std::string(req.target()) +
                         "): " + ec.message());
    }
    HttpResponse res = parser.release();
    if (!res.keep_alive()) Close();
    return res;
  }

  Status Post(std::string target, std::string body, std::string_view error_type) {
    HttpRequest req{http::verb::post, target, 11};
    req.set(http::field::content_type, "application/json");
    if (!error_type.empty()) {
      req.set(wire::kErrorTypeHeader, beast::string_view(error_type.data(), error_type.size()));
    }
    req.body() = std::move(body);
    MLFAAS_ASSIGN_OR_RETURN(HttpResponse res, RoundTrip(req));
    unsigned code = res.result_int();
    if (code >= 200 && code < 300) return Status::Ok();
    std::string msg = "runtime API answered " + std::to_string(code) + " to " + target;
    if (!res.body().empty()) msg += ": " + res.body().substr(0, 200);
    return code < 500 ? InvalidArgument(msg) : FailedPrecondition(msg);
  }
};

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpTransport::~HttpTransport() = default;

StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(std::string_view endpoint) {
  std::string host, port;
  MLFAAS_RETURN_IF_ERROR(SplitHostPort(endpoint, &host, &port));
  unsigned short port_number = 0;
  const auto [end, pec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (pec != std::errc() || end != port.data() + port.size()) {
    return InvalidArgument("runtime API endpoint '" + std::string(endpoint) +
                           "': the port must be a number in 0..65535");
  }
  auto impl = std::make_unique<Impl>();
  impl->host_header = std::string(endpoint);
  // An IP literal (what Lambda and mlfaas give) needs no resolver: no getaddrinfo, no NSS.
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) {
    impl->endpoints.emplace_back(address, port_number);
  } else {
    auto resolved = ResolveHostName(host, port_number);
    if (!resolved.ok()) {
      return Unavailable("cannot resolve runtime API '" + std::string(endpoint) +
                         "': " + resolved.status().message());
    }
    impl->endpoints = std::move(resolved).value();
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
}

void HttpTransport::Interrupt() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->interrupted = true;
  if (impl_->socket.is_open()) ::shutdown(impl_->socket.native_handle(), SHUT_RDWR);
}

StatusOr<Invocation> HttpTransport::Next() {
  HttpRequest req{http::verb::get, wire::RuntimeApiTarget(wire::RuntimeCall::kNext), 11};
  MLFAAS_ASSIGN_OR_RETURN(HttpResponse res, impl_->RoundTrip(req));
  if (res.result_int() != 200) {
    return FailedPrecondition("runtime API answered " + std::to_string(res.result_int()) +
                              " to /invocation/next: " + res.body().substr(0, 200));
  }
  Invocation inv;
  inv.request_id = Header(res, wire::kRequestIdHeader);
  if (inv.request_id.empty()) {
    return FailedPrecondition(
        "runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id");
  }
  std::string deadline = Header(res, wire::kDeadlineHeader);
  std::from_chars(deadline.data(), deadline.data() + deadline.size(), inv.deadline_ms);
  inv.function_arn = Header(res, wire::kFunctionArnHeader);
  inv.trace_id = Header(res, wire::kTraceIdHeader);
  inv.client_context = Header(res, wire::kClientContextHeader);
  inv.cognito_identity = Header(res, wire::kCognitoIdentityHeader);
  inv.payload = std::move(res.body());
  return inv;
}

Status HttpTransport::PostResponse(const std::string& request_id, std::string_view payload) {
  return impl_->Post(wire::RuntimeApiTarget(wire::RuntimeCall::kResponse, request_id),
                     std::string(payload), "");
}

Status HttpTransport::PostError(const std::string& request_id, std::string_view error_type,
                                std::string_view error_message) {
  return impl_->Post(wire::RuntimeApiTarget(wire::RuntimeCall::kError, request_id),
                     ErrorBody(error_type, error_message), error_type);
}

Status HttpTransport::PostInitError(std::string_view error_type, std::string_view error_message) {
  return impl_->Post(wire::RuntimeApiTarget(wire::RuntimeCall::kInitError),
                     ErrorBody(error_type, error_message), error_type);
}

}  // namespace mlfaas::runtime
