#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "common/sha256.h"
#include "registry/registry_fixture.h"
#include "registry/schema.h"

namespace mlfaas::registry {
namespace {

// On both backends (RegistryFixture): the Registry's rules and messages.
using RegistryTest = RegistryFixture;
INSTANTIATE_TEST_SUITE_P(Backends, RegistryTest, ::testing::ValuesIn(kBackends), BackendName);
// SQLite only: its file, PRAGMA user_version and OpenRegistry's default.
using SqliteRegistryTest = SqliteRegistryFixture;

TEST_P(RegistryTest, CreateStoresPackageAndLatest) {
  FunctionConfig c;
  c.memory_mb = 1024;
  c.environment = {{"MODE", "strict"}};
  FunctionInfo f = Create("kdd99", c);
  EXPECT_EQ(f.name, "kdd99");
  EXPECT_EQ(f.latest.version, kLatest);
  EXPECT_EQ(f.latest.code_digest, *Sha256File(model_zip_));
  EXPECT_EQ(f.latest.model_digest.size(), 64u);
  EXPECT_EQ(f.latest.config.memory_mb, 1024);
  EXPECT_EQ(f.created_at, "2023-11-14T22:13:21.000Z");
  auto path = reg_->PackagePath(f.latest.code_digest);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*Sha256File(*path), f.latest.code_digest);
  Reopen();  // persisted
  auto again = reg_->GetFunction("kdd99");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->latest.config.environment.at("MODE"), "strict");
}

TEST_P(RegistryTest, CreateConflictsAndBadInputs) {
  Create("f");
  EXPECT_STATUS(reg_->CreateFunction("f", model_zip_, {}).status(), StatusCode::kAlreadyExists,
                "function 'f' already exists");
  EXPECT_STATUS(reg_->CreateFunction("bad name", model_zip_, {}).status(),
                StatusCode::kInvalidArgument, "invalid function name 'bad name'");
  FunctionConfig c;
  c.memory_mb = 64;
  EXPECT_STATUS(reg_->CreateFunction("g", model_zip_, c).status(), StatusCode::kInvalidArgument,
                "memory_mb must be between 128 and 10240");
  EXPECT_FALSE(reg_->CreateFunction("g", (dir_.path() / "nope.zip").string(), {}).ok());
  EXPECT_STATUS(reg_->GetFunction("g").status(), StatusCode::kNotFound,
                "function 'g' does not exist");
}

TEST_P(RegistryTest, RuntimeMustMatchPackage) {
  EXPECT_STATUS(reg_->CreateFunction("a", boot_zip_, {}).status(), StatusCode::kInvalidArgument,
                "runtime 'mlfaas' needs a model package with manifest.json");
  FunctionConfig provided;
  provided.runtime = "provided";
  EXPECT_STATUS(reg_->CreateFunction("b", model_zip_, provided).status(),
                StatusCode::kInvalidArgument, "runtime 'provided' needs an executable 'bootstrap'");
  auto ok = reg_->CreateFunction("c", boot_zip_, provided);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->latest.model_digest, "");
  std::string noexec = (dir_.path() / "noexec.zip").string();
  testing::WriteBootstrapZip(noexec, /*executable=*/false);
  EXPECT_STATUS(reg_->CreateFunction("d", noexec, provided).status(), StatusCode::kInvalidArgument,
                "bootstrap is not executable");
  // Switching runtime is checked against the code already there.
  FunctionInfo m = Create("m");
  FunctionConfig to_provided = m.latest.config;
  to_provided.runtime = "provided";
  EXPECT_STATUS(reg_->UpdateConfig("m", to_provided).status(), StatusCode::kInvalidArgument,
                "needs an executable 'bootstrap'");
  EXPECT_STATUS(reg_->UpdateCode("m", boot_zip_).status(), StatusCode::kInvalidArgument,
                "runtime 'mlfaas' needs a model package");
}

TEST_P(RegistryTest, CorruptPackageIsRejected) {
  std::string bad = (dir_.path() / "bad.zip").string();
  std::ofstream(bad) << "this is not a zip";
  Status st = reg_->CreateFunction("f", bad, {}).status();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.zip"), std::string::npos) << st.message();
}

TEST_P(RegistryTest, UpdateCodeAndConfigChangeLatestOnly) {
  Create("f");
  ASSERT_EQ(reg_->PublishVersion("f", "first")->version, "1");
  auto f = reg_->UpdateCode("f", model2_zip_);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->latest.code_digest, *Sha256File(model2_zip_));
  FunctionConfig c = f->latest.config;
  c.timeout_s = 30;
  ASSERT_TRUE(reg_->UpdateConfig("f", c).ok());
  auto v1 = reg_->GetVersion("f", "1");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->code_digest, *Sha256File(model_zip_));
  EXPECT_EQ(v1->config.timeout_s, 3);
  EXPECT_EQ(v1->description, "first");
  EXPECT_EQ(reg_->GetVersion("f", "$LATEST")->config.timeout_s, 30);
  EXPECT_STATUS(reg_->UpdateCode("nope", model_zip_).status(), StatusCode::kNotFound,
                "function 'nope' does not exist");
  c.timeout_s = 0;
  EXPECT_STATUS(reg_->UpdateConfig("f", c).status(), StatusCode::kInvalidArgument, "timeout_s");
}

