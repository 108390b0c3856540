// The main job as a user runs it: train on the shipped data, publish, serve, then call the model
// through every front door — Lambda Invoke (curl-style and the AWS CLI), TF-Serving, KServe V2 —
// and through the Python custom runtime of examples/python.
#include <gtest/gtest.h>

#include <boost/beast/core/detail/base64.hpp>
#include <cmath>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "gateway/http_client.h"
#include "testing/kdd_package.h"
#include "testing/mlfaas_server.h"
#include "testing/system_python.h"

namespace mlfaas::testing {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using nlohmann::json;

constexpr char kRow[] = R"({"duration":0,"src_bytes":215,"dst_bytes":45076})";
constexpr char kInvoke[] = "/2015-03-31/functions/kdd99-anomaly/invocations";

class ServingE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir("mlfaas-e2e");
    home_ = tmp_->path() / "home";
    fs::path pkg = tmp_->path() / "kdd.zip";
    // `mlfaas train --data <the shipped data> --json`, trained once for every test.
    const TrainedKdd kdd = CopyTrainedKddPackage(pkg);
    ASSERT_TRUE(kdd.ok) << kdd.err;
    const json trained = json::parse(kdd.report, nullptr, false);
    ASSERT_TRUE(trained.is_object()) << kdd.report;
    features_ = new json(trained["model"]["features"]);  // the manifest's, in order
    ASSERT_TRUE(features_->is_array() && !features_->empty()) << kdd.report;
    CommandResult r;
    for (std::vector<std::string> args :
         {std::vector<std::string>{"function", "create", "kdd99-anomaly", "--package",
                                   pkg.string()},
          {"function", "publish", "kdd99-anomaly"},
          {"alias", "create", "kdd99-anomaly", "live", "--version", "1"}}) {
      r = RunMlfaas(home_, args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    server_ = new MlfaasServer(home_, (tmp_->path() / "serve.log").string());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tmp_;
    delete features_;
  }

  static json Body(const HttpReply& r) { return json::parse(r.body, nullptr, false); }

  static TempDir* tmp_;
  static fs::path home_;
  static MlfaasServer* server_;
  static json* features_;  // the trained model's feature names, in the manifest's order
};

TempDir* ServingE2eTest::tmp_ = nullptr;
fs::path ServingE2eTest::home_;
MlfaasServer* ServingE2eTest::server_ = nullptr;
json* ServingE2eTest::features_ = nullptr;

TEST_F(ServingE2eTest, LambdaInvokeColdThenWarm) {
  HttpClient c(server_->port());
  auto first = c.Request(http::verb::post, std::string(kInvoke) + "?Qualifier=live", kRow);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-amz-executed-version"), "1");
  json j = Body(first);
  ASSERT_TRUE(j.is_object()) << first.body;
  EXPECT_EQ(j["predictions"][0]["anomaly"], false);
  EXPECT_LT(j["predictions"][0]["probability"].get<double>(), 0.01);
  EXPECT_EQ(j["model"]["name"], "kdd99-anomaly");
  auto second = c.Request(http::verb::post, std::string(kInvoke) + "?Qualifier=live", kRow);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.header("x-mlfaas-cold-start"), "false");
  EXPECT_EQ(second.body, first.body);
}

TEST_F(ServingE2eTest, TfServingPredictMatchesLambdaInvoke) {
  HttpClient c(server_->port());
  auto lambda = c.Request(http::verb::post, kInvoke,
                          R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                          R"({"duration":3,"src_bytes":1000000,"dst_bytes":0}]})");
  ASSERT_EQ(lambda.status, 200) << lambda.body;
  for (const char* route :
       {"/v1/models/kdd99-anomaly:predict", "/v1/models/kdd99-anomaly/versions/1:predict",
        "/v1/models/kdd99-anomaly/labels/live:predict"}) {
    auto tf = c.Request(http::verb::post, route,
                        R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                        R"({"duration":3,"src_bytes":1000000,"dst_bytes":0}]})");
    ASSERT_EQ(tf.status, 200) << route << ": " << tf.body;
    EXPECT_EQ(Body(tf)["predictions"], Body(lambda)["predictions"]) << route;
    EXPECT_FALSE(Body(tf).contains("model"));
  }
  auto status = c.Request(http::verb::get, "/v1/models/kdd99-anomaly/labels/live");
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(Body(status)["model_version_status"][0]["version"], "1");
  EXPECT_EQ(Body(status)["model_version_status"][0]["state"], "AVAILABLE");
}

