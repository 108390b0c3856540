// AWS_LAMBDA_MAX_CONCURRENCY > 1: the pipelined loop over a socketpair (the test plays the
// gateway), RunWorkerWith choosing it on the worker socket and running parallel loops over the
// HTTP Runtime API, the thread-count rule and the environment variable.
#include "runtime/pipeline.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/fs.h"
#include "common/worker_protocol.h"
#include "package/package.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/http_transport.h"
#include "runtime/model_handler.h"
#include "runtime/socket_transport.h"
#include "runtime/test_model.h"
#include "runtime/worker.h"

namespace mlfaas::runtime::pipeline_test {
namespace {

using nlohmann::json;
using wire::FrameType;

constexpr auto kWait = std::chrono::seconds(20);  // a bound on every wait, never a delay

std::string V(std::string_view id, std::string_view payload) {
  std::string out;
  wire::AppendInvocation(out, {id, 1700000000000, "arn:fn", "Root=1", payload});
  return out;
}

struct Answer {
  FrameType type{};
  std::string id;
  std::string error_type;  // E only
  std::string body;        // R: the payload; E: the error JSON
};

// The gateway's end of the socketpair: raw writes, frame reads with a bounded wait.
class PipeGateway {
 public:
  explicit PipeGateway(int fd) : fd_(fd) {}
  ~PipeGateway() { Close(); }
  PipeGateway(const PipeGateway&) = delete;
  PipeGateway& operator=(const PipeGateway&) = delete;

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void Write(std::string_view bytes) {
    ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // The next frame: type 0 on EOF, a malformed frame or after kWait.
  std::pair<FrameType, std::string> Read() {
    for (;;) {
      wire::Frame f;
      auto used = wire::ParseFrame(in_, &f);
      EXPECT_TRUE(used.ok());
      if (!used.ok()) return {};
      if (*used > 0) {
        std::pair<FrameType, std::string> out{f.type, std::string(f.data)};
        in_.erase(0, *used);
        return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(kWait / std::chrono::milliseconds(1))) != 1) return {};
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return {};
      in_.append(buf, static_cast<size_t>(n));
    }
  }
  // The next answer (an R or E frame); type 0 otherwise.
  Answer ReadAnswer() {
    auto [type, data] = Read();
    Answer a;
    std::string_view f[3];
    if (type == FrameType::kResponse && wire::SplitFields(data, 2, f)) {
      a = {type, std::string(f[0]), "", std::string(f[1])};
    } else if (type == FrameType::kError && wire::SplitFields(data, 3, f)) {
      a = {type, std::string(f[0]), std::string(f[1]), std::string(f[2])};
    }
    return a;
  }
  // Answers to `n` invocations, by request id.
  std::map<std::string, Answer> ReadAnswers(size_t n) {
    std::map<std::string, Answer> out;
    for (size_t i = 0; i < n; ++i) {
      Answer a = ReadAnswer();
      EXPECT_NE(a.type, FrameType{}) << "answer " << i << " of " << n;
      if (a.type == FrameType{}) break;
      EXPECT_TRUE(out.emplace(a.id, a).second) << "answered twice: " << a.id;
    }
    return out;
  }
  // Reads the P frame; its max_in_flight (0 if it is something else).
  int ReadHello() {
    auto [type, data] = Read();
    EXPECT_EQ(type, FrameType::kPipelinedNext);
    if (type != FrameType::kPipelinedNext) return 0;
    return wire::DecodePipelinedNext(data).value_or(0);
  }

 private:
  int fd_;
  std::string in_;
};

// Echoes the payload; "fail" is a function error, "throw"/"throw-int" throw, "fatal" is a fatal
// error; "meet" waits (bounded) until two invocations are inside the handler at once.
class TestHandler {
 public:
  Response operator()(const Invocation& inv) {
    if (inv.payload == "fail") return Response::Error("Bad", "it failed");
    if (inv.payload == "throw") throw std::runtime_error("boom");
    if (inv.payload == "throw-int") throw 7;
    if (inv.payload == "fatal") return Response::FatalError("InitError", "cannot load");
    if (inv.payload == "meet") {
      std::unique_lock<std::mutex> lock(mu_);
      ++inside_;
      cv_.notify_all();
      const bool met = cv_.wait_for(lock, kWait, [this] { return inside_ >= 2; });
      if (!met) return Response::Error("NoRendezvous", "alone in the handler");
    }
    return Response::Success("<" + inv.payload + ">");
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int inside_ = 0;
};

// RunPipelinedLoop on a thread, over a fresh socketpair; the test is the gateway. The
// destructor closes the gateway's end (the loop ends) and joins.
class LoopUnderTest {
 public:
  LoopUnderTest() {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_), 0);
    gateway_ = std::make_unique<PipeGateway>(sv_[0]);
  }
  ~LoopUnderTest() {
    gateway_->Close();
    Join();
    close(sv_[1]);
  }

