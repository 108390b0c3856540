#include "runtime/http_adapter.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "runtime/transport.h"

namespace mlfaas::runtime {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class AdapterSession;

// Linger(): how long and how much a refused request's remainder is read and dropped.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kDrainChunk = 64 * 1024;
constexpr size_t kMaxDrained = size_t{16} << 20;

// The listening socket, the sessions it started and how the server stops. Thread-safe.
class AdapterServer {
 public:
  AdapterServer(net::io_context& io, const HttpAdapterOptions& o, const HttpRoutes& r)
      : io_(io), options(o), routes(r), acceptor_(net::make_strand(io)), signals_(io) {}

  Status Listen(const std::string& host, unsigned short port);
  void Accept();
  // Stops accepting and lets every session finish the request it is in (idle ones close).
  // `why`: OK (a signal) or the fatal error ServeHttp returns.
  void Stop(Status why);
  void Forget(AdapterSession* session);
  bool stopping() const { return stopping_.load(); }
  Status result() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }

  net::io_context& io_;
  const HttpAdapterOptions& options;
  const HttpRoutes& routes;

 private:
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer retry_{io_};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::set<std::shared_ptr<AdapterSession>> sessions_;
  Status result_;
};

// One connection: read a request (header first, so a declared body over the limit is refused
// before any of it is buffered), route it, write the answer, repeat while keep-alive. Its
// handlers run on its strand, one at a time.
class AdapterSession : public std::enable_shared_from_this<AdapterSession> {
 public:
  AdapterSession(tcp::socket socket, AdapterServer& server)
      : stream_(std::move(socket)), server_(server) {}

  void Start() { ReadHeader(); }

  // From any thread: close now if waiting for a request, else after the current answer.
  void Shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_) self->Close();
    });
  }

 private:
  const HttpAdapterOptions& opts() const { return server_.options; }

  void ReadHeader() {
    if (server_.stopping()) return Close();
    parser_.emplace();
    parser_->header_limit(opts().max_header_bytes);
    parser_->body_limit(opts().max_body_bytes);
    waiting_ = true;
    stream_.expires_after(buffer_.size() > 0 ? opts().read_timeout : opts().idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    waiting_ = false;
    if (ec) return OnReadError(ec);
    const auto length = parser_->content_length();
    if (length && *length > opts().max_body_bytes) return RejectTooLarge();
    if (parser_->is_done()) return Dispatch();
    stream_.expires_after(opts().read_timeout);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                       [self = shared_from_this()](beast::error_code wec, size_t) {
                         if (wec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Dispatch();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec == http::error::body_limit) return RejectTooLarge();
    if (ec == http::error::header_limit) {
      return Reject(431, "RequestHeaderFieldsTooLarge",
                    "the request line and header fields must be at most " +
                        std::to_string(opts().max_header_bytes) + " bytes");
    }
    Reject(400, "BadRequest", "malformed HTTP request: " + ec.message());
  }

  void RejectTooLarge() {
    Reject(413, "RequestTooLarge",
           "the request body must be at most " + std::to_string(opts().max_body_bytes) +
               " bytes (Lambda's payload limit)");
  }

  // Answers {"errorType","errorMessage"}, then closes: the rest of the request is never read.
  void Reject(unsigned status, std::string_view type, const std::string& message) {
    keep_alive_ = false;
    rejected_ = true;
    HttpAnswer answer;
    answer.status = status;
    answer.body = ErrorBody(type, message);
    Write(std::move(answer));
  }

  void Dispatch() {
    stream_.expires_never();
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    const auto method = req.method_string();
    const auto target = req.target();
    HttpAnswer answer = server_.routes.Handle(std::string_view(method.data(), method.size()),
                                              std::string_view(target.data(), target.size()),
                                              std::move(req.body()));
    Write(std::move(answer));
  }

  void Write(HttpAnswer answer) {
    fatal_ = answer.fatal;
    res_.emplace(static_cast<http::status>(answer.status), 11);
    res_->set(http::field::server, "mlfaas-runtime");
    res_->set(http::field::content_type, "application/json");
    if (!answer.allow.empty()) res_->set(http::field::allow, answer.allow);
    res_->keep_alive(keep_alive_ && !fatal_ && !server_.stopping());
    res_->body() = std::move(answer.body);
    res_->prepare_payload();
    stream_.expires_after(opts().write_timeout);
    http::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->AfterWrite(ec);
    });
  }

  void AfterWrite(beast::error_code ec) {
    const bool again = !ec && res_->keep_alive();
    res_.reset();
    if (fatal_) {
      server_.Stop(FailedPrecondition("the handler failed fatally; the server stops"));
    }
    if (again) return ReadHeader();
    if (rejected_ && !ec) return Linger();
    Close();
  }

  // After refusing a request whose rest is still coming: stop sending, and read and drop what
  // the client still sends (bounded) before closing, so that closing with unread input (a TCP
  // reset) does not destroy the answer before the client has read it.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTime);
    drain_ = std::make_unique<char[]>(kDrainChunk);
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(drain_.get(), kDrainChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrained) return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
    server_.Forget(this);
  }

  beast::tcp_stream stream_;
  AdapterServer& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  bool keep_alive_ = false;
  bool fatal_ = false;
  bool waiting_ = false;  // for the next request's header: Shutdown() may close at once
  bool closed_ = false;
  bool rejected_ = false;  // answered with an error before the request was read whole
  std::unique_ptr<char[]> drain_;
  size_t drained_ = 0;
};