// Every version, $LATEST as version 0 (TF-Serving's versions are integers), both ways.
TEST_F(ServingE2eTest, TfServingStatusListsEveryVersion) {
  HttpClient c(server_->port());
  auto all = c.Request(http::verb::get, "/v1/models/kdd99-anomaly");
  ASSERT_EQ(all.status, 200) << all.body;
  const json ok = {{"error_code", "OK"}, {"error_message", ""}};
  EXPECT_EQ(Body(all)["model_version_status"],
            json::parse(R"([{"version":"0","state":"AVAILABLE","status":{"error_code":"OK",)"
                        R"("error_message":""}},{"version":"1","state":"AVAILABLE","status":)"
                        R"({"error_code":"OK","error_message":""}}])"))
      << all.body;
  auto latest = c.Request(http::verb::get, "/v1/models/kdd99-anomaly/versions/0");
  ASSERT_EQ(latest.status, 200) << latest.body;
  EXPECT_EQ(Body(latest)["model_version_status"][0]["version"], "0");
  EXPECT_EQ(Body(latest)["model_version_status"][0]["status"], ok);
  auto predict = c.Request(http::verb::post, "/v1/models/kdd99-anomaly/versions/0:predict",
                           std::string(R"({"instances":[)") + kRow + "]}");
  ASSERT_EQ(predict.status, 200) << predict.body;
  EXPECT_EQ(predict.header("x-amz-executed-version"), "$LATEST");
  EXPECT_EQ(c.Request(http::verb::get, "/v1/models/nope").status, 404);
}

