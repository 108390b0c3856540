// RemoteRegistry, RemoteKeyAdmin, GatewayClient and HttpClient against an in-test gateway
// (cli/fake_gateway.h) that answers Lambda-shaped JSON: the requests they make (paths, methods,
// bodies, SigV4 signatures), paging, and how answers and errors come back.
#include "cli/remote_registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/sigv4.h"
#include "cli/fake_gateway.h"
#include "cli/gateway_client.h"
#include "cli/http_client.h"
#include "cli/remote_key_admin.h"
#include "common/base64.h"
#include "common/fs.h"
#include "registry/config_json.h"

namespace mlfaas::cli {
namespace {

using mlfaas::testing::FakeGateway;
using nlohmann::json;
using registry::AliasInfo;
using registry::FunctionConfig;
using registry::FunctionInfo;
using registry::VersionInfo;

constexpr const char* kKeyId = "AKIAEXAMPLEEXAMPLE22";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

VersionInfo Version(const std::string& fn, const std::string& v) {
  VersionInfo out;
  out.function = fn;
  out.version = v;
  out.code_digest = std::string(64, 'c');
  out.model_digest = std::string(64, 'd');
  out.created_at = "2024-05-01T12:00:0" + std::to_string(v.size() % 10) + "Z";
  out.description = v == registry::kLatest ? "" : "version " + v;
  return out;
}

FunctionInfo Function(const std::string& name) {
  return FunctionInfo{name, Version(name, registry::kLatest), "2024-04-01T00:00:00Z",
                      "2024-05-01T12:00:00Z"};
}

// A FunctionConfiguration as the gateway answers it: a few Lambda fields and the record.
json Configuration(const VersionInfo& v) {
  return {{"FunctionName", v.function},
          {"Version", v.version},
          {"MemorySize", v.config.memory_mb},
          {"Mlfaas", registry::ToJson(v)}};
}

json AliasConfiguration(const AliasInfo& a) {
  return {{"Name", a.name}, {"FunctionVersion", a.version}, {"Mlfaas", registry::ToJson(a)}};
}

// The SigV4 check the gateway makes, with the test secret and now.
::testing::AssertionResult SignedWithTestKey(const FakeGateway::Request& r) {
  const std::string authorization = r.header("authorization");
  if (authorization.empty()) return ::testing::AssertionFailure() << "no Authorization";
  auto parsed = auth::ParseAuthorization(authorization);
  if (auto* err = std::get_if<auth::SigV4Error>(&parsed)) {
    return ::testing::AssertionFailure() << err->type << ": " << err->message;
  }
  const auto& a = std::get<auth::Authorization>(parsed);
  if (a.credential.access_key_id != kKeyId) return ::testing::AssertionFailure() << "key id";
  auth::HttpRequestView view;
  view.method = r.method;
  view.target = r.target;
  for (const auto& [k, v] : r.headers) view.headers.emplace_back(k, v);
  view.body = r.body;
  if (auto err = auth::Verify(view, a, kSecret, "lambda", std::chrono::system_clock::now())) {
    return ::testing::AssertionFailure() << err->type << ": " << err->message;
  }
  return ::testing::AssertionSuccess() << a.credential.region;
}

class RemoteRegistryTest : public ::testing::Test {
 protected:
  RemoteRegistryTest()
      : gateway_([this](const FakeGateway::Request& r) { return Answer(r); }),
        client_(Endpoint(gateway_.url()), Auth(), Options()),
        reg_(client_),
        keys_(client_) {}

  static HttpEndpoint Endpoint(const std::string& url) {
    auto ep = ParseHttpUrl(url);
    EXPECT_TRUE(ep.ok()) << ep.status().ToString();
    return *ep;
  }
  static GatewayAuth Auth() {
    GatewayAuth a;
    a.credentials = GatewayCredentials{kKeyId, kSecret};
    a.region = "eu-west-1";
    return a;
  }
  static HttpClientOptions Options() {
    HttpClientOptions o;
    o.connect_timeout = std::chrono::seconds(5);
    o.exchange_timeout = std::chrono::seconds(10);
    return o;
  }