  void Start(PipelineOptions options, Handler handler = TestHandlerFn()) {
    handler_ = std::move(handler);
    thread_ = std::thread(
        [this, options] { end_ = RunPipelinedLoop(sv_[1], handler_, options, &stats_); });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // Joins and returns how the loop ended.
  Status End() {
    Join();
    return end_;
  }
  PipeGateway& gw() { return *gateway_; }
  const PipelineStats& stats() const { return stats_; }

  static Handler TestHandlerFn() {
    auto h = std::make_shared<TestHandler>();
    return [h](const Invocation& inv) { return (*h)(inv); };
  }

 private:
  int sv_[2] = {-1, -1};
  std::unique_ptr<PipeGateway> gateway_;
  Handler handler_;
  std::thread thread_;
  Status end_;
  PipelineStats stats_;
};

TEST(PipelineTest, FirstFrameIsPWithMaxInFlightAndNoNextEver) {
  LoopUnderTest loop;
  loop.Start({4, 2});
  EXPECT_EQ(loop.gw().ReadHello(), 4);
  loop.gw().Write(V("a", "x"));
  Answer a = loop.gw().ReadAnswer();
  EXPECT_EQ(a.type, FrameType::kResponse);
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.body, "<x>");
  loop.gw().Close();  // EOF: the loop ends
  Status st = loop.End();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ(loop.stats().invocations, 1u);
}

TEST(PipelineTest, AnswersEveryInvocationOfOneWriteWithItsIdAndPayload) {
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    LoopUnderTest loop;
    loop.Start({8, threads});
    ASSERT_EQ(loop.gw().ReadHello(), 8);
    for (int round = 0; round < 3; ++round) {  // answered slots are free again
      std::string burst;
      for (int i = 0; i < 8; ++i) {
        const std::string n = std::to_string(round * 8 + i);
        burst += V("req-" + n, i == 3 ? "fail" : "event " + n);
      }
      loop.gw().Write(burst);
      auto answers = loop.gw().ReadAnswers(8);
      ASSERT_EQ(answers.size(), 8u);
      for (int i = 0; i < 8; ++i) {
        const std::string n = std::to_string(round * 8 + i);
        const Answer& a = answers["req-" + n];
        if (i == 3) {
          EXPECT_EQ(a.type, FrameType::kError);
          EXPECT_EQ(a.error_type, "Bad");
          EXPECT_EQ(json::parse(a.body),
                    json({{"errorType", "Bad"}, {"errorMessage", "it failed"}}));
        } else {
          EXPECT_EQ(a.type, FrameType::kResponse);
          EXPECT_EQ(a.body, "<event " + n + ">");
        }
      }
    }
    loop.gw().Close();
    EXPECT_EQ(loop.End().code(), StatusCode::kUnavailable);
    EXPECT_EQ(loop.stats().invocations, 24u);
    EXPECT_EQ(loop.stats().errors, 3u);
    EXPECT_EQ(loop.stats().frames_written, 24u);
  }
}

TEST(PipelineTest, OneThreadAnswersABacklogInOneWrite) {
  constexpr int k = 6;
  LoopUnderTest loop;
  std::string backlog;
  for (int i = 0; i < k; ++i) backlog += V("b" + std::to_string(i), std::to_string(i));
  loop.gw().Write(backlog);  // all k wait in the socket before the worker first reads
  loop.Start({k, 1});
  ASSERT_EQ(loop.gw().ReadHello(), k);
  for (int i = 0; i < k; ++i) {  // one thread: in order
    Answer a = loop.gw().ReadAnswer();
    EXPECT_EQ(a.type, FrameType::kResponse);
    EXPECT_EQ(a.id, "b" + std::to_string(i));
    EXPECT_EQ(a.body, "<" + std::to_string(i) + ">");
  }
  loop.gw().Close();
  EXPECT_EQ(loop.End().code(), StatusCode::kUnavailable);
  EXPECT_EQ(loop.stats().invocations, static_cast<uint64_t>(k));
  EXPECT_LT(loop.stats().writes, static_cast<uint64_t>(k));
  EXPECT_EQ(loop.stats().writes, 1u);  // read everything, handle each, write once
  EXPECT_EQ(loop.stats().largest_batch, static_cast<uint64_t>(k));
}