TEST_F(ServingE2eTest, TfServingErrorsAreTyped) {
  HttpClient c(server_->port());
  auto missing = c.Request(http::verb::post, "/v1/models/kdd99-anomaly:predict", R"({"rows":[]})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(Body(missing)["error"].get<std::string>().find("instances"), std::string::npos);
  auto field = c.Request(http::verb::post, "/v1/models/kdd99-anomaly:predict",
                         R"({"instances":[{"duration":0,"src_bytes":"x","dst_bytes":1}]})");
  EXPECT_EQ(field.status, 400);
  EXPECT_NE(Body(field)["error"].get<std::string>().find("src_bytes"), std::string::npos);
  auto unknown = c.Request(http::verb::post, "/v1/models/nope:predict", R"({"instances":[]})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(Body(unknown)["error"].is_string());
  auto version = c.Request(http::verb::get, "/v1/models/kdd99-anomaly/versions/99");
  EXPECT_EQ(version.status, 404);
  auto method = c.Request(http::verb::get, "/v1/models/kdd99-anomaly:predict");
  EXPECT_EQ(method.status, 405);
}

TEST_F(ServingE2eTest, KServeV2HealthMetadataAndInfer) {
  HttpClient c(server_->port());
  EXPECT_EQ(Body(c.Request(http::verb::get, "/v2/health/live"))["live"], true);
  EXPECT_EQ(Body(c.Request(http::verb::get, "/v2/health/ready"))["ready"], true);
  EXPECT_EQ(Body(c.Request(http::verb::get, "/v2"))["name"], "mlfaas");
  auto ready = c.Request(http::verb::get, "/v2/models/kdd99-anomaly/versions/live/ready");
  EXPECT_EQ(ready.status, 200);
  auto meta = c.Request(http::verb::get, "/v2/models/kdd99-anomaly/versions/1");
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(Body(meta)["versions"][0], "1");
  auto infer = c.Request(
      http::verb::post, "/v2/models/kdd99-anomaly/versions/1/infer",
      R"({"id":"r1","inputs":[{"name":"duration","shape":[2],"datatype":"FP64","data":[0,3]},)"
      R"({"name":"src_bytes","shape":[2,1],"datatype":"FP64","data":[[215],[1000000]]},)"
      R"({"name":"dst_bytes","shape":[2],"datatype":"FP64","data":[45076,0]}]})");
  ASSERT_EQ(infer.status, 200) << infer.body;
  json out = Body(infer);
  EXPECT_EQ(out["model_name"], "kdd99-anomaly");
  EXPECT_EQ(out["model_version"], "1");
  EXPECT_EQ(out["id"], "r1");
  ASSERT_EQ(out["outputs"].size(), 2u);
  EXPECT_EQ(out["outputs"][0]["name"], "probability");
  EXPECT_EQ(out["outputs"][0]["shape"], json::array({2}));
  EXPECT_EQ(out["outputs"][1]["data"], json::array({false, true}));
}

TEST_F(ServingE2eTest, KServeV2MetadataDescribesTheManifestFeatures) {
  HttpClient c(server_->port());
  json inputs = json::array();
  for (const json& f : *features_) {
    inputs.push_back({{"name", f}, {"datatype", "FP64"}, {"shape", {-1}}});
  }
  const json outputs = json::parse(R"([{"name":"probability","datatype":"FP64","shape":[-1]},)"
                                   R"({"name":"anomaly","datatype":"BOOL","shape":[-1]}])");
  for (const char* route : {"/v2/models/kdd99-anomaly", "/v2/models/kdd99-anomaly/versions/1",
                            "/v2/models/kdd99-anomaly/versions/live"}) {
    auto meta = c.Request(http::verb::get, route);
    ASSERT_EQ(meta.status, 200) << route << ": " << meta.body;
    EXPECT_EQ(Body(meta)["name"], "kdd99-anomaly");
    EXPECT_EQ(Body(meta)["inputs"], inputs) << route;
    EXPECT_EQ(Body(meta)["outputs"], outputs) << route;
  }
}

// Two rows as a single [N, F] tensor (flat and nested), as one input per feature, and through
// the Lambda Invoke API: the same probabilities.
TEST_F(ServingE2eTest, KServeV2TensorInputMatchesPerFeatureAndLambda) {
  const json rows = json::parse(R"([{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                                R"({"duration":3,"src_bytes":1000000,"dst_bytes":0}])");
  json flat = json::array(), nested = json::array(), per_feature = json::array();
  for (const json& row : rows) {
    nested.push_back(json::array());
    for (const json& f : *features_) {
      flat.push_back(row[f.get<std::string>()]);
      nested.back().push_back(row[f.get<std::string>()]);
    }
  }
  for (const json& f : *features_) {
    json column = json::array();
    for (const json& row : rows) column.push_back(row[f.get<std::string>()]);
    per_feature.push_back({{"name", f}, {"shape", {2}}, {"datatype", "FP64"}, {"data", column}});
  }
  const json shape = {2, features_->size()};
  HttpClient c(server_->port());
  auto lambda = c.Request(http::verb::post, std::string(kInvoke) + "?Qualifier=live",
                          json{{"instances", rows}}.dump());
  ASSERT_EQ(lambda.status, 200) << lambda.body;
  json expected = json::array();
  const json predictions = Body(lambda)["predictions"];
  for (const json& p : predictions) expected.push_back(p["probability"]);
  ASSERT_EQ(expected.size(), 2u) << lambda.body;
  for (const json& body :
       {json{{"id", "t"}, {"inputs", per_feature}},
        json{{"id", "t"},
             {"inputs",
              {{{"name", "input-0"}, {"shape", shape}, {"datatype", "FP32"}, {"data", flat}}}}},
        json{{"id", "t"},
             {"inputs",
              {{{"name", "input-0"},
                {"shape", shape},
                {"datatype", "INT64"},
                {"data", nested}}}}}}) {
    auto infer =
        c.Request(http::verb::post, "/v2/models/kdd99-anomaly/versions/live/infer", body.dump());
    ASSERT_EQ(infer.status, 200) << body.dump() << ": " << infer.body;
    json out = Body(infer);
    EXPECT_EQ(out["id"], "t");
    EXPECT_EQ(out["model_version"], "1");
    ASSERT_EQ(out["outputs"].size(), 2u) << infer.body;
    EXPECT_EQ(out["outputs"][0]["name"], "probability");
    EXPECT_EQ(out["outputs"][0]["shape"], json::array({2}));
    EXPECT_EQ(out["outputs"][0]["data"], expected) << body.dump();
    EXPECT_EQ(out["outputs"][1]["data"], json::array({false, true}));
  }
}

TEST_F(ServingE2eTest, KServeV2OutputsFilter) {
  HttpClient c(server_->port());
  const std::string inputs =
      R"("inputs":[{"name":"input-0","shape":[1,3],"datatype":"FP64","data":[0,215,45076]}])";
  auto one = c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer",
                       "{" + inputs + R"(,"outputs":[{"name":"anomaly"}]})");
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(Body(one)["outputs"].size(), 1u) << one.body;
  EXPECT_EQ(Body(one)["outputs"][0]["name"], "anomaly");
  EXPECT_EQ(Body(one)["outputs"][0]["data"], json::array({false}));
  auto both =
      c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer",
                "{" + inputs + R"(,"outputs":[{"name":"anomaly"},{"name":"probability"}]})");
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_EQ(Body(both)["outputs"][1]["name"], "probability");
  auto unknown = c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer",
                           "{" + inputs + R"(,"outputs":[{"name":"logits"}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(Body(unknown)["error"].get<std::string>().find("unknown output 'logits'"),
            std::string::npos)
      << unknown.body;
}

