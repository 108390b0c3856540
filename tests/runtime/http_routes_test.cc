// The HTTP adapter's routes (runtime/http_routes.h) as a pure function: every route and error,
// with the real model handler behind them.
#include "runtime/http_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "runtime/model_handler.h"
#include "runtime/test_model.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;

constexpr char kRow[] = R"({"duration":0,"src_bytes":215,"dst_bytes":45076})";

class HttpRoutesTest : public ::testing::Test {
 protected:
  static AdapterModel Model() {
    AdapterModel m;
    m.name = "fraud";
    m.version = "7";
    m.features = [] {
      return StatusOr<std::vector<std::string>>(
          std::vector<std::string>{"duration", "src_bytes", "dst_bytes"});
    };
    return m;
  }

  HttpAnswer Ask(std::string_view method, std::string_view target, std::string body = "") {
    return routes_.Handle(method, target, std::move(body));
  }

  ModelHandler handler_{std::make_shared<const model::Predictor>(testing::TestManifest().model),
                        ModelInfo{"kdd99-test", "7", "d1"}};
  HttpRoutes routes_{[this](const Invocation& i) { return handler_.Handle(i); }, Model()};
};

TEST_F(HttpRoutesTest, PostRootAnswersWhatTheHandlerReturnsForEveryEvent) {
  for (const std::string& event : testing::TestEvents()) {
    const Response want = handler_.HandleEvent(event);
    const HttpAnswer got = Ask("POST", "/?ignored=1", event);
    EXPECT_FALSE(got.fatal);
    if (want.is_error) {
      EXPECT_EQ(got.status, 400u) << event;
      EXPECT_EQ(json::parse(got.body),
                json({{"errorType", want.error_type}, {"errorMessage", want.error_message}}));
    } else {
      EXPECT_EQ(got.status, 200u) << event;
      EXPECT_EQ(got.body, want.payload);
    }
  }
}

TEST_F(HttpRoutesTest, WrongMethodsAndUnknownPathsAreRefusedWithTheirShape) {
  HttpAnswer get = Ask("GET", "/");
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.allow, "POST");
  EXPECT_EQ(json::parse(get.body)["errorType"], "MethodNotAllowed");
  HttpAnswer unknown = Ask("POST", "/2015-03-31/functions/x/invocations", kRow);
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(json::parse(unknown.body)["errorType"], "ResourceNotFound");
  EXPECT_EQ(Ask("GET", "*").status, 400u);
  // Under /v2 errors are KServe's {"error"}.
  HttpAnswer infer_get = Ask("GET", "/v2/models/fraud/infer");
  EXPECT_EQ(infer_get.status, 405u);
  EXPECT_EQ(infer_get.allow, "POST");
  EXPECT_TRUE(json::parse(infer_get.body).contains("error"));
  EXPECT_EQ(Ask("POST", "/v2/health/live").status, 405u);
  EXPECT_EQ(Ask("GET", "/v2/models/other").status, 404u);
  EXPECT_EQ(Ask("GET", "/v2/models/fraud/versions/8").status, 404u);
  EXPECT_EQ(Ask("GET", "/v2/models/fraud/explain").status, 404u);
  EXPECT_EQ(Ask("GET", "/v2/nothing").status, 404u);
}

TEST_F(HttpRoutesTest, HealthServerAndModelMetadata) {
  EXPECT_EQ(json::parse(Ask("GET", "/v2/health/live").body), json({{"live", true}}));
  EXPECT_EQ(json::parse(Ask("GET", "/v2/health/ready").body), json({{"ready", true}}));
  EXPECT_EQ(json::parse(Ask("GET", "/v2").body)["name"], "mlfaas-runtime");
  EXPECT_EQ(json::parse(Ask("GET", "/v2/models/fraud/ready").body),
            json({{"name", "fraud"}, {"ready", true}}));
  for (const char* target : {"/v2/models/fraud", "/v2/models/fraud/versions/7"}) {
    HttpAnswer meta = Ask("GET", target);
    ASSERT_EQ(meta.status, 200u) << target;
    json j = json::parse(meta.body);
    EXPECT_EQ(j["name"], "fraud");
    EXPECT_EQ(j["versions"], json::array({"7"}));
    ASSERT_EQ(j["inputs"].size(), 3u);
    EXPECT_EQ(j["inputs"][1], json({{"name", "src_bytes"}, {"datatype", "FP64"}, {"shape", {-1}}}));
    EXPECT_EQ(j["outputs"][0]["name"], "probability");
  }
}

