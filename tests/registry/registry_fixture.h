// A SqliteRegistry on a temp home with a fake clock, plus ready-made packages.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/fs.h"
#include "registry/sqlite_registry.h"
#include "registry/test_packages.h"
#include "testing/fake_clock.h"

namespace mlfaas::registry {

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    model_zip_ = (dir_.path() / "model.zip").string();
    model2_zip_ = (dir_.path() / "model2.zip").string();
    boot_zip_ = (dir_.path() / "boot.zip").string();
    testing::WriteModelPackage(model_zip_, 0);
    testing::WriteModelPackage(model2_zip_, 1);
    testing::WriteBootstrapZip(boot_zip_);
    Reopen();
  }

  void Reopen() {
    reg_.reset();
    auto r = SqliteRegistry::Open(home(), clock_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reg_ = std::move(r).value();
  }

  std::filesystem::path home() const { return dir_.path() / "home"; }

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
  std::unique_ptr<SqliteRegistry> reg_;
  std::string model_zip_, model2_zip_, boot_zip_;
};

// Status code + message fragment check.
#define EXPECT_STATUS(expr, code_, fragment)                                   \
  do {                                                                         \
    ::mlfaas::Status _s = (expr);                                              \
    EXPECT_EQ(_s.code(), code_) << _s.ToString();                              \
    EXPECT_NE(_s.message().find(fragment), std::string::npos) << _s.message(); \
  } while (0)

}  // namespace mlfaas::registry
