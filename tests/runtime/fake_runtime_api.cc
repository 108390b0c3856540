#include "runtime/fake_runtime_api.h"

// clang-format off
#include <utility>  // first: Boost 1.74 awaitable.hpp uses std::exchange without including it
// clang-format on

#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mlfaas::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
}

struct FakeRuntimeApi::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::vector<std::string> events;
  size_t next_event = 0;
  std::vector<PostedResult> results;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  int connections = 0;
  int next_calls = 0;
  bool done = false;
  int hold_until = 0;  // HoldNextsUntil
  bool released = false;
  int waiting = 0;
  int most_waiting = 0;
  bool park_when_exhausted = false;
  using Parked = std::vector<std::shared_ptr<asio::steady_timer>>;
  Parked held;          // held requests, woken by Wake(held): HoldNextsUntil, ParkWhenExhausted
  Parked draining;      // nexts past the events waiting for the others' answers, woken per result
  size_t answered = 0;  // responses and errors posted

  void Finish() {
    done = true;
    beast::error_code ec;
    acceptor.close(ec);
    for (auto& s : sockets) s->close(ec);
    Wake(held);
    Wake(draining);
  }

  static void Wake(Parked& parked) {
    for (auto& t : parked) t->cancel();
    parked.clear();
  }

  // Suspends the calling session until Wake(parked).
  asio::awaitable<void> Park(Parked& parked) {
    auto timer = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    parked.push_back(timer);
    beast::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Holds a GET /next as HoldNextsUntil and ParkWhenExhausted say; false when the session must
  // end instead of answering.
  asio::awaitable<bool> MaybeHold() {
    if (hold_until > 0 && !released) {
      most_waiting = std::max(most_waiting, ++waiting);
      if (waiting >= hold_until) {
        released = true;
        Wake(held);
      } else {
        co_await Park(held);
      }
      --waiting;
      if (done) co_return false;
    }
    if (next_event < events.size()) co_return true;
    if (park_when_exhausted) {
      ++next_calls;
      co_await Park(held);  // until Finish()
      co_return false;
    }
    // Past the events, with concurrent loops: the connections close only once every event
    // handed out is answered (another loop may still be about to post its result).
    while (hold_until > 0 && answered < next_event && !done) co_await Park(draining);
    co_return !done;
  }

  // Fills `res` for one request; returns false when the connection must be dropped instead.
  bool Handle(const http::request<http::string_body>& req, http::response<http::string_body>& res) {
    std::string target(req.target());
    res.version(11);
    res.keep_alive(true);
    res.set(http::field::content_type, "application/json");
    if (req.method() == http::verb::get && target == std::string(kPrefix) + "invocation/next") {
      ++next_calls;
      if (next_event >= events.size()) return false;
      size_t i = next_event++;
      auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()) +
                      std::chrono::seconds(60);
      res.result(http::status::ok);
      res.set("Lambda-Runtime-Aws-Request-Id", "req-" + std::to_string(i));
      res.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline.count()));
      res.set("Lambda-Runtime-Invoked-Function-Arn",
              "arn:aws:lambda:local:000000000000:function:test");
      res.set("Lambda-Runtime-Trace-Id", "Root=1-test");
      res.body() = events[i];
      return true;
    }
    PostedResult r;
    r.body = req.body();
    auto it = req.find("Lambda-Runtime-Function-Error-Type");
    if (it != req.end()) r.error_type_header = std::string(it->value());
    const std::string inv = std::string(kPrefix) + "invocation/";
    if (req.method() == http::verb::post && target == std::string(kPrefix) + "init/error") {
      r.kind = PostedResult::Kind::kInitError;
    } else if (req.method() == http::verb::post && target.starts_with(inv) &&
               (target.ends_with("/response") || target.ends_with("/error"))) {
      bool is_error = target.ends_with("/error");
      r.kind = is_error ? PostedResult::Kind::kError : PostedResult::Kind::kResponse;
      size_t id_end = target.size() - (is_error ? 6 : 9);
      r.request_id = target.substr(inv.size(), id_end - inv.size());
    } else {
      res.result(http::status::not_found);
      res.body() = R"({"errorMessage":"unknown path","errorType":"InvalidRequest"})";
      return true;
    }
    results.push_back(std::move(r));
    if (results.back().kind != PostedResult::Kind::kInitError) ++answered;
    Wake(draining);
    res.result(http::status::accepted);
    res.body() = R"({"status":"OK"})";
    return true;
  }

  asio::awaitable<void> Session(std::shared_ptr<tcp::socket> socket) {
    beast::flat_buffer buffer;
    try {
      for (;;) {
        http::request<http::string_body> req;
        co_await http::async_read(*socket, buffer, req, asio::use_awaitable);
        const bool is_next = req.method() == http::verb::get &&
                             req.target() == std::string(kPrefix) + "invocation/next";
        bool answer = true;
        if (is_next) answer = co_await MaybeHold();
        if (!answer) co_return;
        http::response<http::string_body> res;
        bool init_error = req.target() == std::string(kPrefix) + "init/error";
        if (!Handle(req, res)) {
          Finish();
          co_return;
        }
        res.prepare_payload();
        co_await http::async_write(*socket, res, asio::use_awaitable);
        if (init_error) Finish();
      }
    } catch (const std::exception&) {
      // Peer closed or we closed it: the session ends.
    }
  }

  asio::awaitable<void> Accept() {
    try {
      for (;;) {
        auto socket =
            std::make_shared<tcp::socket>(co_await acceptor.async_accept(asio::use_awaitable));
        ++connections;
        sockets.push_back(socket);
        asio::co_spawn(io, Session(socket), asio::detached);
      }
    } catch (const std::exception&) {
    }
  }
};

bool ChildAlive(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

FakeRuntimeApi::FakeRuntimeApi(std::vector<std::string> events) : impl_(std::make_unique<Impl>()) {
  impl_->events = std::move(events);
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
}

FakeRuntimeApi::~FakeRuntimeApi() {
  impl_->Finish();
  impl_->io.restart();
  impl_->io.run_for(std::chrono::milliseconds(100));
}

std::string FakeRuntimeApi::endpoint() const {
  return "127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

bool FakeRuntimeApi::Serve(std::chrono::milliseconds timeout,
                           const std::function<bool()>& worker_alive) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!impl_->done && std::chrono::steady_clock::now() < end) {
    impl_->io.restart();
    impl_->io.run_for(std::chrono::milliseconds(20));
    if (!impl_->done && !worker_alive()) {
      impl_->io.restart();
      impl_->io.run_for(std::chrono::milliseconds(20));  // drain what the worker sent last
      return true;
    }
  }
  return impl_->done;
}

void FakeRuntimeApi::HoldNextsUntil(int n) { impl_->hold_until = n; }
void FakeRuntimeApi::ParkWhenExhausted() { impl_->park_when_exhausted = true; }

const std::vector<PostedResult>& FakeRuntimeApi::results() const { return impl_->results; }
int FakeRuntimeApi::connections() const { return impl_->connections; }
int FakeRuntimeApi::next_calls() const { return impl_->next_calls; }
int FakeRuntimeApi::most_waiting_nexts() const { return impl_->most_waiting; }

}  // namespace mlfaas::testing