TEST_F(HttpRoutesTest, InferInBothFormsGivesTheHandlersPredictions) {
  const json want = json::parse(
      handler_
          .HandleEvent(R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                       R"({"duration":2,"src_bytes":54540,"dst_bytes":8314}]})")
          .payload)["predictions"];
  const std::string per_feature = R"({"id":"q1","inputs":[
      {"name":"duration","shape":[2],"datatype":"FP64","data":[0,2]},
      {"name":"src_bytes","shape":[2],"datatype":"FP64","data":[215,54540]},
      {"name":"dst_bytes","shape":[2],"datatype":"FP64","data":[45076,8314]}]})";
  const std::string tensor = R"({"inputs":[{"name":"input-0","shape":[2,3],"datatype":"FP64",
      "data":[[0,215,45076],[2,54540,8314]]}],"outputs":[{"name":"anomaly"}]})";
  HttpAnswer a = Ask("POST", "/v2/models/fraud/infer", per_feature);
  ASSERT_EQ(a.status, 200u) << a.body;
  json ja = json::parse(a.body);
  EXPECT_EQ(ja["model_name"], "fraud");
  EXPECT_EQ(ja["model_version"], "7");
  EXPECT_EQ(ja["id"], "q1");
  ASSERT_EQ(ja["outputs"].size(), 2u);
  EXPECT_EQ(ja["outputs"][0]["shape"], json::array({2}));
  EXPECT_EQ(ja["outputs"][1]["data"], json::array({want[0]["anomaly"], want[1]["anomaly"]}));
  EXPECT_DOUBLE_EQ(ja["outputs"][0]["data"][1].get<double>(), want[1]["probability"].get<double>());
  HttpAnswer t = Ask("POST", "/v2/models/fraud/versions/7/infer", tensor);
  ASSERT_EQ(t.status, 200u) << t.body;
  json jt = json::parse(t.body);
  ASSERT_EQ(jt["outputs"].size(), 1u);
  EXPECT_EQ(jt["outputs"][0]["name"], "anomaly");
  EXPECT_EQ(jt["outputs"][0]["data"], ja["outputs"][1]["data"]);
}

TEST_F(HttpRoutesTest, BadInferBodiesAre400WithTheReason) {
  HttpAnswer not_json = Ask("POST", "/v2/models/fraud/infer", "{nope");
  EXPECT_EQ(not_json.status, 400u);
  EXPECT_NE(json::parse(not_json.body)["error"].get<std::string>().find("not valid JSON"),
            std::string::npos);
  HttpAnswer columns = Ask("POST", "/v2/models/fraud/infer",
                           R"({"inputs":[{"name":"x","shape":[1,2],"data":[1,2]}]})");
  EXPECT_EQ(columns.status, 400u);
  EXPECT_NE(columns.body.find("the model takes 3 features"), std::string::npos) << columns.body;
  // The handler's own refusal (a missing feature) keeps its message.
  HttpAnswer missing = Ask("POST", "/v2/models/fraud/infer",
                           R"({"inputs":[{"name":"duration","shape":[1],"data":[0]}]})");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_NE(missing.body.find("field 'src_bytes' is missing"), std::string::npos) << missing.body;
}

TEST(HttpRoutesErrorTest, HandlerFailuresMapToStatusesAndFatalIsPassedOn) {
  EXPECT_EQ(ErrorStatus("InvalidInput"), 400u);
  EXPECT_EQ(ErrorStatus("InitError"), 502u);
  EXPECT_EQ(ErrorStatus("HandlerException"), 500u);
  AdapterModel model;
  model.name = "m";
  model.version = "$LATEST";
  model.features = [] { return StatusOr<std::vector<std::string>>(Unavailable("gone")); };
  int calls = 0;
  HttpRoutes routes(
      [&calls](const Invocation& i) -> Response {
        EXPECT_EQ(i.request_id, "http-" + std::to_string(calls + 1));
        if (++calls == 1) throw std::runtime_error("boom");
        return Response::FatalError("InitError", "manifest.json: no such file");
      },
      model);
  HttpAnswer thrown = routes.Handle("POST", "/", "{}");
  EXPECT_EQ(thrown.status, 500u);
  EXPECT_EQ(json::parse(thrown.body)["errorType"], "HandlerException");
  EXPECT_FALSE(thrown.fatal);
  HttpAnswer fatal = routes.Handle("POST", "/", "{}");
  EXPECT_EQ(fatal.status, 502u);
  EXPECT_TRUE(fatal.fatal);
  EXPECT_EQ(json::parse(fatal.body)["errorMessage"], "manifest.json: no such file");
  HttpAnswer meta = routes.Handle("GET", "/v2/models/m", "");
  EXPECT_EQ(meta.status, 500u);
  EXPECT_NE(meta.body.find("gone"), std::string::npos);
}

}  // namespace
}  // namespace mlfaas::runtime
