// A Registry on a temp home with a fake clock, plus ready-made packages. RegistryFixture runs
// each test against both backends (INSTANTIATE_TEST_SUITE_P with kBackends): SqliteRegistry
// under the home, and PgRegistry on a fresh PostgreSQL database (pg_test_server.h; skipped when
// PostgreSQL is not installed) with its blobs in the same place, <home>/blobs.
// SqliteRegistryFixture / PgRegistryFixture: one backend only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "common/fs.h"
#include "registry/fs_blob_store.h"
#include "registry/pg_registry.h"
#include "registry/pg_test_server.h"
#include "registry/sqlite_registry.h"
#include "registry/test_packages.h"
#include "testing/fake_clock.h"

namespace mlfaas::registry {

enum class Backend { kSqlite, kPostgres };

inline constexpr Backend kBackends[] = {Backend::kSqlite, Backend::kPostgres};

// How gtest (and so ctest's test names, "... # GetParam() = postgres") shows a backend.
inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : "postgres");
}

// Test name suffix: "sqlite" / "postgres".
inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

class RegistryFixtureBase : public ::testing::Test {
 protected:
  virtual Backend backend() const = 0;

  void SetUp() override {
    model_zip_ = (dir_.path() / "model.zip").string();
    model2_zip_ = (dir_.path() / "model2.zip").string();
    boot_zip_ = (dir_.path() / "boot.zip").string();
    testing::WriteModelPackage(model_zip_, 0);
    testing::WriteModelPackage(model2_zip_, 1);
    testing::WriteBootstrapZip(boot_zip_);
    if (backend() == Backend::kPostgres) {
      auto& server = testing::PgTestServer::Get();
      if (server.state() == testing::PgTestServer::State::kNotInstalled) {
        GTEST_SKIP() << server.reason();
      }
      ASSERT_EQ(server.state(), testing::PgTestServer::State::kReady) << server.reason();
      auto url = server.CreateDatabase();
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      pg_url_ = *url;
    }
    Reopen();
  }

  void TearDown() override {
    reg_.reset();
    if (!pg_url_.empty()) {
      Status st = testing::PgTestServer::Get().DropDatabase(pg_url_);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  }

  // True when SetUp did not finish (skipped or failed): derived SetUps return at once.
  bool SetUpStopped() const { return IsSkipped() || HasFatalFailure(); }

  // A new registry of this test's backend over the same data.
  StatusOr<std::unique_ptr<Registry>> OpenNew() {
    if (backend() == Backend::kSqlite) {
      MLFAAS_ASSIGN_OR_RETURN(auto r, SqliteRegistry::Open(home(), clock_));
      return std::unique_ptr<Registry>(std::move(r));
    }
    MLFAAS_ASSIGN_OR_RETURN(
        auto r, PgRegistry::Open(pg_url_, std::make_unique<FsBlobStore>(home() / "blobs"), clock_));
    return std::unique_ptr<Registry>(std::move(r));
  }

  void Reopen() {
    reg_.reset();
    auto r = OpenNew();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reg_ = std::move(r).value();
  }

  std::filesystem::path home() const { return dir_.path() / "home"; }
  // What OpenRegistry(home(), location()) opens: this test's registry.
  RegistryLocation location() const {
    if (pg_url_.empty()) return {};
    return {pg_url_, home() / "blobs"};
  }

  // Creates `name` from the model package with default config.
  FunctionInfo Create(const std::string& name, FunctionConfig c = {}) {
    auto f = reg_->CreateFunction(name, model_zip_, c);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : FunctionInfo{};
  }

  // Changes $LATEST's memory and publishes; returns the version string.
  std::string PublishWithMemory(const std::string& name, int memory) {
    auto f = reg_->GetFunction(name);
    EXPECT_TRUE(f.ok());
    FunctionConfig c = f->latest.config;
    c.memory_mb = memory;
    EXPECT_TRUE(reg_->UpdateConfig(name, c).ok());
    auto v = reg_->PublishVersion(name, "");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->version : "";
  }

  // Changes $LATEST's memory without publishing.
  bool UpdateMemory(int memory) {
    auto f = reg_->GetFunction("f");
    if (!f.ok()) return false;
    FunctionConfig c = f->latest.config;
    c.memory_mb = memory;
    return reg_->UpdateConfig("f", c).ok();
  }

  TempDir dir_;
  mlfaas::testing::FakeClock clock_;
  std::unique_ptr<Registry> reg_;
  std::string model_zip_, model2_zip_, boot_zip_;
  std::string pg_url_;  // the test's database (postgres backend only)
};

// Every test on both backends.
class RegistryFixture : public RegistryFixtureBase, public ::testing::WithParamInterface<Backend> {
 protected:
  Backend backend() const override { return GetParam(); }
};

class SqliteRegistryFixture : public RegistryFixtureBase {
 protected:
  Backend backend() const override { return Backend::kSqlite; }
};

class PgRegistryFixture : public RegistryFixtureBase {
 protected:
  Backend backend() const override { return Backend::kPostgres; }
};

// Status code + message fragment check.
#define EXPECT_STATUS(expr, code_, fragment)                                   \
  do {                                                                         \
    ::mlfaas::Status _s = (expr);                                              \
    EXPECT_EQ(_s.code(), code_) << _s.ToString();                              \
    EXPECT_NE(_s.message().find(fragment), std::string::npos) << _s.message(); \
  } while (0)

}  // namespace mlfaas::registry
