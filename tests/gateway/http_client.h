// A tiny blocking HTTP/1.1 client for gateway tests (Boost.Beast), 127.0.0.1 only.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <string>

namespace mlfaas::testing {

struct HttpReply {
  int status = 0;  // 0 = connection failed
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// One keep-alive connection. Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : port_(port), stream_(ioc_) {}

  HttpReply Request(boost::beast::http::verb verb, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {}) {
    namespace http = boost::beast::http;
    HttpReply out;
    try {
      if (!connected_) {
        stream_.connect(
            boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
        connected_ = true;
      }
      http::request<http::string_body> req{verb, target, 11};
      req.set(http::field::host, "127.0.0.1");
      for (const auto& [k, v] : headers) req.set(k, v);
      req.body() = body;
      if (verb != http::verb::get || !body.empty()) req.prepare_payload();
      stream_.expires_after(std::chrono::seconds(30));
      http::write(stream_, req);
      boost::beast::flat_buffer buf;
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      http::read(stream_, buf, parser);
      auto res = parser.release();
      out.status = res.result_int();
      out.body = res.body();
      for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(tolower(c));
        out.headers[name] = std::string(f.value());
      }
      if (!res.keep_alive()) Close();
    } catch (const std::exception&) {
      Close();
      out.status = 0;
    }
    return out;
  }

  HttpReply Post(const std::string& target, const std::string& body,
                 const std::map<std::string, std::string>& headers = {}) {
    return Request(boost::beast::http::verb::post, target, body, headers);
  }
  HttpReply Get(const std::string& target) {
    return Request(boost::beast::http::verb::get, target);
  }

 private:
  void Close() {
    boost::beast::error_code ec;
    stream_.socket().close(ec);
    connected_ = false;
  }
  uint16_t port_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  bool connected_ = false;
};

}  // namespace mlfaas::testing
