// Regression tests for hostile clients and careless or hostile functions (docs/reliability.md):
// each case once took the gateway down, lost data or answered wrongly.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <future>
#include <regex>

#include "gateway_fixture.h"

namespace mlfaas::testing {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A python3 custom runtime whose behaviour after the common prelude is `body`.
constexpr const char* kPrelude = R"PY(#!/usr/bin/python3
import json, os, sys, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def post(path, body, headers=None):
    req = urllib.request.Request(base + path, data=body.encode(), method="POST", headers=headers or {})
    return urllib.request.urlopen(req).read()
def next_event():
    with urllib.request.urlopen(base + "/invocation/next") as r:
        return r.headers["Lambda-Runtime-Aws-Request-Id"], r.read()
)PY";

class HardeningTest : public GatewayFixture {
 protected:
  // Registers function `fn` ($LATEST) running a bootstrap made of kPrelude + `body`.
  void Function(const std::string& fn, const std::string& body, int memory_mb = kTestMemoryMb) {
    auto dir = tmp_.path() / ("code-" + fn);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "bootstrap") << kPrelude << body;
    chmod((dir / "bootstrap").c_str(), 0755);
    code_.Set("digest-" + fn, dir);
    auto c = Config();
    c.memory_mb = memory_mb;
    reg_.Put(fn, "$LATEST", "digest-" + fn, c);
  }

  // Sends raw bytes on a new connection and returns everything the server sends back.
  std::string Raw(const std::string& bytes) {
    net::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), gw_->port()));
    boost::system::error_code ec;
    net::write(s, net::buffer(bytes), ec);
    s.shutdown(tcp::socket::shutdown_send, ec);
    std::string out;
    char buf[4096];
    for (size_t n; (n = s.read_some(net::buffer(buf), ec)) > 0 || !ec;) out.append(buf, n);
    return out;
  }

  void ExpectAlive() {
    HttpClient c(gw_->port());
    EXPECT_EQ(c.Get("/v2/health/live").status, 200) << "the gateway died";
    EXPECT_EQ(gw_->io_exceptions(), 0u);
  }
};

TEST_F(HardeningTest, DeeplyNestedBodiesGet400AndTheGatewayLives) {
  StartGateway();
  HttpClient c(gw_->port());
  // 200 KB that used to overflow the stack in the TF-Serving conversion.
  auto tf = c.Post("/v1/models/m:predict", R"({"instances":)" + Nested(100000) + "}");
  EXPECT_EQ(tf.status, 400) << tf.body;
  EXPECT_NE(tf.body.find("nested deeper than 128 levels"), std::string::npos) << tf.body;
  // KServe V2 data nested 1M deep (2 MB).
  auto v2 = c.Post(
      "/v2/models/m/infer",
      R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":)" + Nested(1000000) + "}]}");
  EXPECT_EQ(v2.status, 400) << v2.body;
  auto lambda = c.Post(Path("m"), Nested(100000));
  EXPECT_EQ(lambda.status, 400) << lambda.body;
  EXPECT_EQ(lambda.header("x-amzn-errortype"), "InvalidRequestContentException");
  ExpectAlive();
}

TEST_F(HardeningTest, BodiesWithANulOrTrailingBytesAreRefused) {
  StartGateway();
  HttpClient c(gw_->port());
  const std::string junk = std::string("{\"instances\":[]}\0junk", 21);
  EXPECT_EQ(c.Post("/v1/models/m:predict", junk).status, 400);
  EXPECT_EQ(c.Post("/v1/models/m:predict", R"({"instances":[]} {})").status, 400);
  EXPECT_EQ(c.Post(Path("m"), std::string("{}\0x", 4)).status, 400);
  EXPECT_EQ(c.Post("/v2/models/m/infer", std::string("{}\0", 3)).status, 400);
  ExpectAlive();
}