TEST_F(ServingE2eTest, KServeV2BadTensorsAreTyped400s) {
  HttpClient c(server_->port());
  // body -> a part of the error message
  const std::pair<std::string, std::string> cases[] = {
      {R"({"name":"x","shape":[2,3],"datatype":"FP64","data":[0,1,2,3,4]})",
       "shape [2, 3] says 6 values, \"data\" has 5"},
      {R"({"name":"x","shape":[1,4],"datatype":"FP64","data":[0,1,2,3]})",
       "has 4 columns; the model takes 3 features"},
      {R"({"name":"x","shape":[1,3],"datatype":"FP64","data":[0,"a",2]})", "row 0, column 1"},
      {R"({"name":"x","shape":[-1,3],"datatype":"FP64","data":[0,1,2]})",
       "must hold non-negative integers"},
      {R"({"name":"x","shape":[1048576,3],"datatype":"FP64","data":[0,1,2]})", "too large"},
      {R"({"name":"x","shape":[2,3],"datatype":"FP64","data":[[0,1],[2,3],[4,5]]})",
       "does not have the shape [2, 3]"},
      {R"({"name":"x","shape":[1,3],"datatype":"BYTES","data":["a","b","c"]})",
       "datatype 'BYTES' is not numeric"},
      {R"({"name":"x","shape":[0,3],"datatype":"FP64","data":[]})", "has no rows"},
  };
  for (const auto& [input, message] : cases) {
    auto r = c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer",
                       R"({"inputs":[)" + input + "]}");
    EXPECT_EQ(r.status, 400) << input << ": " << r.body;
    json body = Body(r);
    ASSERT_TRUE(body["error"].is_string()) << r.body;
    EXPECT_NE(body["error"].get<std::string>().find(message), std::string::npos)
        << input << ": " << r.body;
  }
}

TEST_F(ServingE2eTest, KServeV2ErrorsAreTyped) {
  HttpClient c(server_->port());
  auto shape = c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer",
                         R"({"inputs":[{"name":"duration","data":[0,1]},)"
                         R"({"name":"src_bytes","data":[1]}]})");
  EXPECT_EQ(shape.status, 400);
  EXPECT_NE(Body(shape)["error"].get<std::string>().find("src_bytes"), std::string::npos);
  auto missing = c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer",
                           R"({"inputs":[{"name":"duration","data":[0]},)"
                           R"({"name":"src_bytes","data":[1]}]})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(Body(missing)["error"].get<std::string>().find("dst_bytes"), std::string::npos);
  auto not_json = c.Request(http::verb::post, "/v2/models/kdd99-anomaly/infer", "{");
  EXPECT_EQ(not_json.status, 400);
  auto unknown = c.Request(http::verb::get, "/v2/models/nope/ready");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(Body(unknown)["error"].is_string());
}

// The AWS CLI (Debian's awscli) against the gateway, with dummy credentials.
class AwsCli {
 public:
  static std::string Path() {
    for (const char* p : {"/usr/bin/aws", "/usr/local/bin/aws"}) {
      if (fs::exists(p)) return p;
    }
    return "";
  }
  static CommandResult Run(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), {Path(), "--endpoint-url", url, "lambda", "invoke"});
    return RunCommand(args,
                      {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                       {"AWS_SECRET_ACCESS_KEY", "secret"},
                       {"AWS_DEFAULT_REGION", "us-east-1"},
                       {"AWS_PAGER", ""},
                       {"AWS_EC2_METADATA_DISABLED", "true"},
                       {"AWS_MAX_ATTEMPTS", "1"}},
                      std::chrono::seconds(60));
  }
};