  // Routes by "METHOD target" to the test's canned answers; 404 for anything else.
  FakeGateway::Reply Answer(const FakeGateway::Request& r) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = routes_.find(r.method + " " + r.target);
    if (it == routes_.end()) {
      return FakeGateway::AwsError(404, "ResourceNotFoundException",
                                   "no canned answer for " + r.method + " " + r.target);
    }
    return it->second;
  }
  void Route(const std::string& request, FakeGateway::Reply reply) {
    std::lock_guard<std::mutex> l(mu_);
    routes_[request] = std::move(reply);
  }
  std::vector<std::string> Requests() const {
    std::vector<std::string> out;
    for (const auto& r : gateway_.requests()) out.push_back(r.method + " " + r.target);
    return out;
  }

  std::mutex mu_;
  std::map<std::string, FakeGateway::Reply> routes_;  // "METHOD target" -> answer
  FakeGateway gateway_;
  GatewayClient client_;
  RemoteRegistry reg_;
  RemoteKeyAdmin keys_;
  TempDir dir_;
};

TEST_F(RemoteRegistryTest, CreateFunctionSendsTheZipAndTheSettingsSigned) {
  const std::string zip = std::string("PK\x03\x04", 4) + std::string(100'000, '\x7f') + "end";
  const std::string pkg = (dir_.path() / "model.zip").string();
  ASSERT_TRUE(WriteFileAtomic(pkg, zip).ok());
  FunctionInfo created = Function("kdd99");
  created.latest.config.memory_mb = 1024;
  Route("POST /2015-03-31/functions", FakeGateway::Json(201, Configuration(created.latest)));
  Route("GET /2015-03-31/functions/kdd99",
        FakeGateway::Json(200, {{"Configuration", Configuration(created.latest)},
                                {"Tags", json::object()},
                                {"Mlfaas", registry::ToJson(created)}}));

  FunctionConfig c;
  c.memory_mb = 1024;
  c.timeout_s = 30;
  c.ephemeral_storage_mb = 1024;
  c.environment = {{"MODE", "strict"}};
  c.reserved_concurrency = 3;
  c.provisioned_concurrency = 1;
  c.idle_timeout_s = 120;
  c.model_loading = "lazy";
  c.description = "anomalies";
  auto f = reg_.CreateFunction("kdd99", pkg, c);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(registry::ToJson(*f), registry::ToJson(created));

  auto reqs = gateway_.requests();
  ASSERT_EQ(Requests(), (std::vector<std::string>{"POST /2015-03-31/functions",
                                                  "GET /2015-03-31/functions/kdd99"}));
  json body = reqs[0].json();
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  EXPECT_EQ(body["FunctionName"], "kdd99");
  EXPECT_EQ(body["Runtime"], "mlfaas");
  EXPECT_EQ(body["Role"], "arn:aws:iam::000000000000:role/mlfaas");
  EXPECT_EQ(body["Handler"], "predict");
  EXPECT_EQ(body["MemorySize"], 1024);
  EXPECT_EQ(body["Timeout"], 30);
  EXPECT_EQ(body["Description"], "anomalies");
  EXPECT_EQ(body["Environment"], (json{{"Variables", {{"MODE", "strict"}}}}));
  EXPECT_EQ(body["EphemeralStorage"], (json{{"Size", 1024}}));
  EXPECT_EQ(body["Tags"], (json{{"mlfaas:idle-timeout", "120"},
                                {"mlfaas:model-loading", "lazy"},
                                {"mlfaas:provisioned-concurrency", "1"},
                                {"mlfaas:reserved-concurrency", "3"}}));
  ASSERT_TRUE(body["Code"]["ZipFile"].is_string());
  EXPECT_EQ(Base64Decode(body["Code"]["ZipFile"].get<std::string>()), zip);
  for (const auto& r : reqs) {
    auto signed_ok = SignedWithTestKey(r);
    EXPECT_TRUE(signed_ok) << r.method << " " << r.target;
    EXPECT_NE(r.header("authorization").find("/eu-west-1/lambda/aws4_request"), std::string::npos);
    EXPECT_EQ(r.header("host"), "127.0.0.1:" + std::to_string(gateway_.port()));
  }

  // Without a reserved concurrency there is no tag for it; an update of the code sends the zip.
  gateway_.Clear();
  c.reserved_concurrency.reset();
  ASSERT_TRUE(reg_.CreateFunction("kdd99", pkg, c).ok());
  EXPECT_FALSE(gateway_.requests()[0].json()["Tags"].contains("mlfaas:reserved-concurrency"));
  Route("PUT /2015-03-31/functions/kdd99/code",
        FakeGateway::Json(200, Configuration(created.latest)));
  gateway_.Clear();
  ASSERT_TRUE(reg_.UpdateCode("kdd99", pkg).ok());
  EXPECT_EQ(Requests(), (std::vector<std::string>{"PUT /2015-03-31/functions/kdd99/code",
                                                  "GET /2015-03-31/functions/kdd99"}));
  EXPECT_EQ(Base64Decode(gateway_.requests()[0].json()["ZipFile"].get<std::string>()), zip);
}

TEST_F(RemoteRegistryTest, AWriteThatAnswersWithTheFunctionRecordNeedsNoSecondRequest) {
  const std::string pkg = (dir_.path() / "model.zip").string();
  ASSERT_TRUE(WriteFileAtomic(pkg, "PK").ok());
  json answer = Configuration(Function("f").latest);
  answer["MlfaasFunction"] = registry::ToJson(Function("f"));
  Route("POST /2015-03-31/functions", FakeGateway::Json(201, answer));
  auto f = reg_.CreateFunction("f", pkg, FunctionConfig());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->created_at, "2024-04-01T00:00:00Z");
  EXPECT_EQ(Requests(), (std::vector<std::string>{"POST /2015-03-31/functions"}));
}

TEST_F(RemoteRegistryTest, PackagesAreCheckedBeforeAnythingIsSent) {
  auto missing = reg_.CreateFunction("f", (dir_.path() / "nope.zip").string(), FunctionConfig());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "cannot read " + (dir_.path() / "nope.zip").string() + ": no such file");
  // Larger than the gateway takes (a sparse file: nothing is written).
  const std::string big = (dir_.path() / "big.zip").string();
  ASSERT_TRUE(WriteFileAtomic(big, "PK").ok());
  std::filesystem::resize_file(big, 60u << 20);
  auto too_big = reg_.UpdateCode("f", big);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("can be at most 50 MB"), std::string::npos)
      << too_big.status().message();
  EXPECT_TRUE(gateway_.requests().empty());
}