TEST_P(RegistryTest, PublishIsIdempotentWhenNothingChanged) {
  Create("f");
  auto v1 = reg_->PublishVersion("f", "");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->version, "1");
  EXPECT_EQ(reg_->PublishVersion("f", "")->version, "1");
  ASSERT_TRUE(reg_->UpdateCode("f", model_zip_).ok());  // same bytes: no change
  EXPECT_EQ(reg_->PublishVersion("f", "")->version, "1");
  ASSERT_TRUE(reg_->UpdateCode("f", model2_zip_).ok());
  EXPECT_EQ(reg_->PublishVersion("f", "")->version, "2");
  EXPECT_EQ(PublishWithMemory("f", 1024), "3");
  EXPECT_EQ(reg_->ListVersions("f")->size(), 4u);  // $LATEST + 3
}

TEST_P(RegistryTest, VersionNumbersAreNeverReused) {
  Create("f");
  EXPECT_EQ(PublishWithMemory("f", 256), "1");
  EXPECT_EQ(PublishWithMemory("f", 384), "2");
  ASSERT_TRUE(reg_->DeleteVersion("f", "2").ok());
  EXPECT_STATUS(reg_->GetVersion("f", "2").status(), StatusCode::kNotFound,
                "function 'f' has no version 2");
  // $LATEST still equals the deleted version 2 but differs from the newest (1): publish anew.
  EXPECT_EQ(reg_->PublishVersion("f", "")->version, "3");
  auto vs = reg_->ListVersions("f");
  ASSERT_TRUE(vs.ok());
  ASSERT_EQ(vs->size(), 3u);
  EXPECT_EQ((*vs)[0].version, "$LATEST");
  EXPECT_EQ((*vs)[1].version, "1");
  EXPECT_EQ((*vs)[2].version, "3");
}

TEST_P(RegistryTest, DeleteVersionErrors) {
  Create("f");
  EXPECT_EQ(PublishWithMemory("f", 256), "1");
  EXPECT_STATUS(reg_->DeleteVersion("f", "7"), StatusCode::kNotFound, "has no version 7");
  EXPECT_STATUS(reg_->DeleteVersion("g", "1"), StatusCode::kNotFound, "function 'g'");
  EXPECT_STATUS(reg_->DeleteVersion("f", "$LATEST"), StatusCode::kInvalidArgument,
                "cannot delete $LATEST");
  EXPECT_STATUS(reg_->DeleteVersion("f", "one"), StatusCode::kInvalidArgument,
                "invalid version 'one'");
  ASSERT_TRUE(reg_->CreateAlias({"f", "live", "1", std::nullopt, 0.0, ""}).ok());
  EXPECT_STATUS(reg_->DeleteVersion("f", "1"), StatusCode::kFailedPrecondition,
                "version 1 of 'f' is used by alias 'live'");
}

TEST_P(RegistryTest, DeleteFunctionRemovesVersionsAndAliases) {
  Create("f");
  Create("other");
  EXPECT_EQ(PublishWithMemory("f", 256), "1");
  ASSERT_TRUE(reg_->CreateAlias({"f", "live", "1", std::nullopt, 0.0, ""}).ok());
  ASSERT_TRUE(reg_->DeleteFunction("f").ok());
  EXPECT_EQ(reg_->GetFunction("f").status().code(), StatusCode::kNotFound);
  EXPECT_STATUS(reg_->DeleteFunction("f"), StatusCode::kNotFound, "function 'f' does not exist");
  auto list = reg_->ListFunctions();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "other");
  // The name can be reused; its versions start again.
  Create("f");
  EXPECT_EQ(reg_->ListVersions("f")->size(), 1u);
  EXPECT_EQ(reg_->ListAliases("f")->size(), 0u);
}

TEST_P(RegistryTest, TamperedPackageBlobIsDataLoss) {
  FunctionInfo f = Create("f");
  std::filesystem::path blob =
      home() / "blobs" / "sha256" / f.latest.code_digest.substr(0, 2) / f.latest.code_digest;
  ASSERT_TRUE(std::filesystem::exists(blob));
  std::ofstream(blob, std::ios::binary | std::ios::app) << "x";
  Reopen();
  EXPECT_STATUS(reg_->PackagePath(f.latest.code_digest).status(), StatusCode::kDataLoss,
                "does not match its digest");
}

int64_t UserVersion(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  sqlite3_step(st);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST_F(SqliteRegistryTest, MigrationsSetUserVersionAndReopenIsNoOp) {
  std::filesystem::path db = home() / "registry.db";
  EXPECT_EQ(UserVersion(db), LatestSchemaVersion());
  EXPECT_GE(LatestSchemaVersion(), 2);
  Create("f");
  Reopen();
  Reopen();
  EXPECT_EQ(UserVersion(db), LatestSchemaVersion());
  EXPECT_TRUE(reg_->GetFunction("f").ok());
}

TEST_F(SqliteRegistryTest, NewerSchemaIsRefused) {
  reg_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((home() / "registry.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = SqliteRegistry::Open(home(), clock_);
  EXPECT_STATUS(r.status(), StatusCode::kFailedPrecondition, "schema version 99");
}

TEST_F(SqliteRegistryTest, OpenRegistryCreatesHome) {
  std::filesystem::path nested = dir_.path() / "a" / "b";
  auto r = OpenRegistry(nested);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(nested / "registry.db"));
  EXPECT_TRUE(std::filesystem::is_directory(nested / "blobs"));
  EXPECT_TRUE((*r)->ListFunctions()->empty());
}

}  // namespace
}  // namespace mlfaas::registry