TEST(PipelineTest, MoreThanMaxInFlightUnansweredEndsTheLoop) {
  {  // in the first read
    LoopUnderTest loop;
    loop.Start({2, 2});
    ASSERT_EQ(loop.gw().ReadHello(), 2);
    loop.gw().Write(V("a", "1") + V("b", "2") + V("c", "3"));
    Status st = loop.End();
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  }
  {  // after the slots were used and freed once
    LoopUnderTest loop;
    loop.Start({2, 1});
    ASSERT_EQ(loop.gw().ReadHello(), 2);
    loop.gw().Write(V("a", "1") + V("b", "2"));
    EXPECT_EQ(loop.gw().ReadAnswers(2).size(), 2u);
    loop.gw().Write(V("c", "3") + V("d", "4") + V("e", "5"));
    Status st = loop.End();
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find("more than"), std::string::npos) << st.ToString();
    EXPECT_EQ(loop.stats().invocations, 2u);
  }
}

TEST(PipelineTest, AnythingButAWellFormedInvocationEndsTheLoopAndJoinsEveryThread) {
  std::string next, response, bad_length, unknown_type, malformed_v;
  wire::AppendNext(next);
  wire::AppendResponse(response, {"a", "x"});
  bad_length = std::string("\0\0\0\0V", 5);
  unknown_type = std::string("\1\0\0\0Z", 5);
  wire::AppendFrame(malformed_v, FrameType::kInvocation, {"only-an-id"});
  const std::pair<const char*, std::string> cases[] = {
      {"N frame", next},
      {"R frame", response},
      {"zero length", bad_length},
      {"unknown type", unknown_type},
      {"malformed V", malformed_v},
      {"oversized length", std::string("\xff\xff\xff\x7fV", 5)},
      {"valid V then an N", V("ok", "1") + next},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    LoopUnderTest loop;
    loop.Start({4, 3});
    ASSERT_EQ(loop.gw().ReadHello(), 4);
    loop.gw().Write(bytes);
    Status st = loop.End();  // returns only once its threads are joined
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  }
  for (int threads : {1, 3}) {  // EOF while idle, and with a partial frame buffered
    for (bool partial : {false, true}) {
      LoopUnderTest loop;
      loop.Start({4, threads});
      ASSERT_EQ(loop.gw().ReadHello(), 4);
      if (partial) loop.gw().Write(V("p", "payload").substr(0, 7));
      loop.gw().Close();
      Status st = loop.End();
      EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
      EXPECT_NE(st.message().find("closed"), std::string::npos) << st.ToString();
    }
  }
}

TEST(PipelineTest, HandlerExceptionsBecomeErrorsAndTheLoopGoesOn) {
  LoopUnderTest loop;
  loop.Start({4, 2});
  ASSERT_EQ(loop.gw().ReadHello(), 4);
  loop.gw().Write(V("t1", "throw") + V("t2", "throw-int") + V("ok", "fine"));
  auto answers = loop.gw().ReadAnswers(3);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers["t1"].type, FrameType::kError);
  EXPECT_EQ(answers["t1"].error_type, "HandlerException");
  EXPECT_EQ(json::parse(answers["t1"].body)["errorMessage"], "boom");
  EXPECT_EQ(answers["t2"].type, FrameType::kError);
  EXPECT_EQ(answers["t2"].error_type, "HandlerException");
  EXPECT_EQ(answers["ok"].type, FrameType::kResponse);
  EXPECT_EQ(answers["ok"].body, "<fine>");
  loop.gw().Close();
  EXPECT_EQ(loop.End().code(), StatusCode::kUnavailable);
  EXPECT_EQ(loop.stats().errors, 2u);
}

TEST(PipelineTest, FatalErrorIsWrittenThenEndsTheLoop) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    LoopUnderTest loop;
    loop.Start({2, threads});
    ASSERT_EQ(loop.gw().ReadHello(), 2);
    loop.gw().Write(V("f", "fatal"));
    Answer a = loop.gw().ReadAnswer();
    EXPECT_EQ(a.type, FrameType::kError);
    EXPECT_EQ(a.id, "f");
    EXPECT_EQ(a.error_type, "InitError");
    EXPECT_EQ(json::parse(a.body)["errorMessage"], "cannot load");
    Status st = loop.End();  // without the gateway closing anything
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  }
}

