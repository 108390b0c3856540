// A stand-in for a gateway's HTTP API in CLI tests: an HTTP/1.1 server on 127.0.0.1:0 (Beast,
// one io thread) that answers each request with what the test's handler returns and records
// every request it gets. Stops and joins in the destructor.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mlfaas::testing {

class FakeGateway {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
    std::string body;
    std::string header(const std::string& lower_name) const {
      for (const auto& [k, v] : headers) {
        if (k == lower_name) return v;
      }
      return "";
    }
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  };
  struct Reply {
    int status = 200;
    std::string body;
    std::map<std::string, std::string> headers;
    bool hang = false;  // send nothing and keep the connection open (until the server stops)
  };
  using Handler = std::function<Reply(const Request&)>;

  static Reply Json(int status, const nlohmann::json& body) {
    return Reply{status, body.is_null() ? "" : body.dump(), {{"Content-Type", "application/json"}}};
  }
  // An AWS-shaped error, as the gateway sends them.
  static Reply AwsError(int status, const std::string& type, const std::string& message) {
    Reply r = Json(status, {{"Type", status >= 500 ? "Service" : "User"}, {"message", message}});
    r.headers["X-Amzn-ErrorType"] = type;
    return r;
  }

  explicit FakeGateway(Handler handler) : handler_(std::move(handler)), acceptor_(io_) {
    namespace asio = boost::asio;
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeGateway() {
    io_.stop();
    thread_.join();
    hung_.clear();  // their sockets before the io_context they belong to
  }
  FakeGateway(const FakeGateway&) = delete;
  FakeGateway& operator=(const FakeGateway&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  void Clear() {
    std::lock_guard<std::mutex> l(mu_);
    requests_.clear();
  }
  void SetHandler(Handler h) {
    std::lock_guard<std::mutex> l(mu_);
    handler_ = std::move(h);
  }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(FakeGateway& s, boost::asio::ip::tcp::socket sock) : server(s), socket(std::move(sock)) {}
    void Read() {
      parser.emplace();
      parser->body_limit(256 << 20);
      boost::beast::http::async_read(
          socket, buffer, *parser,
          [self = shared_from_this()](boost::beast::error_code ec, size_t) {
            if (!ec) self->Answer();
          });
    }
    void Answer() {
      namespace http = boost::beast::http;
      auto req = parser->release();
      Request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(tolower(c));
        r.headers.emplace_back(name, std::string(f.value()));
      }
      r.body = std::move(req.body());
      Handler handler;
      {
        std::lock_guard<std::mutex> l(server.mu_);
        server.requests_.push_back(r);
        handler = server.handler_;
      }
      Reply reply = handler(r);
      if (reply.hang) {
        server.hung_.push_back(shared_from_this());  // io thread only
        return;
      }
      res = {};
      res.result(reply.status);
      res.version(11);
      for (const auto& [k, v] : reply.headers) res.set(k, v);
      res.body() = reply.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::async_write(
          socket, res, [self = shared_from_this()](boost::beast::error_code ec, size_t) {
            if (!ec && self->res.keep_alive()) self->Read();
            if (!ec && !self->res.keep_alive()) {
              boost::beast::error_code ignored;
              self->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
            }
          });
    }
    FakeGateway& server;
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer buffer;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser;
    boost::beast::http::response<boost::beast::http::string_body> res;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      std::make_shared<Conn>(*this, std::move(s))->Read();
      Accept();
    });
  }

  mutable std::mutex mu_;
  Handler handler_;
  std::vector<Request> requests_;
  std::vector<std::shared_ptr<Conn>> hung_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace mlfaas::testing
