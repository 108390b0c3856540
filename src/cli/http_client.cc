#include "cli/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>

namespace mlfaas::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Seconds(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

}  // namespace

StatusOr<HttpEndpoint> ParseHttpUrl(const std::string& url) {
  const std::string bad = "gateway URL '" + url + "': ";
  std::string rest = url;
  const size_t scheme_end = rest.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = Lower(rest.substr(0, scheme_end));
    if (scheme == "https") {
      return InvalidArgument(bad +
                             "https is not supported: mlfaas speaks plain HTTP. Reach a TLS "
                             "endpoint through a local TLS proxy or tunnel (stunnel, ssh -L) and "
                             "give its http:// address");
    }
    if (scheme != "http") return InvalidArgument(bad + "use http://HOST:PORT");
    rest = rest.substr(scheme_end + 3);
  }
  const size_t path_start = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, path_start);
  if (path_start != std::string::npos && rest.substr(path_start) != "/") {
    return InvalidArgument(bad + "give the gateway's root (http://HOST:PORT), without a path");
  }
  if (authority.find('@') != std::string::npos) {
    return InvalidArgument(bad +
                           "credentials do not go in the URL; set MLFAAS_ACCESS_KEY_ID and "
                           "MLFAAS_SECRET_ACCESS_KEY");
  }
  HttpEndpoint ep;
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return InvalidArgument(bad + "unclosed '[' in the host");
    ep.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument(bad + "expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) return InvalidArgument(bad + "empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string::npos && authority.find(':', colon + 1) != std::string::npos) {
      return InvalidArgument(bad + "write an IPv6 address in brackets: http://[::1]:9000");
    }
    ep.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return InvalidArgument(bad + "empty port");
    }
  }
  if (ep.host.empty()) return InvalidArgument(bad + "no host");
  if (port.empty()) port = "80";
  const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return InvalidArgument(bad + "the port must be a number between 1 and 65535");
  }
  ep.port = port;
  ep.host_header = authority;
  ep.url = "http://" + authority;
  return ep;
}

StatusOr<HttpResponse> HttpClient::Send(HttpRequest req) const {
  const std::string& url = endpoint_.url;
  const http::verb verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown) return Internal("unknown HTTP method " + req.method);
  try {
    asio::io_context ioc;
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) return Unavailable("cannot reach the gateway at " + url + ": " + ec.message());

    // Each step runs asynchronously on this thread so that the stream's expiry can cancel it:
    // Beast applies timeouts to asynchronous operations only.
    beast::tcp_stream stream(ioc);
    auto run = [&ioc] {
      ioc.restart();
      ioc.run();
    };
    stream.expires_after(options_.connect_timeout);
    stream.async_connect(endpoints,
                         [&ec](beast::error_code e, const asio::ip::tcp::endpoint&) { ec = e; });
    run();
    if (ec == beast::error::timeout) {
      return DeadlineExceeded("cannot reach the gateway at " + url + ": no connection within " +
                              Seconds(options_.connect_timeout));
    }
    if (ec) return Unavailable("cannot reach the gateway at " + url + ": " + ec.message());

    http::request<http::string_body> r{verb, req.target, 11};
    r.set(http::field::host, endpoint_.host_header);
    for (const auto& [name, value] : req.headers) r.set(name, value);
    const auto budget = options_.exchange_timeout + std::chrono::seconds(req.body.size() >> 20);
    r.body() = std::move(req.body);
    r.keep_alive(false);
    r.prepare_payload();

    const auto deadline = std::chrono::steady_clock::now() + budget;
    const std::string what = req.method + " " + req.target;
    const Status late = DeadlineExceeded("the gateway at " + url + " did not answer " + what +
                                         " within " + Seconds(budget));
    boost::system::error_code write_ec;
    stream.expires_at(deadline);
    http::async_write(stream, r, [&write_ec](beast::error_code e, size_t) { write_ec = e; });
    run();
    if (write_ec == beast::error::timeout) return late;
    // A gateway may answer and close before reading the whole request (a body over its limit):
    // a failed write is reported only if no answer can be read either.

    // The header first, then the body: Boost 1.74's parser loses a Content-Length over its body
    // limit when it parses eagerly (http::read) and the header arrives with body bytes; read
    // alone, the header is checked against the limit before any body is taken.
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    auto done = [&ec](beast::error_code e, size_t) { ec = e; };
    stream.expires_at(deadline);
    http::async_read_header(stream, buffer, parser, done);
    run();
    if (!ec) {
      stream.expires_at(deadline);
      http::async_read(stream, buffer, parser, done);
      run();
    }
    if (ec == beast::error::timeout) return late;
    if (ec == http::error::body_limit) {
      return ResourceExhausted(fmt::format("the gateway's answer to {} is larger than {} MB", what,
                                           options_.max_response_bytes >> 20));
    }
    if (ec) {
      const auto& cause = write_ec ? write_ec : ec;
      return Unavailable("the gateway at " + url + " closed the connection during " + what + ": " +
                         cause.message());
    }
    HttpResponse out;
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
    }
    out.body = std::move(res.body());
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return out;
  } catch (const std::exception& e) {
    return Unavailable("cannot reach the gateway at " + url + ": " + e.what());
  }
}

}  // namespace mlfaas::cli
