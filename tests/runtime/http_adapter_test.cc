// The HTTP adapter mode as a real process (`mlfaas-runtime --http 127.0.0.1:0`, and the same for
// the static mlfaas-bootstrap): the answers of the Runtime API path, the KServe V2 routes,
// hostile input, concurrency, a fatal handler error and SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "gateway/http_client.h"
#include "runtime/adapter_process.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/test_model.h"
#include "testing/subprocess.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::AdapterProcess;
using testing::HttpClient;
using testing::PostedResult;

constexpr auto kStopTimeout = std::chrono::seconds(10);
constexpr char kAdapterRow[] = R"({"duration":0,"src_bytes":215,"dst_bytes":45076})";

bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

class HttpAdapterTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(task_root_);
    testing::WriteTaskRoot(task_root_);
  }

  std::map<std::string, std::string> Env() const {
    return {{"_HANDLER", "predict"},
            {"LAMBDA_TASK_ROOT", task_root_.string()},
            {"AWS_LAMBDA_FUNCTION_NAME", "fraud"},
            {"AWS_LAMBDA_FUNCTION_VERSION", "3"}};
  }

  std::unique_ptr<AdapterProcess> Start(std::map<std::string, std::string> extra = {}) {
    auto env = Env();
    for (auto& [k, v] : extra) env[k] = v;
    auto p = std::make_unique<AdapterProcess>(
        std::vector<std::string>{GetParam(), "--http", "127.0.0.1:0"}, env,
        (dir_.path() / ("adapter-" + std::to_string(++starts_) + ".log")).string());
    EXPECT_NE(p->port(), 0) << p->log();
    return p;
  }

  TempDir dir_{"mlfaas-http-adapter-test"};
  std::filesystem::path task_root_ = dir_.path() / "task";
  int starts_ = 0;
};

TEST_P(HttpAdapterTest, PostRootAnswersExactlyWhatTheRuntimeApiPathPosts) {
  const std::vector<std::string> events = testing::TestEvents();
  std::vector<PostedResult> via_api;
  {
    testing::FakeRuntimeApi api(events);
    auto env = Env();
    env["AWS_LAMBDA_RUNTIME_API"] = api.endpoint();
    testing::BackgroundProcess worker({GetParam()}, env, (dir_.path() / "api.log").string());
    ASSERT_TRUE(
        api.Serve(std::chrono::seconds(20), [&] { return testing::ChildAlive(worker.pid()); }));
    worker.StopWith(0, kStopTimeout);
    via_api = api.results();
  }
  ASSERT_EQ(via_api.size(), events.size());

  auto adapter = Start();
  HttpClient client(adapter->port());  // one keep-alive connection for every event
  for (size_t i = 0; i < events.size(); ++i) {
    auto r = client.Post("/", events[i], {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.header("content-type"), "application/json");
    if (via_api[i].kind == PostedResult::Kind::kResponse) {
      EXPECT_EQ(r.status, 200) << events[i];
      EXPECT_EQ(r.body, via_api[i].body);
    } else {
      EXPECT_EQ(r.status, 400) << events[i];
      EXPECT_EQ(json::parse(r.body), json::parse(via_api[i].body));
    }
  }
  EXPECT_NE(adapter->log().find("model kdd99-test"), std::string::npos) << adapter->log();
  EXPECT_TRUE(ExitedWith(adapter->process().StopWith(SIGTERM, kStopTimeout), 0));
}

TEST_P(HttpAdapterTest, AnswersTheKServeV2Routes) {
  auto adapter = Start();
  HttpClient client(adapter->port());
  EXPECT_EQ(json::parse(client.Get("/v2/health/live").body), json({{"live", true}}));
  EXPECT_EQ(json::parse(client.Get("/v2/health/ready").body), json({{"ready", true}}));
  auto meta = client.Get("/v2/models/fraud");
  ASSERT_EQ(meta.status, 200) << meta.body;
  json m = json::parse(meta.body);
  EXPECT_EQ(m["name"], "fraud");  // AWS_LAMBDA_FUNCTION_NAME
  EXPECT_EQ(m["versions"], json::array({"3"}));
  ASSERT_EQ(m["inputs"].size(), 3u);
  EXPECT_EQ(m["inputs"][2]["name"], "dst_bytes");

  auto infer = client.Post("/v2/models/fraud/infer",
                           R"({"inputs":[{"name":"input-0","shape":[1,3],"datatype":"FP64",
                               "data":[0,215,45076]}]})");
  ASSERT_EQ(infer.status, 200) << infer.body;
  json want = json::parse(client.Post("/", kAdapterRow).body)["predictions"][0];
  json got = json::parse(infer.body);
  EXPECT_EQ(got["model_name"], "fraud");
  EXPECT_EQ(got["outputs"][0]["data"][0].get<double>(), want["probability"].get<double>());
  EXPECT_EQ(got["outputs"][1]["data"][0], want["anomaly"]);
  EXPECT_EQ(client.Get("/v2/models/other").status, 404);
  EXPECT_EQ(client.Post("/v2/models/fraud/infer", "{").status, 400);
}

