// A small HTTP/1.1 keep-alive server on 127.0.0.1:0 for loadtest tests (Beast, one io thread).
// Answers every request with `status` and `body`; the first response on each connection carries
// `X-Mlfaas-Cold-Start: true` when `cold_first` is set. Stops and joins in the destructor.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <string>
#include <thread>

namespace mlfaas::testing {

class TestHttpServer {
 public:
  struct Options {
    int status = 200;
    std::string body = R"({"predictions":[{"anomaly":false}],"model_version":"1"})";
    bool cold_first = true;
  };

  explicit TestHttpServer(Options o) : opts_(std::move(o)), acceptor_(io_) {
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
  TestHttpServer() : TestHttpServer(Options{}) {}
  ~TestHttpServer() {
    io_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url(const std::string& path = "/invoke") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int64_t requests() const { return requests_.load(); }
  int64_t connections() const { return connections_.load(); }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(TestHttpServer& s, boost::asio::ip::tcp::socket sock)
        : server(s), socket(std::move(sock)) {}
    void Read() {
      req = {};
      boost::beast::http::async_read(
          socket, buffer, req, [self = shared_from_this()](boost::beast::error_code ec, size_t) {
            if (!ec) self->Reply();
          });
    }
    void Reply() {
      namespace http = boost::beast::http;
      server.requests_++;
      res = {};
      res.result(server.opts_.status);
      res.version(11);
      res.set(http::field::content_type, "application/json");
      if (server.opts_.cold_first && first) res.set("X-Mlfaas-Cold-Start", "true");
      first = false;
      res.body() = server.opts_.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::async_write(socket, res,
                        [self = shared_from_this()](boost::beast::error_code ec, size_t) {
                          if (!ec) self->Read();
                        });
    }
    TestHttpServer& server;
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::response<boost::beast::http::string_body> res;
    bool first = true;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, boost::asio::ip::tcp::socket sock) {
      if (ec) return;
      connections_++;
      std::make_shared<Conn>(*this, std::move(sock))->Read();
      Accept();
    });
  }

  Options opts_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> connections_{0};
  std::thread thread_;
};

}  // namespace mlfaas::testing