TEST_F(HardeningTest, MalformedQualifierIs400AndUnknownIs404) {
  reg_.Put("q", "$LATEST", "py", Config());
  StartGateway();
  for (const char* bad : {"nonexistent%G1", "li%ZZve", "%", "a%2Fb", "white%20space"}) {
    auto r = Invoke("q", "{}", {}, bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"), "InvalidParameterValueException") << bad;
  }
  auto unknown = Invoke("q", "{}", {}, "nonexistent");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.header("x-amzn-errortype"), "ResourceNotFoundException");
  EXPECT_EQ(Invoke("q", "{}", {}, "%24LATEST").status, 200);  // "$LATEST", escaped
}

TEST_F(HardeningTest, BadFunctionAndModelNamesAre400) {
  StartGateway();
  HttpClient c(gw_->port());
  auto r = c.Post("/2015-03-31/functions/bad%20name!/invocations", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.header("x-amzn-errortype"), "InvalidParameterValueException");
  EXPECT_EQ(c.Post("/2015-03-31/functions/" + std::string(65, 'a') + "/invocations", "{}").status,
            400);
  EXPECT_EQ(c.Post("/v1/models/a..b:predict", R"({"instances":[]})").status, 400);
  EXPECT_EQ(c.Post("/v1/models/m%ZZ:predict", R"({"instances":[]})").status, 400);
  EXPECT_EQ(c.Get("/v2/models/a%20b/ready").status, 400);
  EXPECT_EQ(c.Post(Path("well-formed_but-missing"), "{}").status, 404);
}

TEST_F(HardeningTest, LongUriIs414AndLargeHeadersAre431) {
  StartGateway();
  std::string out = Raw("GET /" + std::string(100 * 1024, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 414", 0), 0u) << out.substr(0, 200);
  out = Raw("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out.substr(0, 200);
  ExpectAlive();
}

TEST_F(HardeningTest, InvalidUtf8InThePathGetsAJsonError) {
  StartGateway();
  std::string out = Raw("GET /\xff\xfe HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(out.rfind("HTTP/1.1 ", 0), 0u) << out;
  auto body = out.substr(out.find("\r\n\r\n") + 4);
  EXPECT_TRUE(nlohmann::json::accept(body)) << body;
  ExpectAlive();
}

TEST_F(HardeningTest, InitErrorWithFieldsOfAnyTypeIsAnInitError) {
  Function("badtypes", R"PY(
post("/init/error", json.dumps({"errorType": 1, "errorMessage": "boom"}))
sys.exit(1)
)PY");
  Function("objmsg", R"PY(
post("/init/error", json.dumps({"errorType": "X", "errorMessage": {"nested": [1, 2]}}))
sys.exit(1)
)PY");
  reg_.Put("fine", "$LATEST", "py", Config());
  StartGateway();
  auto r = Invoke("badtypes", "{}");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("boom"), std::string::npos) << r.body;
  auto o = Invoke("objmsg", "{}");
  EXPECT_EQ(o.status, 502) << o.body;
  EXPECT_EQ(Invoke("fine", "{}").status, 200);  // one bad function never affects another
  ExpectAlive();
}

TEST_F(HardeningTest, HostileResultsNeverReachTheClientAsA200OrACrash) {
  Function("deep", R"PY(
while True:
    rid, _ = next_event()
    post("/invocation/" + rid + "/response", '{"predictions":' + "[" * 200000 + "]" * 200000 + "}")
)PY");
  Function("garbage", R"PY(
while True:
    rid, _ = next_event()
    post("/invocation/" + rid + "/response", json.dumps({"predictions": [1, "x", {"probability": "a"}]}))
)PY");
  Function("errtypes", R"PY(
while True:
    rid, _ = next_event()
    post("/invocation/" + rid + "/error", json.dumps({"errorType": ["a"], "errorMessage": 5}))
)PY");
  StartGateway();
  HttpClient c(gw_->port());
  auto deep = c.Post("/v1/models/deep:predict", R"({"instances":[{}]})");
  EXPECT_EQ(deep.status, 502) << deep.body.substr(0, 300);
  auto garbage = c.Post("/v2/models/garbage/infer",
                        R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]}]})");
  EXPECT_EQ(garbage.status, 502) << garbage.body;
  auto tf_garbage = c.Post("/v1/models/garbage:predict", R"({"instances":[{}]})");
  EXPECT_EQ(tf_garbage.status, 200) << tf_garbage.body;  // TF-Serving passes predictions through
  auto err = c.Post("/v1/models/errtypes:predict", R"({"instances":[{}]})");
  EXPECT_EQ(err.status, 500) << err.body;
  auto lambda = Invoke("errtypes", "{}");
  EXPECT_EQ(lambda.status, 200);
  EXPECT_EQ(lambda.header("x-amz-function-error"), "Unhandled");
  auto body = nlohmann::json::parse(lambda.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << lambda.body;
  EXPECT_TRUE(body["errorType"].is_string()) << lambda.body;
  EXPECT_TRUE(body["errorMessage"].is_string()) << lambda.body;
  ExpectAlive();
}

