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
  ExpectInvalid(
      c, "model_loading must be one of per-invoke | init | lazy | snapshot, got 'sometimes'");
  c = {};
  c.handler = "";
  ExpectInvalid(c, "handler");
  c = {};
  c.description = std::string(257, 'd');
  ExpectInvalid(c, "description exceeds 256");
}

TEST(ValidateConfigTest, EveryModelLoadingStrategyAndTheOldEagerNameAreAccepted) {
  for (const char* name : {"per-invoke", "init", "lazy", "snapshot", "eager"}) {
    FunctionConfig c;
    c.model_loading = name;
    EXPECT_TRUE(ValidateConfig(c).ok()) << name;
  }
  EXPECT_EQ(FunctionConfig{}.model_loading, "init");
  for (const char* name : {"", "Init", "per_invoke", "eager "}) {
    FunctionConfig c;
    c.model_loading = name;
    EXPECT_FALSE(ValidateConfig(c).ok()) << name;
  }
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

VersionInfo SampleVersion() {
  VersionInfo v;
  v.function = "kdd99";
  v.version = "3";
  v.code_digest = std::string(64, 'a');
  v.model_digest = std::string(64, 'b');
  v.config.memory_mb = 1024;
  v.config.environment = {{"MODE", "strict"}};
  v.config.reserved_concurrency = 4;
  v.config.provisioned_concurrency = 1;
  v.created_at = "2024-05-01T12:00:00.123Z";
  v.description = "retrained";
  return v;
}

TEST(RecordJsonTest, VersionFunctionAndAliasRoundTrip) {
  const VersionInfo v = SampleVersion();
  auto v2 = VersionInfoFromJson(ToJson(v));
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(ToJson(*v2), ToJson(v));
  EXPECT_EQ(v2->config.reserved_concurrency, 4);

  FunctionInfo f{"kdd99", v, "2024-04-01T00:00:00Z", "2024-05-01T12:00:00.123Z"};
  f.latest.version = kLatest;
  f.latest.description.clear();
  f.latest.config.reserved_concurrency.reset();
  auto f2 = FunctionInfoFromJson(ToJson(f));
  ASSERT_TRUE(f2.ok()) << f2.status().ToString();
  EXPECT_EQ(ToJson(*f2), ToJson(f));
  EXPECT_FALSE(f2->latest.config.reserved_concurrency.has_value());

  AliasInfo plain{"kdd99", "live", "3", std::nullopt, 0.0, "production"};
  AliasInfo canary{"kdd99", "live", "3", "4", 0.25, ""};
  for (const AliasInfo& a : {plain, canary}) {
    auto a2 = AliasInfoFromJson(ToJson(a));
    ASSERT_TRUE(a2.ok()) << a2.status().ToString();
    EXPECT_EQ(ToJson(*a2), ToJson(a));
    EXPECT_EQ(a2->canary_version, a.canary_version);
    EXPECT_DOUBLE_EQ(a2->canary_weight, a.canary_weight);
  }
}

TEST(RecordJsonTest, OptionalFieldsDefaultAndUnknownOnesAreIgnored) {
  nlohmann::json j = ToJson(SampleVersion());
  j.erase("description");
  j.erase("model_digest");
  j["added_later"] = true;  // a newer gateway's field
  auto v = VersionInfoFromJson(j);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->description, "");
  EXPECT_EQ(v->model_digest, "");
  auto a = AliasInfoFromJson(nlohmann::json{{"function", "f"}, {"name", "live"}, {"version", "1"}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->canary_version.has_value());
  EXPECT_EQ(a->canary_weight, 0.0);
}

TEST(RecordJsonTest, MissingAndMistypedFieldsAreNamed) {
  nlohmann::json v = ToJson(SampleVersion());
  v.erase("version");
  EXPECT_EQ(VersionInfoFromJson(v).status().message(), "version is missing");
  v = ToJson(SampleVersion());
  v["created_at"] = 5;
  EXPECT_EQ(VersionInfoFromJson(v).status().message(), "created_at must be a string");
  v = ToJson(SampleVersion());
  v["config"]["memory_mb"] = "big";
  EXPECT_EQ(VersionInfoFromJson(v).status().message(), "config: memory_mb must be an integer");

  FunctionInfo f{"f", SampleVersion(), "", ""};
  nlohmann::json fj = ToJson(f);
  fj["latest"].erase("config");
  EXPECT_EQ(FunctionInfoFromJson(fj).status().message(), "latest.config is missing");
  fj = ToJson(f);
  fj["latest"]["function"] = nullptr;
  EXPECT_EQ(FunctionInfoFromJson(fj).status().message(), "latest.function must be a string");
  fj.erase("latest");
  EXPECT_EQ(FunctionInfoFromJson(fj).status().message(), "latest is missing");
  EXPECT_EQ(FunctionInfoFromJson(nlohmann::json::array()).status().code(),
            StatusCode::kInvalidArgument);

  nlohmann::json a = ToJson(AliasInfo{"f", "live", "1", "2", 0.5, ""});
  a["canary_weight"] = "half";
  EXPECT_EQ(AliasInfoFromJson(a).status().message(), "canary_weight must be a number");
  a = ToJson(AliasInfo{"f", "live", "1", "2", 0.5, ""});
  a["canary_version"] = 2;
  EXPECT_EQ(AliasInfoFromJson(a).status().message(), "canary_version must be a string or null");
  a.erase("name");
  EXPECT_EQ(AliasInfoFromJson(a).status().message(), "name is missing");
}

}  // namespace
}  // namespace mlfaas::registry
