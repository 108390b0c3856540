#include "gateway/base/http_server.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json.h"

namespace mlfaas::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Response JsonErrorResponse(http::status status, const std::string& type, const std::string& msg) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = DumpJson(nlohmann::json{{"type", type}, {"message", msg}});
  return res;
}

struct HttpServer::State {
  State(net::io_context& io, HttpServerOptions o, Handler h)
      : ioc(io), options(std::move(o)), handler(std::move(h)), acceptor(net::make_strand(io)) {}
  net::io_context& ioc;
  const HttpServerOptions options;
  const Handler handler;
  tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};
  std::atomic<int> busy{0};  // exchanges between a complete header and the end of the response
  std::atomic<int> large_bodies{0};  // large_body_slots taken
  // Accept errors (out of descriptors or memory) are retried after a growing pause instead of
  // at once, which would spin. Used only by the accept chain (one accept at a time).
  net::steady_timer accept_retry{acceptor.get_executor()};  // on the acceptor's strand
  std::chrono::milliseconds accept_backoff{0};
};

namespace detail {

class Session : public std::enable_shared_from_this<Session> {
  static constexpr size_t kDrainChunk = 16384;
  static constexpr size_t kFirstRead = 16384;

 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}
  ~Session() { EndExchange(); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  void Send(Response res) {
    if (answered_.exchange(true)) return;
    net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(res)]() mutable {
      self->Write(std::move(r));
    });
  }

  // Responder::Stream: the head now, the body through StreamWrite until CloseStream.
  bool OpenStream(Response head) {
    if (answered_.exchange(true)) return false;
    net::post(stream_.get_executor(), [self = shared_from_this(), h = std::move(head)]() mutable {
      self->BeginStream(std::move(h));
    });
    return true;
  }

  bool StreamWrite(std::string data) {
    if (stream_closed_.load()) return false;
    if (stream_pending_.fetch_add(data.size()) + data.size() > BodyStream::kMaxPending) {
      CloseStream(/*drop=*/true);  // the client does not read: drop it, never buffer without bound
      return false;
    }
    net::post(stream_.get_executor(), [self = shared_from_this(), d = std::move(data)]() mutable {
      self->stream_queue_.push_back(std::move(d));
      self->StreamNext();
    });
    return true;
  }

  // Accepts no more writes; what is queued still goes out unless `drop`.
  void CloseStream(bool drop) {
    stream_closed_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this(), drop] {
      if (drop) self->stream_dead_ = true;
      self->StreamNext();
    });
  }

  bool StreamClosed() const { return stream_closed_.load(); }

 private:
  const HttpServerOptions& opts() const { return state_->options; }

  // Waits (idle_timeout) for the first bytes of the next request, then gives the whole request
  // read_timeout: a client trickling its header in (slowloris) cannot hold the connection longer.
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(opts().header_limit);
    parser_->body_limit(opts().body_limit);
    if (buffer_.size() > 0) return ParseHeader();  // pipelined: already here
    stream_.expires_after(opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->OnReadError(ec);
                              self->buffer_.commit(n);
                              self->ParseHeader();
                            });
  }

  void ParseHeader() {
    BeginExchange();  // the request's first bytes are here
    stream_.expires_after(opts().read_timeout);
    // A request line over the URI limit is refused as such (414), before the header limit
    // (431) would see it.
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const size_t eol = data.find("\r\n");
    line_seen_ = eol != std::string_view::npos;
    if ((line_seen_ ? eol : data.size()) > opts().uri_limit) {
      return Reject(http::status::uri_too_long, "UriTooLongException", "request URI too long");
    }
    beast::error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));  // stops after the header (not eager)
    if (ec != http::error::need_more) return OnHeader(ec);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code rec, size_t) { self->OnHeader(rec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    BeginExchange();
    const auto& req = parser_->get();
    head_request_ = req.method() == http::verb::head;
    if (req.target().size() > opts().uri_limit) {
      return Reject(http::status::uri_too_long, "UriTooLongException", "request URI too long");
    }
    limit_ = opts().body_limit;
    if (opts().large_body_route &&
        opts().large_body_route(std::string_view(req.target().data(), req.target().size()))) {
      limit_ = opts().large_body_limit;
    }
    const auto len = parser_->content_length();
    if (len && *len > limit_) return RejectTooLarge(*len);
    if (limit_ > opts().body_limit && (!len || *len > opts().body_limit)) {
      if (state_->large_bodies.fetch_add(1) >= opts().large_body_slots) {
        state_->large_bodies.fetch_sub(1);
        return Reject(http::status::service_unavailable, "ServiceException",
                      "too many large uploads at once; retry shortly");
      }
      holds_large_ = true;
    }
    parser_->body_limit(limit_);
    if (parser_->is_done()) return Dispatch();
    // Usually the body arrived with the header: parse it from the buffer, without another
    // asynchronous round (the common case on keep-alive connections).
    if (!beast::iequals(req[http::field::expect], "100-continue") && buffer_.size() > 0) {
      beast::error_code pec;
      size_t used = parser_->put(buffer_.data(), pec);
      buffer_.consume(used);
      if (pec == http::error::need_more) pec = {};
      if (pec) return OnReadError(pec);
      if (parser_->is_done()) return Dispatch();
    }
    stream_.expires_after(opts().read_timeout);
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
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
    if (ec == http::error::header_limit) {
      // The request line never ended: it alone is over the limit, a long URI.
      if (!line_seen_) {
        return Reject(http::status::uri_too_long, "UriTooLongException", "request URI too long");
      }
      return Reject(http::status::request_header_fields_too_large,
                    "RequestHeaderFieldsTooLargeException", "request header fields too large");
    }
    if (ec == http::error::body_limit) return RejectTooLarge(0);
    Reject(http::status::bad_request, "BadRequestException",
           "malformed HTTP request: " + ec.message());
  }

  void RejectTooLarge(uint64_t len) {
    std::string msg =
        "Request must be smaller than " + std::to_string(limit_) + " bytes for the operation";
    if (len) msg += " (Content-Length " + std::to_string(len) + ")";
    Reject(http::status::payload_too_large, "RequestTooLargeException", msg);
  }

  // Answers with an error and closes the connection (the rest of the request is never read).
  void Reject(http::status status, const std::string& type, const std::string& msg) {
    keep_alive_ = false;
    rejected_ = true;
    answered_ = true;
    Write(opts().error_factory(status, type, msg));
  }

  void Dispatch() {
    keep_alive_ = parser_->get().keep_alive();
    head_request_ = parser_->get().method() == http::verb::head;
    stream_.expires_never();
    answered_ = false;
    route_ = nullptr;
    if (opts().route_of && opts().on_exchange) {
      const auto& req = parser_->get();
      route_ =
          opts().route_of(req.method(), std::string_view(req.target().data(), req.target().size()));
      dispatched_at_ = std::chrono::steady_clock::now();
    }
    // A handler must not throw; if one does, this request gets a 500 and the connection closes.
    try {
      state_->handler(parser_->release(), Responder(shared_from_this()));
    } catch (const std::exception& e) {
      keep_alive_ = false;
      Send(opts().error_factory(http::status::internal_server_error, "ServiceException",
                                std::string("internal error: ") + e.what()));
    }
  }

  void Write(Response res) {
    res_ = std::move(res);
    res_.version(11);
    res_.keep_alive(keep_alive_);
    if (res_.find(http::field::server) == res_.end())
      res_.set(http::field::server, opts().server_name);
    res_.prepare_payload();
    // The header is serialized here (Beast's serializer costs more than the rest of a small
    // response) and the header and body go out in one gathered write, tried at once: a few
    // hundred bytes nearly always fit the socket buffer. Only a remainder waits for the reactor.
    SerializeHead();
    // A response to HEAD has the header fields of the GET answer (Content-Length included) and
    // never a body (RFC 9112 6.3): a client would read the body as the next response.
    const size_t body_size = head_request_ ? 0 : res_.body().size();
    std::array<net::const_buffer, 2> bufs{net::buffer(head_),
                                          net::buffer(res_.body().data(), body_size)};
    const size_t total = head_.size() + body_size;
    beast::error_code ec;
    auto& sock = stream_.socket();
    if (!sock.non_blocking()) sock.non_blocking(true, ec);
    size_t sent = ec ? 0 : sock.write_some(bufs, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) ec = {};
    if (ec || sent == total) return AfterWrite(ec);
    stream_.expires_after(opts().write_timeout);
    beast::buffers_suffix<std::array<net::const_buffer, 2>> rest(bufs);
    rest.consume(sent);
    net::async_write(stream_, rest, [self = shared_from_this()](beast::error_code wec, size_t) {
      self->AfterWrite(wec);
    });
  }

  void SerializeHead() {
    head_.clear();
    head_ += "HTTP/1.1 ";
    head_ += std::to_string(res_.result_int());
    head_ += ' ';
    head_.append(res_.reason().data(), res_.reason().size());
    head_ += "\r\n";
    for (const auto& f : res_) {
      head_.append(f.name_string().data(), f.name_string().size());
      head_ += ": ";
      head_.append(f.value().data(), f.value().size());
      head_ += "\r\n";
    }
    head_ += "\r\n";
  }

  void ReportExchange() {
    if (!route_) return;
    try {
      opts().on_exchange(route_, res_.result_int(),
                         std::chrono::steady_clock::now() - dispatched_at_);
    } catch (...) {  // an observer's failure must not cost the connection
    }
    route_ = nullptr;
  }

  // A streamed answer: the head (no Content-Length: the body ends when the connection does),
  // then whatever StreamWrite queues. Anything the client sends, or its EOF, ends the stream.
  void BeginStream(Response head) {
    res_ = std::move(head);
    res_.body().clear();
    res_.version(11);
    res_.keep_alive(false);
    res_.erase(http::field::content_length);
    res_.erase(http::field::transfer_encoding);
    if (res_.find(http::field::server) == res_.end())
      res_.set(http::field::server, opts().server_name);
    SerializeHead();
    ReportExchange();
    EndExchange();  // a stream may last for ever: it is not an exchange Stop waits for
    keep_alive_ = false;
    stream_queue_.push_front(std::move(head_));
    stream_pending_.fetch_add(stream_queue_.front().size());
    if (head_request_) stream_closed_ = true;  // the head alone, then the connection closes
    stream_.expires_never();
    stream_.async_read_some(
        net::buffer(watch_, sizeof watch_),
        [self = shared_from_this()](beast::error_code, size_t) { self->StreamGone(); });
    StreamNext();
  }

  // The client went away (or sent something, which a stream's client never does), or a write
  // failed: nothing more is sent.
  void StreamGone() {
    stream_closed_ = true;
    stream_dead_ = true;
    StreamNext();
  }

  // On the strand: writes the queued chunks in order, one at a time; closes the connection once
  // the stream is closed and its queue written, at once when it is dead or the server stops.
  void StreamNext() {
    if (stream_writing_) return;
    if (state_->stopped.load(std::memory_order_relaxed)) stream_closed_ = stream_dead_ = true;
    if (stream_dead_) {
      stream_queue_.clear();
      if (!stream_shut_) Close();
      stream_shut_ = true;
      return;
    }
    if (stream_queue_.empty()) {
      if (stream_closed_.load() && !stream_shut_) {
        stream_shut_ = true;
        Close();
      }
      return;
    }
    stream_writing_ = true;
    stream_.expires_after(opts().write_timeout);
    net::async_write(stream_, net::buffer(stream_queue_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->stream_writing_ = false;
                       self->stream_pending_.fetch_sub(self->stream_queue_.front().size());
                       self->stream_queue_.pop_front();
                       if (ec) return self->StreamGone();
                       self->StreamNext();
                     });
  }

  void AfterWrite(beast::error_code ec) {
    ReportExchange();
    res_ = {};
    head_request_ = false;
    EndExchange();
    if (!ec && rejected_) return Drain();
    // Once the server stops, connections close after their current exchange.
    if (ec || !keep_alive_ || state_->stopped.load(std::memory_order_relaxed)) return Close();
    ReadHeader();
  }

  // A request is being received or answered: the server's Busy() count covers it.
  void BeginExchange() {
    if (!in_exchange_) state_->busy.fetch_add(1, std::memory_order_relaxed);
    in_exchange_ = true;
  }
  void EndExchange() {
    if (in_exchange_) state_->busy.fetch_sub(1, std::memory_order_relaxed);
    in_exchange_ = false;
    if (holds_large_) state_->large_bodies.fetch_sub(1);
    holds_large_ = false;
  }

  // After a rejection: half-close, then discard (never buffer) whatever the client still sends
  // for a short while, so closing does not reset the connection before it reads the answer.
  void Drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    if (!drain_buf_) drain_buf_ = std::make_unique<char[]>(kDrainChunk);
    stream_.async_read_some(net::buffer(drain_buf_.get(), kDrainChunk),
                            [self = shared_from_this()](beast::error_code rec, size_t n) {
                              self->drained_ += n;
                              if (rec || self->drained_ > (64u << 20)) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    EndExchange();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::State> state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response res_;
  std::string head_;  // serialized status line and fields of res_
  bool keep_alive_ = true;
  bool head_request_ = false;  // the exchange answers a HEAD request: no body is sent
  bool rejected_ = false;
  bool in_exchange_ = false;
  bool line_seen_ = false;    // the request line's end was among the first bytes read
  bool holds_large_ = false;  // this exchange holds one of the large-body slots
  uint64_t limit_ = 0;        // the current request's body limit
  uint64_t drained_ = 0;
  std::unique_ptr<char[]> drain_buf_;  // allocated only for rejected connections
  std::atomic<bool> answered_{false};
  // A streamed answer (BeginStream): chunks waiting (the first one in writing while
  // stream_writing_), their bytes, and whether the stream ended.
  std::deque<std::string> stream_queue_;
  bool stream_writing_ = false;
  bool stream_dead_ = false;  // the connection is gone: the queue is dropped
  bool stream_shut_ = false;  // Close() was called for the stream
  std::atomic<size_t> stream_pending_{0};
  std::atomic<bool> stream_closed_{false};
  char watch_[64];               // what a streamed answer's client sends (it ends the stream)
  const char* route_ = nullptr;  // set while a timed exchange is answered (route_of's name)
  std::chrono::steady_clock::time_point dispatched_at_;
};

}  // namespace detail

void Responder::operator()(Response res) const {
  if (session_) session_->Send(std::move(res));
}

namespace {

class SessionStream final : public BodyStream {
 public:
  explicit SessionStream(std::shared_ptr<detail::Session> s) : session_(std::move(s)) {}
  ~SessionStream() override { session_->CloseStream(/*drop=*/false); }
  bool Write(std::string data) override { return session_->StreamWrite(std::move(data)); }
  void Close() override { session_->CloseStream(/*drop=*/false); }
  bool closed() const override { return session_->StreamClosed(); }

 private:
  std::shared_ptr<detail::Session> session_;
};

}  // namespace

std::shared_ptr<BodyStream> Responder::Stream(Response head) const {
  if (!session_ || !session_->OpenStream(std::move(head))) return nullptr;
  return std::make_shared<SessionStream>(session_);
}

namespace {

void Accept(std::shared_ptr<HttpServer::State> state) {
  auto& acceptor = state->acceptor;
  auto strand = net::make_strand(state->ioc);
  acceptor.async_accept(strand, [state](beast::error_code ec, tcp::socket socket) {
    if (state->stopped || ec == net::error::operation_aborted) return;
    if (ec) {  // EMFILE, ENFILE, ENOBUFS, ENOMEM: the condition lasts; do not spin on it
      using std::chrono::milliseconds;
      state->accept_backoff =
          std::clamp(state->accept_backoff * 2, milliseconds(10), milliseconds(1000));
      state->accept_retry.expires_after(state->accept_backoff);
      state->accept_retry.async_wait([state](beast::error_code tec) {
        if (!tec && !state->stopped) Accept(state);
      });
      return;
    }
    state->accept_backoff = std::chrono::milliseconds(0);
    if (state->options.admit && !state->options.admit(socket.native_handle())) {
      socket.close(ec);
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<detail::Session>(std::move(socket), state)->Start();
    }
    Accept(state);
  });
}

}  // namespace

HttpServer::HttpServer(net::io_context& ioc, HttpServerOptions options, Handler handler)
    : state_(std::make_shared<State>(ioc, std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  Stop();
  // With the loop stopped no handler can run concurrently: close now so the acceptor never
  // outlives its io_context while still registered with the reactor.
  if (state_->ioc.stopped()) {
    beast::error_code ec;
    state_->acceptor.close(ec);
  }
}

Status HttpServer::Start() {
  beast::error_code ec;
  auto addr = net::ip::make_address(state_->options.host, ec);
  if (ec) return InvalidArgument("invalid listen address '" + state_->options.host + "'");
  tcp::endpoint ep(addr, state_->options.port);
  auto& a = state_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + state_->options.host + ":" +
                       std::to_string(state_->options.port) + ": " + ec.message());
  }
  port_ = a.local_endpoint().port();
  Accept(state_);
  return Status::Ok();
}

Status HttpServer::Adopt(int listen_fd) {
  beast::error_code ec;
  auto& a = state_->acceptor;
  a.assign(tcp::v4(), listen_fd, ec);
  if (ec) {
    ::close(listen_fd);
    return Unavailable("cannot accept on the environment's Runtime API socket: " + ec.message());
  }
  port_ = a.local_endpoint(ec).port();
  Accept(state_);
  return Status::Ok();
}

int HttpServer::Busy() const { return state_->busy.load(std::memory_order_relaxed); }

void HttpServer::Stop() {
  if (state_->stopped.exchange(true)) return;
  net::post(state_->acceptor.get_executor(), [s = state_] {
    beast::error_code ec;
    s->acceptor.close(ec);
    s->accept_retry.cancel();
  });
}

}  // namespace mlfaas::gateway