Status AdapterServer::Listen(const std::string& host, unsigned short port) {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return InvalidArgument("cannot listen on '" + host + "': not a numeric address");
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  const tcp::endpoint bound = ec ? endpoint : acceptor_.local_endpoint(ec);
  const std::string where =
      (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
      std::to_string(bound.port());
  if (ec) return Unavailable("cannot listen on " + where + ": " + ec.message());
  signals_.add(SIGTERM, ec);
  signals_.add(SIGINT, ec);
  signals_.async_wait([this](beast::error_code sec, int) {
    if (!sec) Stop(Status::Ok());
  });
  std::printf("mlfaas-runtime: listening on %s\n", where.c_str());
  std::fflush(stdout);
  return Status::Ok();
}

void AdapterServer::Accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping()) return;
    if (ec) {  // e.g. out of descriptors: try again shortly rather than spin or stop
      std::fprintf(stderr, "mlfaas-runtime: accept: %s\n", ec.message().c_str());
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([this](beast::error_code) {
        if (!stopping()) Accept();
      });
      return;
    }
    beast::error_code oec;
    socket.set_option(tcp::no_delay(true), oec);
    auto session = std::make_shared<AdapterSession>(std::move(socket), *this);
    {
      std::lock_guard<std::mutex> lock(mu_);
      sessions_.insert(session);
    }
    session->Start();
    Accept();
  });
}

void AdapterServer::Stop(Status why) {
  std::vector<std::shared_ptr<AdapterSession>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (result_.ok() && !why.ok()) result_ = std::move(why);
    if (stopping_.exchange(true)) return;
    open.assign(sessions_.begin(), sessions_.end());
  }
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  });
  signals_.cancel();
  for (auto& s : open) s->Shutdown();
}

void AdapterServer::Forget(AdapterSession* session) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->get() == session) {
      sessions_.erase(it);
      return;
    }
  }
}

// Runs `io` until it has no work left; an exception escaping a handler is logged and the loop
// goes on (the last-line boundary: one connection's bug never stops the server).
void RunIo(net::io_context& io) {
  while (true) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mlfaas-runtime: http adapter: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "mlfaas-runtime: http adapter: unknown exception\n");
    }
  }
}

}  // namespace

Status ParseListenAddress(std::string_view listen, std::string* host, unsigned short* port) {
  const size_t colon = listen.rfind(':');
  const auto bad = [listen](std::string_view why) {
    return InvalidArgument("--http '" + std::string(listen.substr(0, 128)) + "': " +
                           std::string(why) + " (use [HOST]:PORT, e.g. :8080 or 127.0.0.1:0)");
  };
  if (colon == std::string_view::npos) return bad("no ':PORT'");
  std::string_view h = listen.substr(0, colon);
  const std::string_view p = listen.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return bad("the port must be a number in 0..65535");
  }
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string parsed = h.empty() ? "0.0.0.0" : h == "localhost" ? "127.0.0.1" : std::string(h);
  beast::error_code aec;
  (void)net::ip::make_address(parsed, aec);
  if (aec) return bad("the host must be a numeric address");
  *host = std::move(parsed);
  *port = static_cast<unsigned short>(value);
  return Status::Ok();
}

Status ServeHttp(const HttpAdapterOptions& options, const HttpRoutes& routes) {
  std::string host;
  unsigned short port = 0;
  MLFAAS_RETURN_IF_ERROR(ParseListenAddress(options.listen, &host, &port));
  try {
    const int threads = std::max(1, options.threads);
    net::io_context io(threads);
    AdapterServer server(io, options, routes);
    MLFAAS_RETURN_IF_ERROR(server.Listen(host, port));
    server.Accept();
    std::vector<std::thread> pool;
    try {
      for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { RunIo(io); });
    } catch (const std::exception& e) {  // std::system_error: serve on the threads that started
      std::fprintf(stderr, "mlfaas-runtime: started %zu of %d io threads: %s\n", pool.size() + 1,
                   threads, e.what());
    }
    RunIo(io);
    for (std::thread& t : pool) t.join();
    return server.result();
  } catch (const std::exception& e) {
    return Internal(std::string("http adapter: ") + e.what());
  }
}

}  // namespace mlfaas::runtime
