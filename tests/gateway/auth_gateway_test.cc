// Authentication and authorization at the gateway's front doors, over real HTTP, with keys in a
// real SQLite home (auth::AuthStore): who gets in, with which error, and that no spelling of a
// path reaches a function its key may not touch.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/auth_store.h"
#include "auth/sigv4.h"
#include "gateway/gateway_fixture.h"
#include "testing/fake_clock.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;

class AuthGatewayTest : public GatewayFixture {
 protected:
  void SetUp() override {
    auto store = auth::AuthStore::Open(tmp_.path() / "home");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    reg_.Put("allowed", "$LATEST", "py", Config());
    reg_.Put("secret", "$LATEST", "py", Config({{"TAG", "the-secret-function"}}));
  }

  void Start(auth::AuthMode mode = auth::AuthMode::kAuto, Clock* clock = nullptr) {
    gateway::GatewayOptions o;
    o.keys = store_.get();
    o.auth_mode = mode;
    StartGateway(o, clock);
  }

  auth::KeyWithSecret Key(const std::string& name, std::vector<std::string> scopes,
                          double rate = 1000) {
    auto k = store_->CreateKey(name, scopes, rate);
    EXPECT_TRUE(k.ok()) << k.status().message();
    return k.ok() ? *k : auth::KeyWithSecret{};
  }

  // A request signed with SigV4 as botocore would sign it (host and x-amz-date), sent with the
  // test client (which sends Host: 127.0.0.1).
  HttpReply Signed(const auth::KeyWithSecret& k, const std::string& target, const std::string& body,
                   const std::string& secret_override = "", const std::string& body_override = "",
                   std::chrono::system_clock::time_point when = std::chrono::system_clock::now()) {
    const std::string date = auth::FormatAmzDate(when);
    auth::HttpRequestView v;
    v.method = "POST";
    v.target = target;
    v.headers = {{"Host", "127.0.0.1"}, {"X-Amz-Date", date}};
    v.body = body;
    auto authz = auth::SignAuthorization(v, k.key.access_key_id,
                                         secret_override.empty() ? k.secret : secret_override,
                                         "eu-west-1", "lambda", date, {"host", "x-amz-date"});
    EXPECT_TRUE(authz.ok());
    HttpClient c(gw_->port());
    return c.Post(target, body_override.empty() ? body : body_override,
                  {{"X-Amz-Date", date}, {"Authorization", authz.ok() ? *authz : ""}});
  }

  HttpReply WithBearer(const auth::KeyWithSecret& k, boost::beast::http::verb verb,
                       const std::string& target, const std::string& body = "") {
    HttpClient c(gw_->port());
    return c.Request(verb, target, body,
                     {{"Authorization", "Bearer " + k.key.access_key_id + ":" + k.secret}});
  }

  static void ExpectAwsError(const HttpReply& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"), type) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j.contains("message")) << r.body;
  }

  // Used by the gateway: GatewayFixture::TearDown stops it before these die.
  std::unique_ptr<auth::AuthStore> store_;
  FakeClock clock_;
};

TEST_F(AuthGatewayTest, OpenWithoutKeysOnLoopback) {
  Start();
  EXPECT_FALSE(gw_->guard()->enforced());
  EXPECT_EQ(Invoke("allowed", "{}").status, 200);
  HttpClient c(gw_->port());
  EXPECT_EQ(c.Get("/v1/status").status, 200);
  EXPECT_EQ(c.Get("/metrics").status, 200);
}

