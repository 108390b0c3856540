// Canaries that decide: DecideCanary (a table), and the controller on a simulated clock over a
// real registry, training store and audit log, fed by the gateway's own Metrics.
#include "gateway/canary_controller.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/fs.h"
#include "registry/sqlite_registry.h"
#include "registry/test_packages.h"
#include "testing/fake_clock.h"

namespace mlfaas::gateway {
namespace {

using namespace std::chrono_literals;
using Action = CanaryVerdict::Action;

registry::CanaryDeployment Deployment(double weight, double step = 0) {
  registry::CanaryDeployment d;
  d.function = "f";
  d.alias = "live";
  d.canary_version = "2";
  d.weight = weight;
  d.step = step;
  d.bake_ms = 60'000;
  return d;
}

CanaryWindow Window(uint64_t n, uint64_t errors, double p99_ms = 2.0) {
  return CanaryWindow{n, errors, p99_ms, n};
}

TEST(DecideCanaryTest, Table) {
  struct Row {
    registry::CanaryDeployment d;
    CanaryWindow primary, canary;
    int64_t elapsed_ms;
    Action want;
    double weight;
  };
  const std::vector<Row> rows = {
      {Deployment(0.1), Window(100, 0), Window(20, 0), 1'000, Action::kWait, 0},
      {Deployment(0.1), Window(100, 0), Window(20, 1), 1'000, Action::kRollback, 0},  // 5% > 1%
      {Deployment(0.1), Window(100, 5), Window(20, 1), 1'000, Action::kWait, 0},      // equal
      {Deployment(0.1), Window(100, 0), Window(9, 9), 1'000, Action::kWait, 0},       // too few yet
      {Deployment(0.1), Window(100, 0), Window(10, 9), 1'000, Action::kRollback, 0},
      {Deployment(0.1), Window(100, 0, 2.0), Window(20, 0, 3.1), 1'000, Action::kRollback, 0},
      {Deployment(0.1), Window(100, 0, 2.0), Window(20, 0, 2.9), 1'000, Action::kWait, 0},
      {Deployment(0.1), Window(5, 0, 2.0), Window(20, 0, 9.0), 1'000, Action::kWait, 0},  // few
      {Deployment(0.1), Window(100, 0), Window(20, 0), 60'000, Action::kPromote, 0},
      {Deployment(0.1), Window(100, 0), Window(0, 0), 60'000, Action::kPromote, 0},
      {Deployment(0.1, 0.1), Window(100, 0), Window(20, 0), 60'000, Action::kStep, 0.2},
      {Deployment(0.8, 0.1), Window(100, 0), Window(20, 0), 60'000, Action::kStep, 0.9},
      {Deployment(0.9, 0.1), Window(100, 0), Window(20, 0), 60'000, Action::kPromote, 0},
      // A rollback wins over a finished bake.
      {Deployment(0.1), Window(100, 0), Window(20, 20), 90'000, Action::kRollback, 0},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    CanaryVerdict v = DecideCanary(r.d, r.primary, r.canary, r.elapsed_ms);
    EXPECT_EQ(v.action, r.want) << "row " << i << ": " << v.reason;
    if (r.want == Action::kStep) {
      EXPECT_NEAR(v.weight, r.weight, 1e-9) << "row " << i;
    }
    if (r.want != Action::kWait) {
      EXPECT_FALSE(v.reason.empty()) << "row " << i;
    }
  }
}

TEST(CanaryWindowTest, DifferencesAndP99) {
  Metrics m;
  for (int i = 0; i < 50; ++i) m.RecordInvocation("f", "1", Outcome::kSuccess, 0.7, 0);
  const auto before = m.Counts("f", "1");
  for (int i = 0; i < 99; ++i) m.RecordInvocation("f", "1", Outcome::kSuccess, 3.0, 0);
  m.RecordInvocation("f", "1", Outcome::kFunctionError, 40.0, 0);
  m.RecordInvocation("f", "1", Outcome::kThrottled, 0, 0);  // not an invocation that ran
  const CanaryWindow w = WindowBetween(before, m.Counts("f", "1"));
  EXPECT_EQ(w.invocations, 100u);
  EXPECT_EQ(w.errors, 1u);
  EXPECT_EQ(w.timed, 100u);
  EXPECT_GT(w.p99_ms, 2.5);  // the 99th of 100 is in the (2.5, 5] bucket
  EXPECT_LE(w.p99_ms, 5.0);
  EXPECT_EQ(WindowBetween(before, before).invocations, 0u);
}

class CanaryControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto home = dir_.path() / "home";
    auto reg = registry::SqliteRegistry::Open(home, clock_);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    registry_ = std::move(*reg);
    auto store = registry::TrainingStore::Open(home, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto audit = auth::AuthStore::Open(home);
    ASSERT_TRUE(audit.ok()) << audit.status().ToString();
    audit_ = std::move(*audit);
    for (int v = 0; v < 2; ++v) {
      const auto pkg = dir_.path() / ("m" + std::to_string(v) + ".zip");
      registry::testing::WriteModelPackage(pkg, v);
      if (v == 0) {
        ASSERT_TRUE(registry_->CreateFunction("f", pkg.string(), {}).ok());
      } else {
        ASSERT_TRUE(registry_->UpdateCode("f", pkg.string()).ok());
      }
      ASSERT_TRUE(registry_->PublishVersion("f", "").ok());
    }
    ASSERT_TRUE(registry_->CreateAlias({"f", "live", "1", std::string("2"), 0.1, ""}).ok());
  }
  void Start(double weight, double step = 0) {
    ASSERT_TRUE(store_->PutCanary(Deployment(weight, step)).ok());
  }
  void Traffic(int primary, int canary, int canary_errors) {
    for (int i = 0; i < primary; ++i) metrics_.RecordInvocation("f", "1", Outcome::kSuccess, 2, 0);
    for (int i = 0; i < canary; ++i) {
      metrics_.RecordInvocation(
          "f", "2", i < canary_errors ? Outcome::kFunctionError : Outcome::kSuccess, 2, 0);
    }
  }
  registry::AliasInfo Alias() { return *registry_->GetAlias("f", "live"); }
  registry::CanaryDeployment Stored() { return store_->Canaries(false)->at(0); }
  std::vector<std::string> AuditActions() {
    std::vector<std::string> out;
    auto entries = audit_->ListAudit({});
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    if (!entries.ok()) return out;
    const std::vector<auth::AuditEntry>& list = *entries;
    for (const auth::AuditEntry& e : list) out.push_back(e.action);
    return out;
  }

  TempDir dir_{"mlfaas-canary"};
  testing::FakeClock clock_;
  Metrics metrics_;
  std::unique_ptr<registry::SqliteRegistry> registry_;
  std::unique_ptr<registry::TrainingStore> store_;
  std::unique_ptr<auth::AuthStore> audit_;
};

TEST_F(CanaryControllerTest, AnErroringCanaryIsRolledBackAndThePrimaryKeepsItsVersion) {
  Start(0.1);
  CanaryController c(*registry_, *store_, metrics_, clock_, audit_.get());
  Traffic(100, 5, 5);  // before the window starts: not counted
  c.Tick();
  Traffic(90, 10, 0);
  c.Tick();
  EXPECT_EQ(Alias().canary_version, std::optional<std::string>("2"));  // healthy so far
  Traffic(90, 10, 3);
  clock_.Advance(5s);
  c.Tick();
  const registry::AliasInfo a = Alias();
  EXPECT_EQ(a.version, "1");
  EXPECT_FALSE(a.canary_version);
  EXPECT_EQ(Stored().status, "rolled_back");
  EXPECT_NE(Stored().reason.find("error rate"), std::string::npos) << Stored().reason;
  const auto actions = AuditActions();
  EXPECT_NE(std::find(actions.begin(), actions.end(), "CanaryRollback"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "UpdateAlias"), actions.end());
  // Done: later ticks leave it alone.
  c.Tick();
  EXPECT_FALSE(Alias().canary_version);
}

TEST_F(CanaryControllerTest, AHealthyCanaryStepsUpLinearlyThenIsPromoted) {
  Start(0.3, 0.3);
  ASSERT_TRUE(registry_->UpdateAlias({"f", "live", "1", std::string("2"), 0.3, ""}).ok());
  CanaryController c(*registry_, *store_, metrics_, clock_, audit_.get());
  c.Tick();
  Traffic(50, 20, 0);
  clock_.Advance(59s);
  c.Tick();
  EXPECT_NEAR(Alias().canary_weight, 0.3, 1e-9);
  clock_.Advance(1s);
  c.Tick();
  EXPECT_NEAR(Alias().canary_weight, 0.6, 1e-9);
  EXPECT_NEAR(Stored().weight, 0.6, 1e-9);
  c.Tick();  // the new step's window starts
  clock_.Advance(60s);
  c.Tick();
  EXPECT_NEAR(Alias().canary_weight, 0.9, 1e-9);
  c.Tick();
  clock_.Advance(60s);
  c.Tick();
  const registry::AliasInfo a = Alias();
  EXPECT_EQ(a.version, "2");
  EXPECT_FALSE(a.canary_version);
  EXPECT_EQ(Stored().status, "promoted");
}

TEST_F(CanaryControllerTest, AnAliasChangedByHandSupersedesTheCanary) {
  Start(0.1);
  CanaryController c(*registry_, *store_, metrics_, clock_, audit_.get());
  c.Tick();
  ASSERT_TRUE(registry_->UpdateAlias({"f", "live", "1", std::nullopt, 0, ""}).ok());
  clock_.Advance(120s);
  c.Tick();
  EXPECT_EQ(Stored().status, "superseded");
  EXPECT_EQ(Alias().version, "1");  // not promoted
}

}  // namespace
}  // namespace mlfaas::gateway