// Sends two "meet" invocations (in one write, or one write each) and expects both to meet in
// the handler and be answered; then closes the gateway's end and expects the loop to end.
void ExpectTheTwoMeet(LoopUnderTest& loop, bool one_write) {
  if (one_write) {
    loop.gw().Write(V("m1", "meet") + V("m2", "meet"));
  } else {
    loop.gw().Write(V("m1", "meet"));
    loop.gw().Write(V("m2", "meet"));
  }
  auto answers = loop.gw().ReadAnswers(2);
  ASSERT_EQ(answers.size(), 2u);
  for (const char* id : {"m1", "m2"}) {
    EXPECT_EQ(answers[id].type, FrameType::kResponse) << answers[id].body;
    EXPECT_EQ(answers[id].body, "<meet>");
  }
  loop.gw().Close();
  EXPECT_EQ(loop.End().code(), StatusCode::kUnavailable);
}

TEST(PipelineTest, ThreadsRunInvocationsConcurrently) {
  // "meet" returns only once two invocations are inside the handler together (or fails after
  // kWait), whether both arrive in one write or the second after the first is being handled
  // (then a second thread must have taken over reading the socket).
  for (bool one_write : {true, false}) {
    SCOPED_TRACE(one_write ? "one write" : "two writes");
    LoopUnderTest loop;
    loop.Start({2, 2});
    ASSERT_EQ(loop.gw().ReadHello(), 2);
    ExpectTheTwoMeet(loop, one_write);
  }
}

TEST(PipelineTest, QuickHandlersStillRunConcurrentlyWhenOneInvocationBlocks) {
  // After quick invocations the loop stops waking a second thread for short queues; an
  // invocation that then blocks must not hold the others: an idle thread takes the queued one
  // (one write) or the reading (two writes) over, and the two meet.
  for (bool one_write : {true, false}) {
    SCOPED_TRACE(one_write ? "one write" : "two writes");
    LoopUnderTest loop;
    loop.Start({4, 2});
    ASSERT_EQ(loop.gw().ReadHello(), 4);
    for (int round = 0; round < 20; ++round) {  // quick ones, one and several per write
      std::string batch;
      for (int i = 0; i <= round % 3; ++i) {
        batch += V("q" + std::to_string(round) + "-" + std::to_string(i), "x");
      }
      loop.gw().Write(batch);
      ASSERT_EQ(loop.gw().ReadAnswers(round % 3 + 1).size(), static_cast<size_t>(round % 3 + 1));
    }
    ExpectTheTwoMeet(loop, one_write);
  }
}

TEST(PipelineTest, RejectsAMaxInFlightOutOfRange) {
  for (int n : {0, -1, wire::kMaxConcurrencyPerInstance + 1}) {
    Status st = RunPipelinedLoop(-1, LoopUnderTest::TestHandlerFn(), {n, 1});
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << n;
  }
}

TEST(WorkerThreadsTest, MinOfConcurrencyAndWholeVcpusAtLeastOne) {
  struct Case {
    int max_concurrency, memory_mb, cpus, want;
  };
  const Case cases[] = {
      {1, 10240, 8, 1},   // one at a time
      {16, 10240, 8, 5},  // 10240 / 1769 = 5.79: 5 whole vCPUs
      {16, 10240, 2, 2},  // capped by the CPUs the process may use
      {3, 10240, 8, 3},   // capped by the concurrency
      {16, 1769, 8, 1},   // exactly one vCPU
      {16, 3537, 8, 1},   // just under two
      {16, 3538, 8, 2},   // two
      {16, 128, 8, 1},    // less than one vCPU: still one thread
      {16, 0, 4, 4},      // memory unknown: the CPUs
      {16, -5, 4, 4},     //
      {2, 0, 4, 2},       //
      {16, 0, 0, 1},      // no CPU count: one
      {1600, 100000, 64, 56},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(WorkerThreads(c.max_concurrency, c.memory_mb, c.cpus), c.want)
        << c.max_concurrency << " " << c.memory_mb << " " << c.cpus;
  }
  EXPECT_GE(AffinityCpus(), 1);
}

class MaxConcurrencyEnvTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("AWS_LAMBDA_MAX_CONCURRENCY");
    unsetenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
  }
};

