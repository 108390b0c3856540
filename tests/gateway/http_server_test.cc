#include "gateway/base/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "gateway/http_client.h"

namespace mlfaas::gateway {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// An echo server on port 0 with small limits, running on its own io thread.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.body_limit = 1024;
    o.header_limit = 2048;
    o.uri_limit = 256;
    o.idle_timeout = std::chrono::milliseconds(300);
    server_ = std::make_unique<HttpServer>(ioc_, o, [this](Request&& req, Responder respond) {
      ++handled_;
      if (req.target() == "/stream" || req.target() == "/stream-short") {
        Response head{http::status::ok, 11};
        head.set(http::field::content_type, "text/event-stream");
        head.body() = "ignored";
        auto stream = respond.Stream(std::move(head));
        if (req.target() == "/stream-short") {
          stream->Write("one\n");
          stream->Write("two\n");
          stream->Close();
        }
        std::lock_guard<std::mutex> lock(mu_);
        streams_.push_back(std::move(stream));
        return;
      }
      if (req.target() == "/later") {  // answer from another thread, later
        std::lock_guard<std::mutex> lock(mu_);
        helpers_.emplace_back([respond] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          Response res{http::status::ok, 11};
          res.body() = "later";
          respond(std::move(res));
        });
        return;
      }
      Response res{http::status::ok, 11};
      res.body() = req.body().empty() ? std::string(req.target()) : req.body();
      respond(std::move(res));
    });
    ASSERT_TRUE(server_->Start().ok());
    work_.emplace(net::make_work_guard(ioc_));
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    for (auto& t : helpers_) t.join();  // drop every Responder while the loop still runs
    for (auto& st : streams_) st->Close();
    server_->Stop();
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  // Sends raw bytes and returns everything the server answers until it closes (or 5 s).
  std::string Raw(const std::string& bytes) {
    net::io_context io;
    boost::beast::tcp_stream s(io);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(s, net::buffer(bytes));
    s.expires_after(std::chrono::seconds(5));
    std::string out;
    char buf[4096];
    boost::beast::error_code ec;
    for (;;) {
      size_t n = s.read_some(net::buffer(buf), ec);
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::atomic<int> handled_{0};
  std::mutex mu_;
  // Connects `s`, asks for /stream and waits (bounded) for the handler's stream; null if none.
  std::shared_ptr<BodyStream> StreamOn(tcp::socket& s) {
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(s, net::buffer(std::string("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")));
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!streams_.empty()) return streams_.back();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }
  std::vector<std::shared_ptr<BodyStream>> streams_;  // under mu_
  std::vector<std::thread> helpers_;
};

TEST_F(HttpServerTest, ServesKeepAliveRequestsAndLateResponders) {
  testing::HttpClient c(server_->port());
  auto a = c.Post("/x", "hello");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "hello");
  auto b = c.Get("/later");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "later");
  EXPECT_EQ(c.Get("/again").body, "/again");
  EXPECT_EQ(handled_, 3);
}

TEST_F(HttpServerTest, OversizedContentLengthGets413WithoutSendingTheBody) {
  // Only the header is sent: the server must answer from Content-Length alone.
  std::string out = Raw("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_NE(out.find("RequestTooLargeException"), std::string::npos);
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, OversizedChunkedBodyGets413) {
  std::string chunk(2000, 'x');
  std::string out = Raw("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                        chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  std::string out = Raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, HugeHeadersGet431) {
  std::string out =
      Raw("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out;
}

TEST_F(HttpServerTest, LongUriGets414) {
  std::string out = Raw("GET /" + std::string(600, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 414", 0), 0u) << out;
}

TEST_F(HttpServerTest, IdleConnectionIsClosedByTheServer) {
  net::io_context io;
  boost::beast::tcp_stream s(io);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  s.expires_after(std::chrono::seconds(5));
  char buf[16];
  boost::beast::error_code ec;
  s.read_some(net::buffer(buf), ec);  // returns when the server closes after 300 ms idle
  EXPECT_EQ(ec, net::error::eof);
}

TEST_F(HttpServerTest, AStreamedAnswerHasNoLengthAndEndsWithTheConnection) {
  std::string got = Raw("GET /stream-short HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "one\ntwo\n");  // the head's body is not sent
  EXPECT_EQ(server_->Busy(), 0);
}

TEST_F(HttpServerTest, AStreamEndsWhenItsClientGoesAway) {
  net::io_context io;
  tcp::socket s(io);
  auto stream = StreamOn(s);
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->Write("data: 1\n\n"));
  EXPECT_EQ(server_->Busy(), 0);  // an open stream is not an exchange a stop waits for
  s.close();
  bool ended = false;
  for (int i = 0; i < 500 && !ended; ++i) {
    ended = stream->closed();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(ended);
  EXPECT_FALSE(stream->Write("data: 2\n\n"));
}

TEST_F(HttpServerTest, AStreamWhoseClientDoesNotReadIsDropped) {
  net::io_context io;
  tcp::socket s(io);
  auto stream = StreamOn(s);
  ASSERT_TRUE(stream);
  const std::string chunk(64 * 1024, 'x');
  // The kernel's buffers take a few MiB, then at most kMaxPending bytes wait: the stream is
  // dropped long before this bound.
  int writes = 0;
  while (writes < 4096 && stream->Write(chunk)) {
    if (++writes % 16 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_LT(writes, 4096);
  EXPECT_TRUE(stream->closed());
}

TEST_F(HttpServerTest, BindingAPortInUseFails) {
  HttpServerOptions o;
  o.port = server_->port();
  HttpServer second(ioc_, o, [](Request&&, Responder) {});
  Status st = second.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot listen"), std::string::npos);
}

}  // namespace
}  // namespace mlfaas::gateway