TEST_F(RemoteRegistryTest, UpdateConfigSendsTheLambdaFieldsTheCapRemovalAndTheTagsThatChange) {
  FunctionInfo f = Function("fraud-v2");
  f.latest.config.reserved_concurrency = 3;
  f.latest.config.provisioned_concurrency = 1;
  const std::string get = "GET /2015-03-31/functions/fraud-v2";
  const std::string put = "PUT /2015-03-31/functions/fraud-v2/configuration";
  const std::string uncap = "DELETE /2017-10-31/functions/fraud-v2/concurrency";
  const std::string tags =
      "POST /2017-03-31/tags/"
      "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afraud-v2";
  Route(get, FakeGateway::Json(200, {{"Mlfaas", registry::ToJson(f)}}));
  Route(put, FakeGateway::Json(200, Configuration(f.latest)));
  Route(uncap, FakeGateway::Json(204, nullptr));
  Route(tags, FakeGateway::Json(204, nullptr));

  // Everything changes: the fields, then the cap goes, then the tags; the function read back.
  FunctionConfig c = f.latest.config;
  c.runtime = "provided";
  c.handler = "main";
  c.reserved_concurrency.reset();
  c.provisioned_concurrency = 2;
  ASSERT_TRUE(reg_.UpdateConfig("fraud-v2", c).ok());
  EXPECT_EQ(Requests(), (std::vector<std::string>{get, put, uncap, tags, get}));
  auto reqs = gateway_.requests();
  EXPECT_EQ(reqs[1].json(), (json{{"Runtime", "provided"},
                                  {"Handler", "main"},
                                  {"MemorySize", 512},
                                  {"Timeout", 3},
                                  {"Description", ""},
                                  {"Environment", {{"Variables", json::object()}}},
                                  {"EphemeralStorage", {{"Size", 512}}}}));
  EXPECT_EQ(reqs[3].json(), (json{{"Tags",
                                   {{"mlfaas:idle-timeout", "600"},
                                    {"mlfaas:model-loading", "init"},  // the default
                                    {"mlfaas:provisioned-concurrency", "2"}}}}));
  for (const auto& r : reqs) EXPECT_TRUE(SignedWithTestKey(r)) << r.target;

  // Only a setting changes: only the tags, the cap among them.
  gateway_.Clear();
  c = f.latest.config;
  c.reserved_concurrency = 5;
  ASSERT_TRUE(reg_.UpdateConfig("fraud-v2", c).ok());
  EXPECT_EQ(Requests(), (std::vector<std::string>{get, tags, get}));
  EXPECT_EQ(gateway_.requests()[1].json()["Tags"]["mlfaas:reserved-concurrency"], "5");

  // Nothing changes: still one write, as a local update is one.
  gateway_.Clear();
  ASSERT_TRUE(reg_.UpdateConfig("fraud-v2", f.latest.config).ok());
  EXPECT_EQ(Requests(), (std::vector<std::string>{get, put, get}));

  // A failing step stops the sequence with the gateway's error.
  gateway_.Clear();
  Route(put, FakeGateway::AwsError(400, "InvalidParameterValueException",
                                   "MemorySize must be between 128 and 10240"));
  c = f.latest.config;
  c.memory_mb = 64;
  c.idle_timeout_s = 60;
  auto bad = reg_.UpdateConfig("fraud-v2", c);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "MemorySize must be between 128 and 10240");
  EXPECT_EQ(Requests(), (std::vector<std::string>{get, put}));
}

