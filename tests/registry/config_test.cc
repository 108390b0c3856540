#include <gtest/gtest.h>

#include <string>

#include "registry/config_json.h"
#include "registry/registry.h"

namespace mlfaas::registry {
namespace {

// Expects InvalidArgument whose message contains `fragment`.
void ExpectInvalid(const FunctionConfig& c, const std::string& fragment) {
  Status st = ValidateConfig(c);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << fragment;
  EXPECT_NE(st.message().find(fragment), std::string::npos) << st.message();
}

TEST(ValidateConfigTest, DefaultsAreValid) {
  FunctionConfig c;
  EXPECT_TRUE(ValidateConfig(c).ok());
  EXPECT_EQ(c.memory_mb, 512);
  EXPECT_EQ(c.timeout_s, 3);
}

TEST(ValidateConfigTest, RejectsEachOutOfRangeField) {
  FunctionConfig c;
  c.runtime = "python3.12";
  ExpectInvalid(c, "runtime must be 'mlfaas' or 'provided'");
  c = {};
  c.memory_mb = 127;
  ExpectInvalid(c, "memory_mb must be between 128 and 10240, got 127");
  c.memory_mb = 10241;
  ExpectInvalid(c, "got 10241");
  c = {};
  c.timeout_s = 0;
  ExpectInvalid(c, "timeout_s must be between 1 and 900, got 0");
  c.timeout_s = 901;
  ExpectInvalid(c, "got 901");
  c = {};
  c.ephemeral_storage_mb = 511;
  ExpectInvalid(c, "ephemeral_storage_mb must be between 512 and 10240, got 511");
  c.ephemeral_storage_mb = 10241;
  ExpectInvalid(c, "got 10241");
  c = {};
  c.reserved_concurrency = -1;
  ExpectInvalid(c, "reserved_concurrency must be >= 0");
  c = {};
  c.provisioned_concurrency = -1;
  ExpectInvalid(c, "provisioned_concurrency must be >= 0");
  c = {};
  c.reserved_concurrency = 2;
  c.provisioned_concurrency = 3;
  ExpectInvalid(c, "provisioned_concurrency (3) must not exceed reserved_concurrency (2)");
  c = {};
  c.idle_timeout_s = 0;
  ExpectInvalid(c, "idle_timeout_s must be >= 1");
  c = {};
  c.model_loading = "sometimes";
  ExpectInvalid(c, "model_loading must be 'eager' or 'lazy'");
  c = {};
  c.handler = "";
  ExpectInvalid(c, "handler");
  c = {};
  c.description = std::string(257, 'd');
  ExpectInvalid(c, "description exceeds 256");
}

TEST(ValidateConfigTest, BoundsAreInclusive) {
  FunctionConfig c;
  c.memory_mb = 128;
  c.timeout_s = 900;
  c.reserved_concurrency = 0;
  c.idle_timeout_s = 1;
  c.model_loading = "lazy";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.memory_mb = 10240;
  c.timeout_s = 1;
  c.reserved_concurrency = 4;
  c.provisioned_concurrency = 4;
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ValidateConfigTest, EnvironmentNames) {
  FunctionConfig c;
  c.environment = {{"LOG_LEVEL", "debug"}, {"a1", "x"}};
  EXPECT_TRUE(ValidateConfig(c).ok());
  for (const char* bad : {"1ABC", "_X", "A-B", "A B", ""}) {
    c.environment = {{bad, "v"}};
    ExpectInvalid(c, "invalid variable name");
  }
  for (const char* reserved : {"AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "LAMBDA_TASK_ROOT",
                               "AWS_SECRET_ACCESS_KEY", "AWS_LAMBDA_RUNTIME_API"}) {
    c.environment = {{reserved, "v"}};
    ExpectInvalid(c, "is reserved");
  }
  c.environment = {{"BIG", std::string(5000, 'x')}};
  ExpectInvalid(c, "environment exceeds 4 KB");
}

TEST(NameRulesTest, FunctionAndAliasNames) {
  EXPECT_TRUE(IsValidFunctionName("kdd99-anomaly_v2"));
  EXPECT_TRUE(IsValidFunctionName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidFunctionName(std::string(65, 'a')));
  EXPECT_FALSE(IsValidFunctionName(""));
  EXPECT_FALSE(IsValidFunctionName("has space"));
  EXPECT_FALSE(IsValidFunctionName("a/b"));
  EXPECT_FALSE(IsValidFunctionName("$LATEST"));
  EXPECT_TRUE(IsValidAliasName("live"));
  EXPECT_TRUE(IsValidAliasName("v2"));
  EXPECT_FALSE(IsValidAliasName("42"));
  EXPECT_FALSE(IsValidAliasName("$LATEST"));
}

TEST(ConfigJsonTest, RoundTripsEveryField) {
  FunctionConfig c;
  c.runtime = "provided";
  c.handler = "main";
  c.memory_mb = 1024;
  c.timeout_s = 30;
  c.ephemeral_storage_mb = 2048;
  c.environment = {{"A", "1"}};
  c.reserved_concurrency = 5;
  c.provisioned_concurrency = 2;
  c.idle_timeout_s = 60;
  c.model_loading = "lazy";
  c.description = "d";
  auto back = FunctionConfigFromJson(ToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(c));
  EXPECT_EQ(back->reserved_concurrency, 5);
  EXPECT_TRUE(ToJson(FunctionConfig())["reserved_concurrency"].is_null());
}

TEST(ConfigJsonTest, ConfigsFromBeforeEphemeralStorageGetLambdasDefault) {
  nlohmann::json old = ToJson(FunctionConfig());
  old.erase("ephemeral_storage_mb");
  auto c = FunctionConfigFromJson(old);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->ephemeral_storage_mb, 512);
  EXPECT_TRUE(ValidateConfig(*c).ok());
}

TEST(ConfigJsonTest, PartialObjectPatchesBase) {
  FunctionConfig base;
  base.memory_mb = 256;
  auto c = FunctionConfigFromJson(nlohmann::json{{"timeout_s", 10}}, base);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->memory_mb, 256);
  EXPECT_EQ(c->timeout_s, 10);
}

TEST(ConfigJsonTest, WrongTypesAndUnknownFieldsAreNamed) {
  auto bad_type = FunctionConfigFromJson(nlohmann::json{{"memory_mb", "big"}});
  EXPECT_EQ(bad_type.status().message(), "memory_mb must be an integer");
  auto unknown = FunctionConfigFromJson(nlohmann::json{{"MemorySize", 512}});
  EXPECT_EQ(unknown.status().message(), "unknown config field 'MemorySize'");
  auto env = FunctionConfigFromJson(nlohmann::json{{"environment", {{"A", 1}}}});
  EXPECT_EQ(env.status().message(), "environment.A must be a string");
  EXPECT_EQ(FunctionConfigFromJson(nlohmann::json::array()).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlfaas::registry