TEST_F(AuthGatewayTest, OnceAKeyExistsEveryRouteButHealthNeedsCredentials) {
  Start();
  Key("ci", {"invoke:*"});
  ASSERT_TRUE(gw_->guard()->Refresh().ok());  // what the maintenance tick does every second
  ExpectAwsError(Invoke("allowed", "{}"), 401, "MissingAuthenticationTokenException");
  HttpClient c(gw_->port());
  auto r = c.Get("/v1/status");
  ExpectAwsError(r, 401, "MissingAuthenticationTokenException");
  EXPECT_NE(r.header("www-authenticate").find("AWS4-HMAC-SHA256"), std::string::npos);
  ExpectAwsError(c.Get("/metrics"), 401, "MissingAuthenticationTokenException");
  ExpectAwsError(c.Post("/v1/models/allowed:predict", R"({"instances":[]})"), 401,
                 "MissingAuthenticationTokenException");
  ExpectAwsError(c.Post("/v2/models/allowed/infer", "{}"), 401,
                 "MissingAuthenticationTokenException");
  ExpectAwsError(c.Get("/v2"), 401, "MissingAuthenticationTokenException");
  ExpectAwsError(c.Get("/no/such/route"), 401, "MissingAuthenticationTokenException");
  // Health stays open, in exactly these spellings.
  EXPECT_EQ(c.Get("/healthz").status, 200);
  EXPECT_EQ(c.Get("/v2/health/live").status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready").status, 200);
  for (const char* other :
       {"/v2/health/%6Cive", "//healthz", "/healthz?x=1", "/v2/health/live/", "/v2//health/live"}) {
    EXPECT_EQ(c.Get(other).status, 401) << other;
  }
}

TEST_F(AuthGatewayTest, SigV4SignedInvokeAndItsFailures) {
  Start();
  auto k = Key("ci", {"invoke:allowed"});
  ASSERT_TRUE(gw_->guard()->Refresh().ok());
  const std::string path = Path("allowed");
  auto ok = Signed(k, path, R"({"msg":"hi"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["echo"]["msg"], "hi");
  // Qualified and ARN forms sign and authorize the same function.
  EXPECT_EQ(Signed(k, Path("allowed", "%24LATEST"), "{}").status, 200);
  EXPECT_EQ(Signed(k,
                   "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3A"
                   "function%3Aallowed/invocations",
                   "{}")
                .status,
            200);

  ExpectAwsError(Signed(k, path, "{}", "wrong-secret-wrong-secret-wrong-secret00"), 403,
                 "InvalidSignatureException");
  ExpectAwsError(Signed(k, path, R"({"amount":1})", "", R"({"amount":9})"), 403,
                 "InvalidSignatureException");
  ExpectAwsError(
      Signed(k, path, "{}", "", "", std::chrono::system_clock::now() - std::chrono::minutes(16)),
      403, "InvalidSignatureException");
  ExpectAwsError(
      Signed(k, path, "{}", "", "", std::chrono::system_clock::now() + std::chrono::minutes(16)),
      403, "InvalidSignatureException");
  EXPECT_EQ(
      Signed(k, path, "{}", "", "", std::chrono::system_clock::now() - std::chrono::minutes(14))
          .status,
      200);
  auto denied = Signed(k, Path("secret"), "{}");
  ExpectAwsError(denied, 403, "AccessDeniedException");
  EXPECT_NE(denied.body.find("lambda:InvokeFunction"), std::string::npos) << denied.body;
  EXPECT_EQ(denied.body.find("the-secret-function"), std::string::npos);

  auth::KeyWithSecret unknown = k;
  unknown.key.access_key_id = "AKIAZZZZZZZZZZZZZZZZ";
  ExpectAwsError(Signed(unknown, path, "{}"), 403, "UnrecognizedClientException");
  ASSERT_TRUE(store_->RevokeKey("ci").ok());
  ASSERT_TRUE(gw_->guard()->Refresh().ok());
  ExpectAwsError(Signed(k, path, "{}"), 403, "UnrecognizedClientException");
}

TEST_F(AuthGatewayTest, NoSpellingOfAPathReachesAFunctionTheKeyMayNotTouch) {
  Start();
  auto k = Key("narrow", {"invoke:allowed"});
  ASSERT_TRUE(gw_->guard()->Refresh().ok());
  using boost::beast::http::verb;
  // Each of these names "secret" somehow; none may run it.
  const std::vector<std::pair<verb, std::string>> tricks = {
      {verb::post, "/2015-03-31/functions/secret/invocations"},
      {verb::post, "/2015-03-31/functions/%73ecret/invocations"},
      {verb::post, "/2015-03-31/functions/allowed/../secret/invocations"},
      {verb::post, "/2015-03-31/functions/allowed/%2e%2e/secret/invocations"},
      {verb::post, "/2015-03-31/functions/allowed%2F..%2Fsecret/invocations"},
      {verb::post, "/2015-03-31/functions/allowed%2Fsecret/invocations"},
      {verb::post, "/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:secret/invocations"},
      {verb::post,
       "/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:allowed:x/../../"
       "secret/invocations"},
      {verb::post, "//2015-03-31/functions/secret/invocations"},
      {verb::post, "/2015-03-31//functions/secret/invocations"},
      {verb::post, "/2015-03-31/FUNCTIONS/secret/invocations"},
      {verb::post, "/2015-03-31/functions/SECRET/invocations"},
      {verb::post, "/2015-03-31/functions/secret/invocations/"},
      {verb::post, "/2015-03-31/functions/secret%00/invocations"},
      {verb::post, "/2015-03-31/functions/secret/invocations?Qualifier=..%2F..%2Fallowed"},
      {verb::post, "/v1/models/secret:predict"},
      {verb::post, "/v1/models/%73ecret:predict"},
      {verb::post, "/v1/models/allowed/../secret:predict"},
      {verb::post, "/v1/models/secret/versions/1:predict"},
      {verb::get, "/v1/models/secret"},
      {verb::post, "/v2/models/secret/infer"},
      {verb::post, "/v2/models/secret/versions/1/infer"},
      {verb::post, "/v2/models/%73ecret/infer"},
      {verb::get, "/v2/models/secret"},
      {verb::get, "/v2/models/secret/ready"},
  };
  for (const auto& [method, target] : tricks) {
    auto r = WithBearer(k, method, target, R"({"instances":[{}],"inputs":[]})");
    EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404)
        << target << " -> " << r.status << " " << r.body;
    EXPECT_EQ(r.body.find("the-secret-function"), std::string::npos) << target;
  }
  // The direct spellings are refused as such (403, not a parse error).
  for (const char* target :
       {"/2015-03-31/functions/secret/invocations", "/2015-03-31/functions/%73ecret/invocations",
        "/v1/models/secret", "/v2/models/%73ecret/infer"}) {
    auto r = WithBearer(
        k, target[1] == '2' || std::string(target).ends_with("infer") ? verb::post : verb::get,
        target, "{}");
    ExpectAwsError(r, 403, "AccessDeniedException");
  }
  // And the key's own function works through every door.
  EXPECT_EQ(WithBearer(k, verb::post, Path("allowed"), "{}").status, 200);
  EXPECT_EQ(WithBearer(k, verb::get, "/v2/models/allowed").status, 200);
  // Status and metrics show every function: read:* only.
  ExpectAwsError(WithBearer(k, verb::get, "/v1/status"), 403, "AccessDeniedException");
  ExpectAwsError(WithBearer(k, verb::get, "/metrics"), 403, "AccessDeniedException");
  auto reader = Key("reader", {"read:*"});
  auto narrow_reader = Key("narrow-reader", {"read:allowed"});
  ASSERT_TRUE(gw_->guard()->Refresh().ok());
  EXPECT_EQ(WithBearer(reader, verb::get, "/v1/status").status, 200);
  EXPECT_EQ(WithBearer(reader, verb::get, "/metrics").status, 200);
  ExpectAwsError(WithBearer(reader, verb::post, Path("allowed"), "{}"), 403,
                 "AccessDeniedException");
  ExpectAwsError(WithBearer(narrow_reader, verb::get, "/v1/status"), 403, "AccessDeniedException");
}

TEST_F(AuthGatewayTest, RateLimitAnswers429PerKey) {
  Start(auth::AuthMode::kAuto, &clock_);
  auto slow = Key("slow", {"invoke:*"}, 1);  // burst 2
  auto other = Key("other", {"invoke:*"}, 1);
  ASSERT_TRUE(gw_->guard()->Refresh().ok());
  using boost::beast::http::verb;
  EXPECT_EQ(WithBearer(slow, verb::post, Path("allowed"), "{}").status, 200);
  EXPECT_EQ(WithBearer(slow, verb::post, Path("allowed"), "{}").status, 200);
  auto r = WithBearer(slow, verb::post, Path("allowed"), "{}");
  ExpectAwsError(r, 429, "TooManyRequestsException");
  EXPECT_EQ(json::parse(r.body)["Reason"], "CallerRateLimitExceeded");
  EXPECT_EQ(WithBearer(other, verb::post, Path("allowed"), "{}").status, 200) << "per key";
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(WithBearer(slow, verb::post, Path("allowed"), "{}").status, 200);
}

TEST_F(AuthGatewayTest, RequiredModeRefusesEvenWithoutKeysAndLocalTokenWorks) {
  Start(auth::AuthMode::kRequired);
  ExpectAwsError(Invoke("allowed", "{}"), 401, "MissingAuthenticationTokenException");
  Key("any", {"invoke:*"});  // creates the server key, hence the local token
  ASSERT_TRUE(gw_->guard()->Refresh().ok());
  auto token = store_->LocalToken();
  ASSERT_TRUE(token.has_value());
  HttpClient c(gw_->port());
  auto r = c.Request(boost::beast::http::verb::get, "/v1/status", "",
                     {{"Authorization", "Bearer mlfaas-local:" + *token}});
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace mlfaas::testing
