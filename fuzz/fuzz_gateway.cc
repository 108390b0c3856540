#include "fuzz_gateway.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/worker_protocol.h"

namespace mlfaas::fuzz {

namespace http = boost::beast::http;
namespace fs = std::filesystem;

void QuietLogs() {
  static const bool once = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)once;
}

namespace {

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

const fs::path& ProcessTempDir() {
  static TempDir dir("gw");
  return dir.path();
}

StatusOr<sandbox::LaunchedProcess> FailingLauncher::Launch(const sandbox::LaunchSpec& spec) {
  return Unavailable("fuzz: no process is ever started (" + spec.executable.string() + ")");
}

LoopbackLauncher::~LoopbackLauncher() {
  for (Worker& w : workers_) {
    if (w.fd >= 0) close(w.fd);
    if (w.output_write >= 0) close(w.output_write);
  }
}

bool LoopbackLauncher::Worker::Io() {
  bool moved = false;
  while (fd >= 0 && !out.empty()) {
    ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    out.erase(0, static_cast<size_t>(n));
    moved = true;
  }
  char buf[65536];
  while (fd >= 0) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    moved = true;
  }
  return moved;
}

StatusOr<sandbox::LaunchedProcess> LoopbackLauncher::Launch(const sandbox::LaunchSpec& spec) {
  if (spec.pass_fd < 0) return Unavailable("fuzz: only the worker-protocol transport is faked");
  Worker w;
  w.fd = fcntl(spec.pass_fd, F_DUPFD_CLOEXEC, 3);
  int out[2];
  if (w.fd < 0 || pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) Fail("fd setup", std::strerror(errno));
  SetNonBlocking(w.fd);
  w.output_write = out[1];
  const int pidfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (pidfd < 0) Fail("eventfd", std::strerror(errno));
  if (send_next_) wire::AppendFrame(w.out, wire::FrameType::kNext, {});
  workers_.push_back(std::move(w));
  sandbox::LaunchedProcess p;
  p.pid = 0;
  p.output_fd = out[0];
  p.pidfd = pidfd;
  return p;
}

StatusOr<fs::path> TempCodeStore::CodeDir(const registry::VersionInfo&) { return ProcessTempDir(); }

void PopulateRegistry(testing::FakeRegistry& registry) {
  registry::FunctionConfig builtin;  // runtime "mlfaas", handler "predict"
  builtin.timeout_s = 3;
  registry.Put("kdd99", registry::kLatest, "digest-kdd99", builtin);
  registry.Put("kdd99", "1", "digest-kdd99-1", builtin);
  builtin.memory_mb = 1024;
  registry.Put("kdd99", "2", "digest-kdd99-2", builtin);
  registry.PutAlias({"kdd99", "live", "1", std::nullopt, 0.0, ""});
  registry.PutAlias({"kdd99", "stable", "2", std::nullopt, 0.0, ""});
  registry::FunctionConfig custom;
  custom.runtime = "provided";
  custom.handler = "handler.main";
  custom.environment = {{"MODE", "echo"}};
  registry.Put("echo", registry::kLatest, "digest-echo", custom);
  registry.PutAlias({"echo", "prod", registry::kLatest, std::nullopt, 0.0, ""});
}

FuzzGateway::FuzzGateway(sandbox::ProcessLauncher& launcher, bool with_http) {
  QuietLogs();
  PopulateRegistry(registry_);
  gateway::ManagerOptions mo;
  mo.max_instances = 4;
  mo.runtime_bin = "/nonexistent/mlfaas-runtime";
  mo.worker_transport = gateway::WorkerTransport::kSocket;
  sandbox::ProcessSandboxOptions sbo;
  sbo.cgroups = sandbox::Cgroups::Detect("off");
  sandbox_ = std::make_unique<sandbox::ProcessSandbox>(launcher, std::move(sbo));
  manager_ = std::make_unique<gateway::InstanceManager>(ioc_, clock_, random_, *sandbox_, code_,
                                                        metrics_, std::move(mo));
  invoker_ = std::make_unique<gateway::Invoker>(ioc_, registry_, *manager_, clock_, random_,
                                                gateway::InvokerOptions{});
  api_ = std::make_unique<gateway::ApiContext>(
      gateway::ApiContext{*invoker_,
                          *manager_,
                          metrics_,
                          clock_,
                          shutting_down_,
                          nullptr,
                          &registry_,
                          nullptr,
                          {},  // the control plane too, inline
                          {},  // no function log
                          {},
                          nullptr,  // no metered usage
                          {},
                          nullptr,    // no code store (the model API reads no manifests)
                          nullptr});  // no feedback (its routes answer 404)
  if (!with_http) return;
  gateway::HttpServerOptions so;  // the gateway's limits: body 6 MiB, header 16 KiB, URI 8 KiB
  so.host = "127.0.0.1";
  so.port = 0;
  so.error_factory = gateway::LambdaError;  // as Gateway::Start
  so.large_body_route = gateway::IsControlPlaneUpload;
  server_ = std::make_unique<gateway::HttpServer>(
      ioc_, so, [this](gateway::Request&& req, gateway::Responder respond) {
        gateway::Route(*api_, std::move(req), std::move(respond));
      });
  if (Status st = server_->Start(); !st.ok()) Fail("HttpServer::Start", st.ToString());
}