TEST_F(MaxConcurrencyEnvTest, ReadsADecimalFrom1To1600) {
  auto c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_concurrency, 1);  // unset
  EXPECT_EQ(c->threads, 1);
  for (const auto& [text, want] :
       std::vector<std::pair<std::string, int>>{{"1", 1}, {"2", 2}, {"64", 64}, {"1600", 1600}}) {
    setenv("AWS_LAMBDA_MAX_CONCURRENCY", text.c_str(), 1);
    c = WorkerConfigFromEnv();
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_EQ(c->max_concurrency, want);
    EXPECT_EQ(c->threads, WorkerThreads(want, 0, AffinityCpus())) << text;
  }
  setenv("AWS_LAMBDA_MAX_CONCURRENCY", "", 1);  // empty: unset
  c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_concurrency, 1);
}

TEST_F(MaxConcurrencyEnvTest, RejectsEverythingElseNamingTheVariable) {
  for (const char* bad : {"0", "1601", "abc", "+5", "05", "-1", " 5", "5 ", "1e3", "99999"}) {
    setenv("AWS_LAMBDA_MAX_CONCURRENCY", bad, 1);
    auto c = WorkerConfigFromEnv();
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("AWS_LAMBDA_MAX_CONCURRENCY"), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find(std::string("'") + bad + "'"), std::string::npos)
        << c.status().message();
  }
}

TEST_F(MaxConcurrencyEnvTest, MemorySizeBoundsTheThreads) {
  setenv("AWS_LAMBDA_MAX_CONCURRENCY", "64", 1);
  setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769", 1);  // one vCPU
  auto c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_concurrency, 64);
  EXPECT_EQ(c->threads, 1);
  setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots", 1);  // unknown: the CPUs
  c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->threads, std::min(64, AffinityCpus()));
}

// RunWorkerWith with a real model: the pipelined loop on the worker socket, parallel loops over
// the HTTP Runtime API.
class ConcurrentWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(task_root_);
    testing::WriteTaskRoot(task_root_);
    auto manifest = package::ReadManifestFile(task_root_ / "manifest.json");
    ASSERT_TRUE(manifest.ok());
    reference_ =
        std::make_unique<ModelHandler>(std::make_shared<const model::Predictor>(manifest->model),
                                       ModelInfo{manifest->name, "3", manifest->digest});
  }

  WorkerConfig Config(int max_concurrency, int threads) const {
    WorkerConfig c;
    c.task_root = task_root_;
    c.function_name = "kdd99-test";
    c.function_version = "3";
    c.max_concurrency = max_concurrency;
    c.threads = threads;
    return c;
  }

  // `a` answers `event` as the model does.
  void ExpectAnswer(const Answer& a, const std::string& event) {
    Response want = reference_->HandleEvent(event);
    if (want.is_error) {
      ASSERT_EQ(a.type, FrameType::kError) << event;
      EXPECT_EQ(a.error_type, want.error_type);
      EXPECT_EQ(json::parse(a.body),
                json({{"errorType", want.error_type}, {"errorMessage", want.error_message}}));
    } else {
      ASSERT_EQ(a.type, FrameType::kResponse) << event << ": " << a.body;
      EXPECT_EQ(a.body, want.payload);
    }
  }

  TempDir dir_{"mlfaas-pipeline-test"};
  std::filesystem::path task_root_ = dir_.path() / "task";
  std::unique_ptr<ModelHandler> reference_;
};

TEST_F(ConcurrentWorkerTest, WorkerSocketRunsThePipelinedLoop) {
  for (ModelLoading loading :
       {ModelLoading::kInit, ModelLoading::kLazy, ModelLoading::kPerInvoke}) {
    SCOPED_TRACE(ModelLoadingName(loading));
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    WorkerConfig config = Config(4, 3);
    config.loading = loading;
    Status end;
    std::thread worker([&] {
      SocketTransport t(sv[1]);
      end = RunWorkerWith(config, t);
    });
    PipeGateway gw(sv[0]);
    const std::vector<std::string> events = testing::TestEvents();
    ASSERT_EQ(gw.ReadHello(), 4);
    for (size_t i = 0; i < events.size();) {  // four at a time, in one write
      std::string burst;
      const size_t first = i;
      for (; i < events.size() && i < first + 4; ++i)
        burst += V("req-" + std::to_string(i), events[i]);
      gw.Write(burst);
      auto answers = gw.ReadAnswers(i - first);
      ASSERT_EQ(answers.size(), i - first);
      for (size_t k = first; k < i; ++k)
        ExpectAnswer(answers["req-" + std::to_string(k)], events[k]);
    }
    gw.Close();
    worker.join();
    EXPECT_EQ(end.code(), StatusCode::kUnavailable) << end.ToString();
  }
}

