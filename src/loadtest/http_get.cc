#include "loadtest/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace mlfaas::loadtest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

StatusOr<HttpReply> HttpGet(const Url& base, const std::string& target,
                            std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(base.host, base.port, ec);
  if (ec) return Unavailable("cannot resolve " + base.host + ": " + ec.message());
  HttpReply reply;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, base.host + ":" + base.port);
  req.set(http::field::connection, "close");
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::flat_buffer buffer;
  // Asynchronous operations under one deadline (tcp_stream's timer), run to completion here.
  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](boost::system::error_code e, const auto&) {
    if (e) {
      ec = e;
      return;
    }
    http::async_write(stream, req, [&](boost::system::error_code e2, size_t) {
      if (e2) {
        ec = e2;
        return;
      }
      http::async_read(stream, buffer, parser,
                       [&](boost::system::error_code e3, size_t) { ec = e3; });
    });
  });
  io.run();
  if (ec) return Unavailable("GET " + target + ": " + ec.message());
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return reply;
}

std::string UrlEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace mlfaas::loadtest