TEST_F(RemoteRegistryTest, ListFunctionsFollowsNextMarker) {
  auto page = [](std::vector<std::string> names, const std::string& next) {
    json fs = json::array();
    for (const auto& n : names) {
      json item = Configuration(Function(n).latest);
      item["MlfaasFunction"] = registry::ToJson(Function(n));
      fs.push_back(item);
    }
    json out = {{"Functions", fs}};
    if (!next.empty()) out["NextMarker"] = next;
    return FakeGateway::Json(200, out);
  };
  Route("GET /2015-03-31/functions/?MaxItems=50", page({"a", "b"}, "b"));
  Route("GET /2015-03-31/functions/?MaxItems=50&Marker=b", page({"c"}, "c/d e"));
  Route("GET /2015-03-31/functions/?MaxItems=50&Marker=c%2Fd%20e", page({"d"}, ""));
  auto fs = reg_.ListFunctions();
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  ASSERT_EQ(fs->size(), 4u);
  EXPECT_EQ((*fs)[0].name, "a");
  EXPECT_EQ((*fs)[3].name, "d");
  EXPECT_EQ((*fs)[3].created_at, "2024-04-01T00:00:00Z");
  EXPECT_EQ(Requests().size(), 3u);
  for (const auto& r : gateway_.requests()) EXPECT_TRUE(SignedWithTestKey(r)) << r.target;

  // A gateway that hands out the same marker again would page forever.
  Route("GET /2015-03-31/functions/?MaxItems=50&Marker=c%2Fd%20e", page({"d"}, "b"));
  auto loop = reg_.ListFunctions();
  EXPECT_EQ(loop.status().code(), StatusCode::kInternal);
  EXPECT_NE(loop.status().message().find("NextMarker 'b' was given before"), std::string::npos)
      << loop.status().message();
}

TEST_F(RemoteRegistryTest, VersionsArePublishedListedReadAndDeleted) {
  Route("POST /2015-03-31/functions/f/versions",
        FakeGateway::Json(201, Configuration(Version("f", "2"))));
  Route("GET /2015-03-31/functions/f/versions?MaxItems=50",
        FakeGateway::Json(200, {{"Versions",
                                 {Configuration(Version("f", registry::kLatest)),
                                  Configuration(Version("f", "1"))}},
                                {"NextMarker", "1"}}));
  Route("GET /2015-03-31/functions/f/versions?MaxItems=50&Marker=1",
        FakeGateway::Json(
            200, {{"Versions", {Configuration(Version("f", "2"))}}, {"NextMarker", nullptr}}));
  Route("GET /2015-03-31/functions/f/configuration?Qualifier=%24LATEST",
        FakeGateway::Json(200, Configuration(Version("f", registry::kLatest))));
  Route("GET /2015-03-31/functions/f/configuration?Qualifier=2",
        FakeGateway::Json(200, Configuration(Version("f", "2"))));
  Route("DELETE /2015-03-31/functions/f?Qualifier=1", FakeGateway::Json(204, nullptr));
  Route("DELETE /2015-03-31/functions/f", FakeGateway::Json(204, nullptr));

  auto v = reg_.PublishVersion("f", "new model");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(registry::ToJson(*v), registry::ToJson(Version("f", "2")));
  EXPECT_EQ(gateway_.requests()[0].json(), (json{{"Description", "new model"}}));
  auto vs = reg_.ListVersions("f");
  ASSERT_TRUE(vs.ok()) << vs.status().ToString();
  ASSERT_EQ(vs->size(), 3u);
  EXPECT_EQ((*vs)[0].version, "$LATEST");
  EXPECT_EQ((*vs)[2].version, "2");
  auto latest = reg_.GetVersion("f", registry::kLatest);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->version, "$LATEST");
  EXPECT_TRUE(reg_.DeleteVersion("f", "1").ok());
  EXPECT_TRUE(reg_.DeleteFunction("f").ok());
  auto resolved = reg_.Resolve("f", "", 0.5);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->version, "$LATEST");
  for (const auto& r : gateway_.requests()) EXPECT_TRUE(SignedWithTestKey(r)) << r.target;
}