TEST_F(ServingE2eTest, AwsCliInvokesTheFunction) {
  ASSERT_FALSE(AwsCli::Path().empty()) << "Debian's awscli is not installed (scripts/deps.sh)";
  // Three AWS CLI runs (about a second of CPU each to start), at once, each with its own output.
  const fs::path out = tmp_->path() / "out.json", missing_out = tmp_->path() / "missing.json",
                 bad_out = tmp_->path() / "bad.json";
  const std::string url = server_->url();
  auto run = [&url](std::vector<std::string> args) {
    return std::async(std::launch::async, [&url, args] { return AwsCli::Run(url, args); });
  };
  auto ok_run =
      run({"--function-name", "kdd99-anomaly", "--qualifier", "live", "--cli-binary-format",
           "raw-in-base64-out", "--payload", kRow, "--log-type", "Tail", out.string()});
  auto missing_run = run({"--function-name", "no-such-function", "--cli-binary-format",
                          "raw-in-base64-out", "--payload", kRow, missing_out.string()});
  auto bad_run = run({"--function-name", "kdd99-anomaly", "--cli-binary-format",
                      "raw-in-base64-out", "--payload", R"({"duration":0})", bad_out.string()});

  auto r = ok_run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json meta = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(meta.is_object()) << r.out;
  EXPECT_EQ(meta["StatusCode"], 200);
  EXPECT_EQ(meta["ExecutedVersion"], "1");
  std::string tail_b64 = meta.value("LogResult", "");
  std::string tail(boost::beast::detail::base64::decoded_size(tail_b64.size()), '\0');
  tail.resize(
      boost::beast::detail::base64::decode(tail.data(), tail_b64.data(), tail_b64.size()).first);
  EXPECT_NE(tail.find("REPORT RequestId:"), std::string::npos) << tail;
  json result = json::parse(*ReadFile(out), nullptr, false);
  EXPECT_EQ(result["predictions"][0]["anomaly"], false);

  auto missing = missing_run.get();
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("ResourceNotFoundException"), std::string::npos) << missing.err;

  auto bad = bad_run.get();
  ASSERT_EQ(bad.exit_code, 0) << bad.err;
  EXPECT_EQ(json::parse(bad.out)["FunctionError"], "Unhandled");
  EXPECT_EQ(json::parse(*ReadFile(bad_out))["errorType"], "InvalidInput");
}

TEST_F(ServingE2eTest, PythonCustomRuntimeServesTheSameModel) {
  fs::path bundle = tmp_->path() / "py-bundle.zip";
  auto mk = RunCommand({"bash", std::string(MLFAAS_SOURCE_DIR) + "/examples/python/make_bundle.sh",
                        (tmp_->path() / "kdd.zip").string(), bundle.string()},
                       WithSystemPython());
  ASSERT_EQ(mk.exit_code, 0) << mk.err;
  auto r = RunMlfaas(home_, {"function", "create", "kdd99-python", "--package", bundle.string(),
                             "--runtime", "provided", "--timeout", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  HttpClient c(server_->port());
  std::string batch = R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                      R"({"duration":3,"src_bytes":1000000,"dst_bytes":0}]})";
  auto py = c.Request(http::verb::post, "/2015-03-31/functions/kdd99-python/invocations", batch);
  ASSERT_EQ(py.status, 200) << py.body << server_->log();
  EXPECT_EQ(py.header("x-mlfaas-cold-start"), "true");
  auto cc = c.Request(http::verb::post, kInvoke, batch);
  ASSERT_EQ(cc.status, 200);
  json a = Body(py)["predictions"], b = Body(cc)["predictions"];
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(a[i]["probability"].get<double>(), b[i]["probability"].get<double>(), 1e-9);
    EXPECT_EQ(a[i]["anomaly"], b[i]["anomaly"]);
  }
  auto err = c.Request(http::verb::post, "/2015-03-31/functions/kdd99-python/invocations",
                       R"({"duration":0,"src_bytes":-1,"dst_bytes":0})");
  EXPECT_EQ(err.header("x-amz-function-error"), "Unhandled");
  EXPECT_EQ(Body(err)["errorType"], "InvalidInput");
}

}  // namespace
}  // namespace mlfaas::testing