TEST_F(HardeningTest, LinesWrittenJustBeforeTheResultArePartOfTheInvocation) {
  // 2,000 lines (more than a pipe holds) printed right before the result is posted.
  Function("chatty", R"PY(
while True:
    rid, _ = next_event()
    for i in range(2000):
        print("line %d of %s" % (i, rid))
    sys.stdout.flush()
    post("/invocation/" + rid + "/response", "{}")
)PY");
  StartGateway();
  for (int round = 0; round < 5; ++round) {
    auto r = Invoke("chatty", "{}", {{"X-Amz-Log-Type", "Tail"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string tail = Unbase64(r.header("x-amz-log-result"));
    const std::string id = r.header("x-amz-request-id");
    const auto last = tail.find("line 1999 of " + id);
    const auto end = tail.find("END RequestId: " + id);
    ASSERT_NE(last, std::string::npos) << tail.substr(tail.size() > 600 ? tail.size() - 600 : 0);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LT(last, end) << "worker output after END";
  }
}

TEST_F(HardeningTest, LastWordsOfACrashedWorkerAreInItsLogTail) {
  Function("dying", R"PY(
while True:
    rid, _ = next_event()
    print("last words", flush=True)
    os._exit(9)
)PY");
  StartGateway();
  for (int round = 0; round < 3; ++round) {
    auto r = Invoke("dying", "{}", {{"X-Amz-Log-Type", "Tail"}});
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_NE(Unbase64(r.header("x-amz-log-result")).find("last words"), std::string::npos);
  }
}

TEST_F(HardeningTest, ShutdownAnswersARequestStillUploading) {
  reg_.Put("up", "$LATEST", "py", Config());
  StartGateway();
  const std::string body = "{\"pad\":\"" + std::string(4 << 20, 'x') + "\"}";
  net::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), gw_->port()));
  // As curl sends a large body: the header, then the body once the server says 100 Continue
  // (so the server is known to be receiving this request when the shutdown starts).
  std::string head = "POST " + Path("up") +
                     " HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nExpect: 100-continue\r\n\r\n";
  net::write(s, net::buffer(head));
  std::string cont;
  net::read_until(s, net::dynamic_buffer(cont), "\r\n\r\n");
  ASSERT_EQ(cont.rfind("HTTP/1.1 100", 0), 0u) << cont;
  net::write(s, net::buffer(body.data(), 1 << 20));  // 1 MB of 4 MB, then SIGTERM's equivalent
  auto stopped = std::async(std::launch::async, [this] { gw_->Shutdown(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "shutdown did not wait for the upload";
  net::write(s, net::buffer(body.data() + (1 << 20), body.size() - (1 << 20)));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  for (size_t n; (n = s.read_some(net::buffer(buf), ec)) > 0 || !ec;) out.append(buf, n);
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out.substr(0, 300);
  EXPECT_NE(out.find("shutting down"), std::string::npos);
  stopped.get();
}

}  // namespace
}  // namespace mlfaas::testing