TEST_F(RemoteRegistryTest, AliasesCarryTheirCanaryAsRoutingConfig) {
  const AliasInfo live{"f", "live", "2", "3", 0.1, "prod"};
  Route("POST /2015-03-31/functions/f/aliases", FakeGateway::Json(201, AliasConfiguration(live)));
  Route("PUT /2015-03-31/functions/f/aliases/live",
        FakeGateway::Json(200, AliasConfiguration(AliasInfo{"f", "live", "1", {}, 0, "prod"})));
  Route("GET /2015-03-31/functions/f/aliases/live",
        FakeGateway::Json(200, AliasConfiguration(live)));
  Route("GET /2015-03-31/functions/f/aliases?MaxItems=50",
        FakeGateway::Json(200, {{"Aliases", {AliasConfiguration(live)}}}));
  Route("DELETE /2015-03-31/functions/f/aliases/live", FakeGateway::Json(204, nullptr));
  Route("GET /2015-03-31/functions/f/configuration?Qualifier=2",
        FakeGateway::Json(200, Configuration(Version("f", "2"))));
  Route("GET /2015-03-31/functions/f/configuration?Qualifier=3",
        FakeGateway::Json(200, Configuration(Version("f", "3"))));

  auto created = reg_.CreateAlias(live);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(registry::ToJson(*created), registry::ToJson(live));
  EXPECT_EQ(gateway_.requests()[0].json(),
            (json{{"Name", "live"},
                  {"FunctionVersion", "2"},
                  {"Description", "prod"},
                  {"RoutingConfig", {{"AdditionalVersionWeights", {{"3", 0.1}}}}}}));
  auto rolled_back = reg_.UpdateAlias(AliasInfo{"f", "live", "1", {}, 0, "prod"});
  ASSERT_TRUE(rolled_back.ok()) << rolled_back.status().ToString();
  EXPECT_FALSE(rolled_back->canary_version.has_value());
  EXPECT_EQ(gateway_.requests()[1].json(),
            (json{{"FunctionVersion", "1"},
                  {"Description", "prod"},
                  {"RoutingConfig", {{"AdditionalVersionWeights", json::object()}}}}));
  auto got = reg_.GetAlias("f", "live");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->canary_version, "3");
  auto all = reg_.ListAliases("f");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_DOUBLE_EQ((*all)[0].canary_weight, 0.1);
  EXPECT_TRUE(reg_.DeleteAlias("f", "live").ok());
  // Resolve picks the canary below its weight, the primary at or above it.
  EXPECT_EQ(reg_.Resolve("f", "live", 0.05)->version, "3");
  EXPECT_EQ(reg_.Resolve("f", "live", 0.5)->version, "2");
  EXPECT_EQ(reg_.Resolve("f", "2", 0.0)->version, "2");
  for (const auto& r : gateway_.requests()) EXPECT_TRUE(SignedWithTestKey(r)) << r.target;
}