TEST_F(ConcurrentWorkerTest, FailedLazyLoadIsFatalForEveryThread) {
  std::filesystem::remove(task_root_ / "manifest.json");
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  WorkerConfig config = Config(2, 2);
  config.loading = ModelLoading::kLazy;
  Status end;
  std::thread worker([&] {
    SocketTransport t(sv[1]);
    end = RunWorkerWith(config, t);
  });
  PipeGateway gw(sv[0]);
  ASSERT_EQ(gw.ReadHello(), 2);
  gw.Write(V("a", "{}") + V("b", "{}"));
  worker.join();  // ends by itself: the failed load is fatal
  EXPECT_EQ(end.code(), StatusCode::kFailedPrecondition) << end.ToString();
  Answer a = gw.ReadAnswer();  // at least the first is answered, with the load's error
  EXPECT_EQ(a.type, FrameType::kError);
  EXPECT_EQ(a.error_type, "InitError");
  EXPECT_NE(json::parse(a.body)["errorMessage"].get<std::string>().find("manifest.json"),
            std::string::npos);
}

TEST_F(ConcurrentWorkerTest, HttpRunsOneLoopPerThreadEachWithItsOwnLongPoll) {
  const std::vector<std::string> events = testing::TestEvents();
  auto api = std::make_unique<testing::FakeRuntimeApi>(events);
  api->HoldNextsUntil(3);  // hangs unless three `next` calls are open together
  WorkerConfig config = Config(8, 3);
  config.runtime_api = api->endpoint();
  std::atomic<bool> finished{false};
  Status end;
  std::thread worker([&] {
    auto t = HttpTransport::Create(config.runtime_api);
    end = t.ok() ? RunWorkerWith(config, **t) : t.status();
    finished = true;
  });
  // Normally the API closes every connection once the events ran out; if the worker hung, the
  // API going away ends it.
  const bool served = api->Serve(kWait, [&] { return !finished.load(); });
  if (!served) api.reset();
  worker.join();
  ASSERT_TRUE(served) << "the worker never held three long polls at once";
  EXPECT_EQ(end.code(), StatusCode::kUnavailable) << end.ToString();
  EXPECT_EQ(api->most_waiting_nexts(), 3);
  EXPECT_EQ(api->connections(), 3);
  ASSERT_EQ(api->results().size(), events.size());
  std::set<std::string> ids;
  for (const auto& r : api->results()) {
    ASSERT_TRUE(r.request_id.starts_with("req-")) << r.request_id;
    const size_t i = std::stoul(r.request_id.substr(4));
    ASSERT_LT(i, events.size());
    EXPECT_TRUE(ids.insert(r.request_id).second);
    Answer a{
        r.kind == testing::PostedResult::Kind::kError ? FrameType::kError : FrameType::kResponse,
        r.request_id, r.error_type_header, r.body};
    ExpectAnswer(a, events[i]);
  }
}

TEST_F(ConcurrentWorkerTest, HttpFatalErrorInterruptsTheOtherLongPolls) {
  std::filesystem::remove(task_root_ / "manifest.json");
  auto api = std::make_unique<testing::FakeRuntimeApi>(std::vector<std::string>{"{}"});
  api->HoldNextsUntil(2);    // both loops are waiting before the one event goes out
  api->ParkWhenExhausted();  // the other long poll never returns by itself
  WorkerConfig config = Config(2, 2);
  config.loading = ModelLoading::kLazy;
  config.runtime_api = api->endpoint();
  std::atomic<bool> finished{false};
  Status end;
  std::thread worker([&] {
    auto t = HttpTransport::Create(config.runtime_api);
    end = t.ok() ? RunWorkerWith(config, **t) : t.status();
    finished = true;
  });
  const bool served = api->Serve(kWait, [&] { return !finished.load(); });
  if (!served) api.reset();  // the API going away ends a loop that was not interrupted
  worker.join();
  ASSERT_TRUE(served) << "the parked long poll was not interrupted";
  EXPECT_EQ(end.code(), StatusCode::kFailedPrecondition) << end.ToString();
  ASSERT_EQ(api->results().size(), 1u);
  EXPECT_EQ(api->results()[0].kind, testing::PostedResult::Kind::kError);
  EXPECT_EQ(api->results()[0].error_type_header, "InitError");
  EXPECT_EQ(api->next_calls(), 2);
}

}  // namespace
}  // namespace mlfaas::runtime::pipeline_test