FuzzGateway::~FuzzGateway() {
  if (server_) server_->Stop();
  invoker_->Shutdown();
  manager_->BeginShutdown();
  Pump();
  ioc_.stop();
  server_.reset();  // the loop is stopped: closes the acceptor
  invoker_.reset();
  manager_.reset();  // KillAll: completes what is still bound to an instance
  // ioc_ goes last: destroying it destroys the handlers that never ran (sessions, timers).
}

void FuzzGateway::Pump(const std::function<bool()>& extra, int max_rounds) {
  int idle = 0;
  for (int round = 0; round < max_rounds; ++round) {
    if (ioc_.stopped()) ioc_.restart();
    size_t ran = ioc_.poll();
    bool moved = extra ? extra() : false;
    idle = (ran == 0 && !moved) ? idle + 1 : 0;
    if (idle >= 3) return;
  }
  Fail("the gateway never became quiescent (livelock?)");
}

ClientConnection::ClientConnection(FuzzGateway& gw) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) Fail("socket", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(gw.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Non-blocking, and every wait retried on EINTR: libFuzzer's -timeout alarm (SIGALRM) can
  // interrupt any system call. On loopback the kernel completes the handshake from the listen
  // backlog, before the gateway calls accept().
  SetNonBlocking(fd_);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS && errno != EINTR)
      Fail("connect to the gateway", std::strerror(errno));
    pollfd p{fd_, POLLOUT, 0};
    int n;
    do {
      n = ::poll(&p, 1, 5000);
    } while (n < 0 && errno == EINTR);
    int err = 0;
    socklen_t len = sizeof err;
    if (n != 1 || getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      Fail("connect to the gateway", std::strerror(err ? err : errno));
    }
  }
}

ClientConnection::~ClientConnection() {
  linger lg{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd_);
}

bool ClientConnection::Io() {
  bool moved = false;
  while (!ex_.server_closed && sent_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n <= 0) break;  // buffer full (EAGAIN), or the server closed (EPIPE, ECONNRESET)
    sent_ += static_cast<size_t>(n);
    moved = true;
  }
  char buf[65536];
  while (!ex_.server_closed) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      ex_.received.append(buf, static_cast<size_t>(n));
      moved = true;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      ex_.server_closed = true;
      moved = true;
    }
    break;
  }
  // Loopback TCP usually delivers within send(), but under load the kernel may defer it to
  // ksoftirqd: bytes the gateway's kernel has not acknowledged yet are still in flight, so the
  // gateway is not quiescent. Bounded, in case its receive window stays closed.
  int unacked = 0;
  if (!moved && !ex_.server_closed && ioctl(fd_, SIOCOUTQ, &unacked) == 0 && unacked > 0 &&
      ++in_flight_waits_ < 100000) {
    sched_yield();
    moved = true;
  }
  return moved;
}

void ClientConnection::AwaitAnswers(FuzzGateway& gw, const PipelinedRequests& requests,
                                    const std::function<bool()>& io) {
  // Only when an answer is missing (which is a finding, unless it is still in flight).
  for (int i = 0; i < 100 && !ex_.server_closed && CountAnswers(ex_, requests) < requests.complete;
       ++i) {
    pollfd p{fd_, POLLIN, 0};
    (void)::poll(&p, 1, 1);  // EINTR: try again anyway
    gw.Pump(io);
  }
}

Exchange HttpExchange(FuzzGateway& gw, std::string_view bytes, const std::function<bool()>& extra) {
  Exchange ex;
  {
    ClientConnection c(gw);
    c.Send(bytes);
    auto io = [&] {
      bool moved = extra ? extra() : false;
      return c.Io() || moved;
    };
    gw.Pump(io);
    c.AwaitAnswers(gw, ParsePipelinedRequests(bytes), io);
    ex = c.exchange();
  }
  gw.Pump(extra);  // the server sees the reset
  return ex;
}

PipelinedRequests ParsePipelinedRequests(std::string_view bytes) {
  PipelinedRequests out;
  while (!bytes.empty()) {
    http::request_parser<http::string_body> p;
    p.header_limit(16 * 1024);
    p.body_limit(6 * 1024 * 1024);
    p.eager(true);
    boost::beast::error_code ec;
    size_t used = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec || !p.is_done()) {
      // The server answers a request whose body fails (or never ends) knowing its method.
      if (p.is_header_done()) out.methods.push_back(p.get().method());
      break;
    }
    out.methods.push_back(p.get().method());
    ++out.complete;
    bytes.remove_prefix(used);
  }
  return out;
}