TEST_F(RemoteRegistryTest, GatewayErrorsComeBackAsTheLocalCodesWithTheGatewaysMessage) {
  Route("GET /2015-03-31/functions/nope",
        FakeGateway::AwsError(404, "ResourceNotFoundException", "function 'nope' does not exist"));
  auto missing = reg_.GetFunction("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "function 'nope' does not exist");

  Route("POST /2015-03-31/functions/f/aliases",
        FakeGateway::AwsError(409, "ResourceConflictException",
                              "alias 'live' of function 'f' already exists"));
  auto dup = reg_.CreateAlias(AliasInfo{"f", "live", "1", {}, 0, ""});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "alias 'live' of function 'f' already exists");

  Route("GET /2015-03-31/functions/?MaxItems=50",
        FakeGateway::AwsError(403, "AccessDeniedException",
                              "User: key:AKIA/ci is not authorized to perform: "
                              "lambda:ListFunctions"));
  auto denied = reg_.ListFunctions();
  EXPECT_EQ(denied.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(denied.status().message(),
            "User: key:AKIA/ci is not authorized to perform: lambda:ListFunctions");

  // Names that cannot exist are not sent (an empty one would name the collection).
  gateway_.Clear();
  EXPECT_EQ(reg_.GetFunction("").status().message(), "function '' does not exist");
  EXPECT_EQ(reg_.GetAlias("f", "").status().message(), "function 'f' has no alias ''");
  EXPECT_EQ(reg_.DeleteFunction("a/b").code(), StatusCode::kNotFound);
  EXPECT_TRUE(gateway_.requests().empty());
  EXPECT_EQ(reg_.PackagePath("abc").status().code(), StatusCode::kUnimplemented);

  // An answer without the mlfaas record is not from an mlfaas gateway.
  Route("GET /2015-03-31/functions/bare", FakeGateway::Json(200, {{"Configuration", {}}}));
  auto bare = reg_.GetFunction("bare");
  EXPECT_EQ(bare.status().code(), StatusCode::kInternal);
  EXPECT_NE(bare.status().message().find("no \"Mlfaas\" field"), std::string::npos);
}

TEST(StatusFromErrorResponseTest, MapsTypesAndStatuses) {
  struct Case {
    int status;
    std::string type_header;
    std::string body;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {404, "ResourceNotFoundException", R"({"Type":"User","message":"gone"})",
       StatusCode::kNotFound, "gone"},
      {409, "ResourceConflictException", R"({"Type":"User","message":"used by alias"})",
       StatusCode::kAlreadyExists, "used by alias"},
      {400, "InvalidParameterValueException", R"({"message":"bad memory"})",
       StatusCode::kInvalidArgument, "bad memory"},
      {400, "InvalidRequestContentException", R"({"message":"not JSON"})",
       StatusCode::kInvalidArgument, "not JSON"},
      {413, "RequestTooLargeException", R"({"message":"too large"})", StatusCode::kInvalidArgument,
       "too large"},
      {401, "MissingAuthenticationTokenException", R"({"message":"Missing Authentication Token"})",
       StatusCode::kFailedPrecondition, "Missing Authentication Token"},
      {403, "InvalidSignatureException", R"({"Message":"signature mismatch"})",
       StatusCode::kFailedPrecondition, "signature mismatch"},
      {429, "TooManyRequestsException", R"({"message":"Rate exceeded"})",
       StatusCode::kResourceExhausted, "Rate exceeded"},
      {500, "ServiceException", R"({"Type":"Service","message":"boom"})", StatusCode::kUnavailable,
       "boom"},
      {503, "", "<html>Bad gateway</html>", StatusCode::kUnavailable,
       "the gateway answered HTTP 503"},
      // Without the header: the body's type, the mlfaas JSON error shape, the status alone.
      {404, "", R"({"type":"NotFound","message":"no route for GET /x"})", StatusCode::kNotFound,
       "no route for GET /x"},
      {400, "", R"({"__type":"com.amazonaws#ResourceNotFoundException","message":"m"})",
       StatusCode::kNotFound, "m"},
      {409, "", R"({"error":"taken"})", StatusCode::kAlreadyExists, "taken"},
      {400, "", R"({"error":{"message":"nested"}})", StatusCode::kInvalidArgument, "nested"},
      {405, "", "", StatusCode::kUnimplemented, "the gateway answered HTTP 405"},
      {404, "ResourceNotFoundException:http://internal/", "", StatusCode::kNotFound,
       "the gateway answered HTTP 404 (ResourceNotFoundException)"},
  };
  for (const auto& c : cases) {
    HttpResponse res;
    res.status = c.status;
    if (!c.type_header.empty()) res.headers["x-amzn-errortype"] = c.type_header;
    res.body = c.body;
    Status st = StatusFromErrorResponse(res);
    EXPECT_EQ(st.code(), c.code) << c.status << " " << c.type_header << " " << c.body;
    EXPECT_EQ(st.message(), c.message) << c.status << " " << c.type_header << " " << c.body;
  }
}

TEST_F(RemoteRegistryTest, KeysAndTheAuditLogGoThroughTheKeyApi) {
  const json key = {{"AccessKeyId", "AKIAAAAAAAAAAAAAAAAA"},
                    {"Name", "ci@build"},
                    {"Scopes", {"invoke:kdd99-*", "read:*"}},
                    {"Rate", 2.5},
                    {"CreatedAt", "2024-05-01T12:00:00Z"},
                    {"Status", "Active"},
                    {"RevokedAt", ""}};
  json revoked = key;
  revoked["Status"] = "Revoked";
  revoked["RevokedAt"] = "2024-05-02T00:00:00Z";
  Route("POST /mlfaas/v1/keys", FakeGateway::Json(201, {{"AccessKeyId", "AKIAAAAAAAAAAAAAAAAA"},
                                                        {"SecretAccessKey", "s3cr3t"},
                                                        {"Key", key}}));
  Route("GET /mlfaas/v1/keys", FakeGateway::Json(200, {{"Keys", {key, revoked}}}));
  Route("DELETE /mlfaas/v1/keys/ci%40build", FakeGateway::Json(200, {{"Key", revoked}}));
  Route("GET /mlfaas/v1/audit?since=2024-05-01T00%3A00%3A00.000Z&limit=7",
        FakeGateway::Json(200, {{"Entries",
                                 {{{"id", 41},
                                   {"at", "2024-05-01T12:00:00.000Z"},
                                   {"principal", "key:AKIA/admin"},
                                   {"source", "http 127.0.0.1:5000"},
                                   {"action", "CreateKey"},
                                   {"resource", "key:AKIAAAAAAAAAAAAAAAAA/ci@build"},
                                   {"result", "ok"},
                                   {"detail", "scopes invoke:kdd99-* read:*"}}}}}));

  auto created = keys_.CreateKey("ci@build", {"invoke:kdd99-*", "read:*"}, 2.5);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->secret, "s3cr3t");
  EXPECT_EQ(created->key.name, "ci@build");
  EXPECT_TRUE(created->key.active());
  EXPECT_EQ(gateway_.requests()[0].json(),
            (json{{"Name", "ci@build"}, {"Scopes", {"invoke:kdd99-*", "read:*"}}, {"Rate", 2.5}}));
  auto listed = keys_.ListKeys();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].scopes, (std::vector<std::string>{"invoke:kdd99-*", "read:*"}));
  EXPECT_DOUBLE_EQ((*listed)[0].rate, 2.5);
  EXPECT_FALSE((*listed)[1].active());
  auto gone = keys_.RevokeKey("ci@build");
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(gone->revoked_at, "2024-05-02T00:00:00Z");
  auth::AuditQuery q;
  q.since = "2024-05-01T00:00:00.000Z";
  q.limit = 7;
  auto entries = keys_.ListAudit(q);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].id, 41);
  EXPECT_EQ((*entries)[0].action, "CreateKey");
  for (const auto& r : gateway_.requests()) EXPECT_TRUE(SignedWithTestKey(r)) << r.target;

  Route("DELETE /mlfaas/v1/keys/ci",
        FakeGateway::AwsError(403, "AccessDeniedException", "it needs the scope admin"));
  auto denied = keys_.RevokeKey("ci");
  EXPECT_EQ(denied.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(denied.status().message(), "it needs the scope admin");
}