TEST_P(HttpAdapterTest, HostileRequestsAreRefusedWithoutHarmingOthers) {
  auto adapter = Start();
  const uint16_t port = adapter->port();
  HttpClient kept(port);  // a keep-alive connection that stays open throughout
  ASSERT_EQ(kept.Post("/", kAdapterRow).status, 200);

  // A declared body over 6 MiB: 413 before any of it is read.
  std::string big = testing::RawExchange(
      port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7000000\r\n\r\n{\"duration\":");
  EXPECT_TRUE(big.starts_with("HTTP/1.1 413")) << big.substr(0, 200);
  EXPECT_NE(big.find("\"errorType\":\"RequestTooLarge\""), std::string::npos) << big;
  // A chunked body that grows over the limit.
  std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(1 << 20, ' ');
  for (int i = 0; i < 7; ++i) chunked += "100000\r\n" + chunk + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_TRUE(testing::RawExchange(port, chunked).starts_with("HTTP/1.1 413"));
  // Header fields over 16 KiB: 431.
  std::string fat = testing::RawExchange(
      port,
      "GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(fat.starts_with("HTTP/1.1 431")) << fat.substr(0, 200);
  // Not HTTP: 400 with a JSON error, and the connection closes.
  std::string garbage = testing::RawExchange(port, "HELLO THERE\r\n\r\n");
  EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400")) << garbage;
  EXPECT_NE(garbage.find("\"errorMessage\":\"malformed HTTP request"), std::string::npos);
  // Routes and methods.
  HttpClient other(port);
  auto not_json = other.Post("/", "{\"duration\":");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(json::parse(not_json.body)["errorType"], "InvalidInput");
  auto get_root = other.Get("/");
  EXPECT_EQ(get_root.status, 405);
  EXPECT_EQ(get_root.header("allow"), "POST");
  EXPECT_EQ(other.Get("/nowhere").status, 404);
  EXPECT_EQ(other.Post("/v2/health/live", "").status, 405);

  // Two requests in one write (pipelining) are answered in order.
  std::string two =
      testing::RawExchange(port,
                           "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t live = two.find("{\"live\":true}"), ready = two.find("{\"ready\":true}");
  EXPECT_TRUE(live != std::string::npos && ready != std::string::npos && live < ready) << two;

  // Nothing above touched the connection that was already open, nor the server.
  auto after = kept.Post("/", kAdapterRow);
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, kept.Post("/", kAdapterRow).body);
  EXPECT_TRUE(ExitedWith(adapter->process().StopWith(SIGTERM, kStopTimeout), 0));
}

TEST_P(HttpAdapterTest, SigtermStopsCleanlyWithIdleConnectionsOpen) {
  auto adapter = Start();
  HttpClient a(adapter->port()), b(adapter->port());
  ASSERT_EQ(a.Post("/", kAdapterRow).status, 200);
  ASSERT_EQ(b.Get("/v2/health/ready").status, 200);  // both now idle, kept alive
  const int status = adapter->process().StopWith(SIGTERM, kStopTimeout);
  EXPECT_TRUE(ExitedWith(status, 0)) << status << adapter->log();
  EXPECT_EQ(a.Post("/", kAdapterRow).status, 0);  // closed
}

TEST_P(HttpAdapterTest, ServesConcurrentlyWithMaxConcurrency) {
  auto adapter = Start({{"AWS_LAMBDA_MAX_CONCURRENCY", "4"}});
  EXPECT_NE(adapter->log().find("(AWS_LAMBDA_MAX_CONCURRENCY 4)"), std::string::npos)
      << adapter->log();
  const std::string want = HttpClient(adapter->port()).Post("/", kAdapterRow).body;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpClient c(adapter->port());
      for (int i = 0; i < 50; ++i) {
        auto r = c.Post("/", kAdapterRow);
        if (r.status == 200 && r.body == want) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), 200);
  EXPECT_TRUE(ExitedWith(adapter->process().StopWith(SIGTERM, kStopTimeout), 0));
}

TEST_P(HttpAdapterTest, AFailedLazyLoadIsAnsweredThenTheServerStops) {
  auto adapter = Start({{"MLFAAS_MODEL_LOADING", "lazy"}});
  // The manifest was read at start (name, features); the model is built on first use.
  std::filesystem::remove(task_root_ / "manifest.json");
  HttpClient client(adapter->port());
  auto r = client.Post("/", kAdapterRow);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(json::parse(r.body)["errorType"], "InitError");
  const int status = adapter->process().StopWith(0, kStopTimeout);  // exits by itself
  EXPECT_TRUE(ExitedWith(status, 1)) << status << adapter->log();
}

TEST_P(HttpAdapterTest, StartupErrorsExitNonZeroWithOneLine) {
  auto bad_listen = testing::RunCommand({GetParam(), "--http", "example.com:80"}, Env(),
                                        std::chrono::seconds(20));
  EXPECT_EQ(bad_listen.exit_code, 1);
  EXPECT_NE(bad_listen.err.find("the host must be a numeric address"), std::string::npos)
      << bad_listen.err;
  auto usage = testing::RunCommand({GetParam(), "--bogus"}, Env(), std::chrono::seconds(20));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("usage: mlfaas-runtime"), std::string::npos) << usage.err;
  ASSERT_TRUE(WriteFileAtomic(task_root_ / "manifest.json", "{").ok());
  auto init =
      testing::RunCommand({GetParam(), "--http", "127.0.0.1:0"}, Env(), std::chrono::seconds(20));
  EXPECT_EQ(init.exit_code, 1);
  EXPECT_NE(init.err.find("init failed"), std::string::npos) << init.err;
  EXPECT_EQ(init.out.find("listening"), std::string::npos) << init.out;
}

#ifdef MLFAAS_BOOTSTRAP_BIN
INSTANTIATE_TEST_SUITE_P(Binaries, HttpAdapterTest,
                         ::testing::Values(MLFAAS_RUNTIME_BIN, MLFAAS_BOOTSTRAP_BIN),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "Runtime" : "Bootstrap");
                         });
#else
INSTANTIATE_TEST_SUITE_P(Binaries, HttpAdapterTest, ::testing::Values(MLFAAS_RUNTIME_BIN),
                         [](const auto&) { return std::string("Runtime"); });
#endif

}  // namespace
}  // namespace mlfaas::runtime