namespace {

void CheckOne(const gateway::Response& res, bool head, bool raw_ok) {
  const unsigned status = res.result_int();
  std::string_view type(res[http::field::content_type].data(),
                        res[http::field::content_type].size());
  const std::string& body = res.body();
  if (status < 200 || status > 599)
    Fail("final response with an odd status", std::to_string(status));
  if (head) {  // parsed as the answer to HEAD: the header alone
    if (!body.empty()) Fail("a response to HEAD carries a body", body);
    return;
  }
  if (status == 202 || status == 204) {
    if (status == 204 && !body.empty()) Fail("204 with a body", body);
    if (!body.empty() && !nlohmann::json::accept(body)) Fail("202 body is not JSON", body);
    return;
  }
  if (status == 500 && res["X-Amzn-ErrorType"] == "ServiceException" &&
      body.find("internal error: ") != std::string::npos) {
    Fail("a handler threw (caught by the HTTP server's last line of defence)", body);
  }
  if (status == 200 && raw_ok && res.find("X-Mlfaas-Cold-Start") != res.end() &&
      res.find("X-Amz-Function-Error") == res.end()) {
    return;  // the function's own bytes
  }
  if (type.starts_with("text/plain") && status == 200) return;  // GET /metrics
  // The dashboard's files (/ui/...): a redirect, a revalidated file, or the file itself.
  if ((status == 301 || status == 304) && body.empty()) return;
  if (status == 200 && (type.starts_with("text/html") || type.starts_with("text/javascript") ||
                        type.starts_with("text/css"))) {
    return;
  }
  if (!type.starts_with("application/json")) {
    Fail("a response without Content-Type: application/json", std::string(type) + "\n" + body);
  }
  if (!nlohmann::json::accept(body)) Fail("response body is not valid JSON", body);
}

}  // namespace

namespace {

// The final answers in `ex`, in order (interim 100 Continue skipped), parsed as the answers to
// `requests` (no body for HEAD). Stops at bytes that are not a complete response: `error` says
// what, with `rest` the bytes left.
std::vector<gateway::Response> ParseAnswers(const Exchange& ex, const PipelinedRequests& requests,
                                            std::vector<bool>* as_head, std::string* error,
                                            std::string_view* rest_out) {
  const std::vector<http::verb>& methods = requests.methods;
  std::vector<gateway::Response> finals;
  std::string_view rest = ex.received;
  while (!rest.empty()) {
    const bool head = finals.size() < methods.size() && methods[finals.size()] == http::verb::head;
    // A request refused as 414 before its request line was parsed has no known method: its
    // answer carries a body even for HEAD (the connection closes after it).
    std::optional<http::response_parser<http::string_body>> parser;
    boost::beast::error_code ec;
    size_t used = 0;
    bool skipped = false;
    for (bool skip : {head, false}) {
      skipped = skip;
      parser.emplace();
      parser->header_limit(1 << 20);
      parser->body_limit(64u << 20);
      parser->eager(true);
      parser->skip(skip);
      ec = {};
      used = parser->put(boost::asio::buffer(rest.data(), rest.size()), ec);
      if (!skip || ec || parser->get().result_int() != 414) break;
    }
    auto& p = *parser;
    if (ec == http::error::need_more && p.is_header_done() && !p.get().has_content_length() &&
        !p.get().chunked() && ex.server_closed) {
      p.put_eof(ec);  // a body delimited by the end of the connection
      used = rest.size();
    }
    if (ec || !p.is_done()) {
      if (error)
        *error = "the gateway sent bytes that are not a complete HTTP response: " +
                 (ec ? ec.message() : std::string("incomplete"));
      break;
    }
    rest.remove_prefix(used);
    gateway::Response res = p.release();
    if (res.result_int() == 100) continue;  // interim: Expect: 100-continue
    if (as_head) as_head->push_back(skipped);
    finals.push_back(std::move(res));
  }
  if (rest_out) *rest_out = rest;
  return finals;
}

}  // namespace

size_t CountAnswers(const Exchange& ex, const PipelinedRequests& requests) {
  return ParseAnswers(ex, requests, nullptr, nullptr, nullptr).size();
}

std::vector<gateway::Response> CheckResponses(const Exchange& ex, const PipelinedRequests& requests,
                                              const std::function<bool(size_t)>& raw_ok) {
  static const bool verbose = std::getenv("MLFAAS_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "--- %zu requests; the gateway answered (%s):\n%s\n---\n",
                 requests.complete, ex.server_closed ? "then closed" : "connection open",
                 ex.received.c_str());
  }
  std::vector<bool> as_head;
  std::string error;
  std::string_view rest;
  std::vector<gateway::Response> finals = ParseAnswers(ex, requests, &as_head, &error, &rest);
  if (!error.empty()) Fail(error, rest);
  for (size_t i = 0; i < finals.size(); ++i) {
    if (finals[i].version() != 11) Fail("response is not HTTP/1.1");
    CheckOne(finals[i], as_head[i], raw_ok && raw_ok(i));
  }
  if (finals.size() > requests.complete + 1) {
    Fail("more answers than requests", std::to_string(finals.size()) + " answers to " +
                                           std::to_string(requests.complete) + " requests");
  }
  if (!ex.server_closed && finals.size() != requests.complete) {
    Fail("a request was never answered (connection still open)",
         std::to_string(finals.size()) + " answers to " + std::to_string(requests.complete) +
             " requests\n" + ex.received);
  }
  return finals;
}

}  // namespace mlfaas::fuzz