TEST(GatewayClientTest, WithoutCredentialsRequestsGoUnsignedOrWithTheBearerToken) {
  FakeGateway gw([](const FakeGateway::Request&) {
    return FakeGateway::Json(200, {{"status", "ok"}});
  });
  auto ep = ParseHttpUrl(gw.url() + "/");
  ASSERT_TRUE(ep.ok());
  GatewayClient open(*ep, GatewayAuth{});
  ASSERT_TRUE(open.Call("GET", "/v1/status").ok());
  GatewayAuth local;
  local.bearer = "mlfaas-local:abc";
  GatewayClient bearer(*ep, local);
  auto j = bearer.Call("GET", "/v1/status");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["status"], "ok");
  auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].header("authorization"), "");
  EXPECT_EQ(reqs[0].header("x-amz-date"), "");
  EXPECT_EQ(reqs[1].header("authorization"), "Bearer mlfaas-local:abc");
}

TEST(GatewayAuthTest, CredentialsAndRegionComeFromTheEnvironment) {
  const char* vars[] = {"MLFAAS_ACCESS_KEY_ID", "MLFAAS_SECRET_ACCESS_KEY",
                        "AWS_ACCESS_KEY_ID",    "AWS_SECRET_ACCESS_KEY",
                        "MLFAAS_REGION",        "AWS_REGION",
                        "AWS_DEFAULT_REGION"};
  for (const char* v : vars) unsetenv(v);
  auto none = GatewayAuthFromEnvironment();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->credentials.has_value());
  EXPECT_EQ(none->region, "us-east-1");

  setenv("AWS_ACCESS_KEY_ID", "AKIAAWS", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "aws-secret", 1);
  setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
  auto aws = GatewayAuthFromEnvironment();
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(aws->credentials->access_key_id, "AKIAAWS");
  EXPECT_EQ(aws->region, "ap-south-1");

  setenv("MLFAAS_ACCESS_KEY_ID", "AKIAMLFAAS", 1);
  setenv("MLFAAS_SECRET_ACCESS_KEY", "mlfaas-secret", 1);
  setenv("AWS_REGION", "eu-west-3", 1);
  auto ours = GatewayAuthFromEnvironment();
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(ours->credentials->access_key_id, "AKIAMLFAAS");
  EXPECT_EQ(ours->credentials->secret_access_key, "mlfaas-secret");
  EXPECT_EQ(ours->region, "eu-west-3");
  setenv("MLFAAS_REGION", "local", 1);
  EXPECT_EQ(GatewayAuthFromEnvironment()->region, "local");

  // Half a pair is a mistake, not a reason to mix it with the other pair.
  unsetenv("MLFAAS_SECRET_ACCESS_KEY");
  auto half = GatewayAuthFromEnvironment();
  EXPECT_EQ(half.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(half.status().message(),
            "MLFAAS_ACCESS_KEY_ID is set but MLFAAS_SECRET_ACCESS_KEY is not");
  for (const char* v : vars) unsetenv(v);
}

