#include "loadtest/session.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "loadtest/schedule.h"

namespace mlfaas::loadtest {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr uint64_t kMaxResponseBody = 64ull << 20;  // a response body larger than this is an error
constexpr auto kConnectBackoff = std::chrono::milliseconds(10);

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, StageShared& shared, Recorder& recorder, int index)
      : shared_(shared),
        recorder_(recorder),
        index_(index),
        socket_(io),
        wait_(io),
        watchdog_(io) {}

  void Start() {
    const Stage& st = *shared_.stage;
    wait_.expires_at(shared_.stage_start + UserStartOffset(st, index_, shared_.time_scale));
    wait_.async_wait([self = shared_from_this()](error_code) {
      self->shared_.active_users->fetch_add(1);
      self->started_ = true;
      self->Next();
    });
  }

 private:
  bool Expired(SteadyTime t) const { return shared_.stage_end && t >= *shared_.stage_end; }

  // Decides when the next request goes out, or finishes the session.
  void Next() {
    const Stage& st = *shared_.stage;
    const SteadyTime now = std::chrono::steady_clock::now();
    // Paced stages send every request intended before the stage end, however late.
    const bool paced = shared_.pace_per_second > 0 && !st.timeline();
    if (shared_.stop->load() || (!paced && Expired(now)) ||
        (st.iterations && done_ >= st.iterations)) {
      return Finish();
    }
    SteadyTime when = now;
    if (st.timeline()) {
      if (done_ >= static_cast<int64_t>(st.at.size())) return Finish();
      when = shared_.stage_start + Scaled(st.at[done_], shared_.time_scale);
    } else if (paced) {
      when = shared_.stage_start +
             PacedSendOffset(shared_.next_paced.fetch_add(1), shared_.pace_per_second);
      if (Expired(when)) return Finish();
    }
    if (when <= now) return Send(when);
    wait_.expires_at(when);
    wait_.async_wait([self = shared_from_this(), when](error_code) { self->Send(when); });
  }

  void Send(SteadyTime intended) {
    const SteadyTime now = std::chrono::steady_clock::now();
    sent_ = shared_.measure_from_intended ? intended : now;
    deadline_ = now + shared_.scenario->requests[req_].timeout;
    in_flight_ = true;
    timed_out_ = false;
    ArmWatchdog();
    if (socket_.is_open()) return Write();
    asio::async_connect(socket_, shared_.endpoints[req_],
                        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                          if (ec) return self->Fail(ErrorKind::kConnect, 0);
                          self->socket_.set_option(tcp::no_delay(true));
                          self->Write();
                        });
  }

  void Write() {
    asio::async_write(socket_, asio::buffer(shared_.wire[req_]),
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (ec) return self->Fail(ErrorKind::kIo, 0);
                        self->Read();
                      });
  }

  // The header first: Boost 1.74's eager read does not hold a Content-Length that arrives with
  // body bytes to body_limit, and a string body reserves whatever length it is told (bad_alloc).
  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxResponseBody);
    http::async_read_header(
        socket_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
          if (!ec && self->parser_->content_length() &&
              *self->parser_->content_length() > kMaxResponseBody) {
            ec = http::error::body_limit;
          }
          if (ec || self->parser_->is_done()) return self->OnRead(ec);
          http::async_read(self->socket_, self->buffer_, *self->parser_,
                           [self](error_code rec, size_t) { self->OnRead(rec); });
        });
  }

  void OnRead(error_code ec) {
    if (ec) {
      const bool protocol = std::string_view(ec.category().name()) == "beast.http";
      return Fail(protocol ? ErrorKind::kProtocol : ErrorKind::kIo, 0);
    }
    OnResponse();
  }

  void OnResponse() {
    const auto& res = parser_->get();
    Sample s = MakeSample(static_cast<int>(res.result_int()));
    const auto cold = res.find("X-Mlfaas-Cold-Start");
    s.cold_start = cold != res.end() &&
                   IEquals(std::string_view(cold->value().data(), cold->value().size()), "true");
    const RequestSpec& spec = shared_.scenario->requests[req_];
    if (s.status >= 400) {
      s.error = ErrorKind::kHttp;
    } else if (!CheckAssertions(spec, s.status, res.body()).empty()) {
      s.error = ErrorKind::kAssertion;
    }
    if (!res.keep_alive()) CloseSocket();
    Complete(s, Scaled(spec.think_time, shared_.time_scale));
  }

  void Fail(ErrorKind kind, int status) {
    if (timed_out_) kind = ErrorKind::kTimeout;
    CloseSocket();
    Sample s = MakeSample(status);
    s.error = kind;
    const Duration think = Scaled(shared_.scenario->requests[req_].think_time, shared_.time_scale);
    Complete(s, kind == ErrorKind::kConnect ? std::max<Duration>(think, kConnectBackoff) : think);
  }

  Sample MakeSample(int status) const {
    const SteadyTime now = std::chrono::steady_clock::now();
    Sample s;
    s.done_ns = (now - shared_.run_start).count();
    s.latency_ns = (now - sent_).count();
    s.status = status;
    s.user = index_;
    return s;
  }

  // `wait`: real time before the next request (think-time already scaled).
  void Complete(const Sample& s, Duration wait) {
    in_flight_ = false;
    recorder_.Record(s);
    ++done_;
    req_ = (req_ + 1) % shared_.scenario->requests.size();
    if (wait.count() <= 0 || shared_.stage->timeline()) return Next();
    wait_.expires_after(wait);
    wait_.async_wait([self = shared_from_this()](error_code) { self->Next(); });
  }

  // One timer per session, re-armed lazily: it fires at most once per timeout period.
  void ArmWatchdog() {
    if (watchdog_armed_) return;
    watchdog_armed_ = true;
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait([self = shared_from_this()](error_code ec) {
      self->watchdog_armed_ = false;
      if (ec || !self->in_flight_) return;
      if (std::chrono::steady_clock::now() >= self->deadline_) {
        self->timed_out_ = true;
        self->CloseSocket();
      } else {
        self->ArmWatchdog();
      }
    });
  }

  void CloseSocket() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
  }

  void Finish() {
    CloseSocket();
    watchdog_.cancel();
    if (started_) shared_.active_users->fetch_sub(1);
    shared_.on_done();
  }

  StageShared& shared_;
  Recorder& recorder_;
  const int index_;
  tcp::socket socket_;
  asio::steady_timer wait_;
  asio::steady_timer watchdog_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  size_t req_ = 0;
  int64_t done_ = 0;
  bool started_ = false;
  bool in_flight_ = false;
  bool timed_out_ = false;
  bool watchdog_armed_ = false;
  SteadyTime sent_;
  SteadyTime deadline_;
};

}  // namespace

std::string SerializeRequest(const RequestSpec& r) {
  std::string out = r.method + " " + r.url.target + " HTTP/1.1\r\nHost: " + r.url.host;
  if (r.url.port != "80") out += ":" + r.url.port;
  out += "\r\nUser-Agent: mlfaas-bench\r\n";
  bool has_length = false;
  for (const auto& [name, value] : r.headers) {
    out += name + ": " + value + "\r\n";
    has_length = has_length || IEquals(name, "Content-Length");
  }
  if (!has_length && (!r.body.empty() || r.method == "POST" || r.method == "PUT")) {
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += r.body;
  return out;
}

void StartSession(asio::io_context& io, StageShared& shared, Recorder& recorder, int index) {
  std::make_shared<Session>(io, shared, recorder, index)->Start();
}

}  // namespace mlfaas::loadtest
