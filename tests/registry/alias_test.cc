#include <gtest/gtest.h>

#include "registry/registry_fixture.h"

namespace mlfaas::registry {
namespace {

class AliasTest : public RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    if (SetUpStopped()) return;
    Create("f");
    ASSERT_EQ(PublishWithMemory("f", 256), "1");
    ASSERT_EQ(PublishWithMemory("f", 512), "2");
    ASSERT_EQ(PublishWithMemory("f", 1024), "3");
  }
  static AliasInfo Alias(std::string name, std::string version,
                         std::optional<std::string> canary = std::nullopt, double weight = 0.0) {
    return AliasInfo{"f", std::move(name), std::move(version), std::move(canary), weight, ""};
  }
};
INSTANTIATE_TEST_SUITE_P(Backends, AliasTest, ::testing::ValuesIn(kBackends), BackendName);

TEST_P(AliasTest, CreateGetListDelete) {
  auto a = reg_->CreateAlias(Alias("live", "2", "3", 0.25));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->version, "2");
  EXPECT_EQ(a->canary_version, "3");
  EXPECT_DOUBLE_EQ(a->canary_weight, 0.25);
  ASSERT_TRUE(reg_->CreateAlias(Alias("beta", "3")).ok());
  auto list = reg_->ListAliases("f");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "beta");
  EXPECT_FALSE((*list)[0].canary_version.has_value());
  ASSERT_TRUE(reg_->DeleteAlias("f", "beta").ok());
  EXPECT_STATUS(reg_->GetAlias("f", "beta").status(), StatusCode::kNotFound,
                "function 'f' has no alias 'beta'");
  EXPECT_STATUS(reg_->DeleteAlias("f", "beta"), StatusCode::kNotFound, "no alias 'beta'");
  EXPECT_STATUS(reg_->ListAliases("g").status(), StatusCode::kNotFound, "function 'g'");
}

TEST_P(AliasTest, CreateRulesAndConflicts) {
  ASSERT_TRUE(reg_->CreateAlias(Alias("live", "1")).ok());
  EXPECT_STATUS(reg_->CreateAlias(Alias("live", "2")).status(), StatusCode::kAlreadyExists,
                "alias 'live' of function 'f' already exists");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "9")).status(), StatusCode::kNotFound,
                "function 'f' has no version 9");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "$LATEST")).status(), StatusCode::kInvalidArgument,
                "must be a published version, not $LATEST");
  EXPECT_STATUS(reg_->CreateAlias(Alias("42", "1")).status(), StatusCode::kInvalidArgument,
                "invalid alias name '42'");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "1", "1", 0.5)).status(), StatusCode::kInvalidArgument,
                "canary version must differ");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "1", "8", 0.5)).status(), StatusCode::kNotFound,
                "has no version 8");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "1", "2", 1.5)).status(), StatusCode::kInvalidArgument,
                "canary weight must be between 0 and 1");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "1", "2", -0.1)).status(),
                StatusCode::kInvalidArgument, "canary weight must be between 0 and 1");
  EXPECT_STATUS(reg_->CreateAlias(Alias("x", "1", std::nullopt, 0.3)).status(),
                StatusCode::kInvalidArgument, "canary weight needs a canary version");
  AliasInfo other = Alias("x", "1");
  other.function = "missing";
  EXPECT_STATUS(reg_->CreateAlias(other).status(), StatusCode::kNotFound,
                "function 'missing' does not exist");
  EXPECT_STATUS(reg_->UpdateAlias(Alias("nope", "1")).status(), StatusCode::kNotFound,
                "no alias 'nope'");
}

TEST_P(AliasTest, RollbackByRepointingToOlderVersion) {
  ASSERT_TRUE(reg_->CreateAlias(Alias("live", "3")).ok());
  EXPECT_EQ(reg_->Resolve("f", "live", 0.5)->version, "3");
  auto back = reg_->UpdateAlias(Alias("live", "1"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(reg_->Resolve("f", "live", 0.5)->version, "1");
  EXPECT_EQ(reg_->Resolve("f", "live", 0.5)->config.memory_mb, 256);
  // Version 3 is free again, 1 is pinned.
  EXPECT_TRUE(reg_->DeleteVersion("f", "3").ok());
  EXPECT_EQ(reg_->DeleteVersion("f", "1").code(), StatusCode::kFailedPrecondition);
}

TEST_P(AliasTest, CanaryVersionIsProtectedFromDeletion) {
  ASSERT_TRUE(reg_->CreateAlias(Alias("live", "1", "2", 0.1)).ok());
  EXPECT_STATUS(reg_->DeleteVersion("f", "2"), StatusCode::kFailedPrecondition,
                "used by alias 'live'");
  ASSERT_TRUE(reg_->UpdateAlias(Alias("live", "1")).ok());  // canary removed
  EXPECT_TRUE(reg_->DeleteVersion("f", "2").ok());
}

TEST_P(AliasTest, WeightedResolveTable) {
  ASSERT_TRUE(reg_->CreateAlias(Alias("split", "1", "2", 0.1)).ok());
  ASSERT_TRUE(reg_->CreateAlias(Alias("all", "1", "2", 1.0)).ok());
  ASSERT_TRUE(reg_->CreateAlias(Alias("none", "1", "2", 0.0)).ok());
  ASSERT_TRUE(reg_->CreateAlias(Alias("plain", "3")).ok());
  struct Case {
    const char* alias;
    double u;
    const char* want;
  };
  const Case cases[] = {
      {"split", 0.0, "2"},    {"split", 0.0999, "2"}, {"split", 0.1, "1"},    {"split", 0.5, "1"},
      {"split", 0.9999, "1"}, {"all", 0.0, "2"},      {"all", 0.9999, "2"},   {"none", 0.0, "1"},
      {"none", 0.9999, "1"},  {"plain", 0.0, "3"},    {"plain", 0.9999, "3"},
  };
  for (const Case& c : cases) {
    auto v = reg_->Resolve("f", c.alias, c.u);
    ASSERT_TRUE(v.ok()) << c.alias << ": " << v.status().ToString();
    EXPECT_EQ(v->version, c.want) << c.alias << " u=" << c.u;
    EXPECT_EQ(v->function, "f");
  }
}

TEST_P(AliasTest, ResolveQualifiers) {
  ASSERT_TRUE(UpdateMemory(2048));
  EXPECT_EQ(reg_->Resolve("f", "", 0.5)->version, "$LATEST");
  EXPECT_EQ(reg_->Resolve("f", "", 0.5)->config.memory_mb, 2048);
  EXPECT_EQ(reg_->Resolve("f", "$LATEST", 0.5)->version, "$LATEST");
  EXPECT_EQ(reg_->Resolve("f", "2", 0.5)->config.memory_mb, 512);
  EXPECT_STATUS(reg_->Resolve("f", "7", 0.5).status(), StatusCode::kNotFound, "no version 7");
  EXPECT_STATUS(reg_->Resolve("f", "ghost", 0.5).status(), StatusCode::kNotFound,
                "no alias 'ghost'");
  EXPECT_STATUS(reg_->Resolve("g", "", 0.5).status(), StatusCode::kNotFound,
                "function 'g' does not exist");
  EXPECT_STATUS(reg_->Resolve("g", "live", 0.5).status(), StatusCode::kNotFound,
                "function 'g' does not exist");
  EXPECT_STATUS(reg_->Resolve("f", "a/b", 0.5).status(), StatusCode::kInvalidArgument,
                "invalid qualifier");
}

}  // namespace
}  // namespace mlfaas::registry