TEST(HttpUrlTest, AcceptsHttpRootsOnly) {
  auto plain = ParseHttpUrl("http://127.0.0.1:9000");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, "9000");
  EXPECT_EQ(plain->host_header, "127.0.0.1:9000");
  EXPECT_EQ(plain->url, "http://127.0.0.1:9000");
  auto v6 = ParseHttpUrl("HTTP://[::1]:8080/");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:8080");
  auto bare = ParseHttpUrl("gateway.local");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, "80");
  EXPECT_EQ(bare->host_header, "gateway.local");

  auto tls = ParseHttpUrl("https://gw.example.com");
  EXPECT_EQ(tls.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tls.status().message().find("https is not supported"), std::string::npos);
  EXPECT_NE(tls.status().message().find("TLS proxy"), std::string::npos);
  for (const char* bad : {"http://h:9000/base", "http://h:9000/?x=1", "http://user:pw@h:1",
                          "http://h:0", "http://h:65536", "http://h:x", "http://:9000",
                          "http://::1:9000", "ftp://h", "http://[::1"}) {
    EXPECT_EQ(ParseHttpUrl(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HttpClientTest, DeadlinesSizeLimitsAndRefusedConnections) {
  FakeGateway gw([](const FakeGateway::Request& r) {
    FakeGateway::Reply reply;
    if (r.target == "/hang") reply.hang = true;
    if (r.target == "/big") reply.body = std::string(2 << 20, 'x');
    return reply;
  });
  auto ep = ParseHttpUrl(gw.url());
  ASSERT_TRUE(ep.ok());
  HttpClientOptions o;
  o.exchange_timeout = std::chrono::milliseconds(300);
  o.max_response_bytes = 1 << 20;
  HttpClient client(*ep, o);

  const auto start = std::chrono::steady_clock::now();
  auto hung = client.Send(HttpRequest{"GET", "/hang", {}, ""});
  EXPECT_EQ(hung.status().code(), StatusCode::kDeadlineExceeded) << hung.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto big = client.Send(HttpRequest{"GET", "/big", {}, ""});
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted) << big.status().ToString();
  auto ok = client.Send(HttpRequest{"DELETE", "/fine", {}, ""});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);

  // A port nobody listens on: a listener opened and closed again.
  uint16_t closed_port = 0;
  {
    FakeGateway gone([](const FakeGateway::Request&) { return FakeGateway::Reply{}; });
    closed_port = gone.port();
  }
  auto refused_ep = ParseHttpUrl("http://127.0.0.1:" + std::to_string(closed_port));
  ASSERT_TRUE(refused_ep.ok());
  auto refused = HttpClient(*refused_ep).Send(HttpRequest{"GET", "/", {}, ""});
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("cannot reach the gateway at http://127.0.0.1:"),
            std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace mlfaas::cli
