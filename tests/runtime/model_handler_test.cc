#include "runtime/model_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/test_model.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;

class ModelHandlerTest : public ::testing::Test {
 protected:
  ModelHandlerTest()
      : predictor_(std::make_shared<const model::Predictor>(testing::TestManifest().model)),
        handler_(predictor_, ModelInfo{"kdd99-test", "7", "abc123"}) {}

  double Expected(std::vector<double> row) const { return predictor_->PredictOne(row).probability; }

  // Returns the error message after checking the response is an InvalidInput error.
  std::string InvalidMessage(const std::string& event) const {
    Response r = handler_.HandleEvent(event);
    EXPECT_TRUE(r.is_error) << event;
    EXPECT_EQ(r.error_type, "InvalidInput") << event;
    EXPECT_FALSE(r.fatal);
    return r.error_message;
  }

  std::shared_ptr<const model::Predictor> predictor_;
  ModelHandler handler_;
};

TEST_F(ModelHandlerTest, ScoresOneObject) {
  Response r = handler_.HandleEvent(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  ASSERT_FALSE(r.is_error) << r.error_message;
  json j = json::parse(r.payload);
  ASSERT_EQ(j["predictions"].size(), 1u);
  const double p = Expected({0, 215, 45076});
  EXPECT_DOUBLE_EQ(j["predictions"][0]["probability"].get<double>(), p);
  EXPECT_EQ(j["predictions"][0]["anomaly"].get<bool>(), p >= 0.5);
  EXPECT_EQ(j["model"], json({{"name", "kdd99-test"}, {"version", "7"}, {"digest", "abc123"}}));
}

TEST_F(ModelHandlerTest, ProbabilityRoundTripsExactly) {
  Response r = handler_.HandleEvent(R"({"duration":3,"src_bytes":1234,"dst_bytes":5})");
  ASSERT_FALSE(r.is_error);
  EXPECT_EQ(json::parse(r.payload)["predictions"][0]["probability"].get<double>(),
            Expected({3, 1234, 5}));
}

TEST_F(ModelHandlerTest, ScoresABatchInOrder) {
  Response r =
      handler_.HandleEvent(R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                           R"({"dst_bytes":0,"src_bytes":200000,"duration":1}]})");
  ASSERT_FALSE(r.is_error) << r.error_message;
  json preds = json::parse(r.payload)["predictions"];
  ASSERT_EQ(preds.size(), 2u);
  EXPECT_DOUBLE_EQ(preds[0]["probability"].get<double>(), Expected({0, 215, 45076}));
  EXPECT_DOUBLE_EQ(preds[1]["probability"].get<double>(), Expected({1, 200000, 0}));
  EXPECT_TRUE(
      preds[1]["anomaly"].get<bool>());  // huge src_bytes, no reply: the test model flags it
  EXPECT_FALSE(preds[0]["anomaly"].get<bool>());
}

TEST_F(ModelHandlerTest, RejectsWhatIsNotAJsonObject) {
  EXPECT_NE(InvalidMessage("not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(InvalidMessage("").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(InvalidMessage("[1,2]"), "event must be a JSON object");
  EXPECT_EQ(InvalidMessage("\"text\""), "event must be a JSON object");
  EXPECT_NE(
      InvalidMessage(R"({"duration":NaN,"src_bytes":1,"dst_bytes":1})").find("not valid JSON"),
      std::string::npos);
}

TEST_F(ModelHandlerTest, BadFieldsAreNamed) {
  EXPECT_EQ(InvalidMessage(R"({"duration":0,"src_bytes":215})"), "field 'dst_bytes' is missing");
  EXPECT_NE(InvalidMessage(R"({"duration":0,"src_bytes":1,"dst_bytes":2,"flag":1})").find("'flag'"),
            std::string::npos);
  EXPECT_NE(InvalidMessage(R"({"duration":0,"src_bytes":"1","dst_bytes":2})").find("'src_bytes'"),
            std::string::npos);
  EXPECT_NE(InvalidMessage(R"({"duration":0,"src_bytes":null,"dst_bytes":2})").find("'src_bytes'"),
            std::string::npos);
  EXPECT_NE(InvalidMessage(R"({"duration":-1,"src_bytes":1,"dst_bytes":2})").find("'duration'"),
            std::string::npos);
}

TEST_F(ModelHandlerTest, BadBatchesAreNamedWithTheirIndex) {
  EXPECT_EQ(InvalidMessage(R"({"instances":[]})"), "field 'instances' must be a non-empty array");
  EXPECT_EQ(InvalidMessage(R"({"instances":{}})"), "field 'instances' must be a non-empty array");
  EXPECT_EQ(InvalidMessage(R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2},)"
                           R"({"duration":0,"dst_bytes":2}]})"),
            "instances[1]: field 'src_bytes' is missing");
  EXPECT_EQ(InvalidMessage(R"({"instances":[3]})"), "instances[0]: must be a JSON object");
  EXPECT_EQ(InvalidMessage(R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2}],"x":1})"),
            "field 'x' is not allowed next to 'instances'");
}

}  // namespace
}  // namespace mlfaas::runtime
