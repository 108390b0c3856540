// The worker's HTTP Runtime API client against a server that lies about its body size: the
// answer is an error, never an allocation of what the header claims (Boost 1.74's eager read
// does not hold such a Content-Length to body_limit; the transport reads the header first).
#include "runtime/http_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace mlfaas::runtime {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TEST(HttpTransportTest, AContentLengthBeyondTheLimitIsAnErrorNotAnAllocation) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  std::thread server([&] {
    boost::system::error_code ec;
    tcp::socket s(ioc);
    acceptor.accept(s, ec);
    if (ec) return;
    asio::streambuf request;
    asio::read_until(s, request, "\r\n\r\n", ec);
    // The header and some body bytes in one write, as a hostile peer would send them.
    const std::string answer =
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
        "Content-Length: 50000000000\r\n\r\n{\"a\":1}";
    asio::write(s, asio::buffer(answer), ec);
    s.shutdown(tcp::socket::shutdown_both, ec);
  });
  auto transport = HttpTransport::Create("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(transport.ok()) << transport.status().message();
  auto next = (*transport)->Next();  // must not throw std::bad_alloc
  EXPECT_FALSE(next.ok());
  server.join();
}

}  // namespace
}  // namespace mlfaas::runtime
