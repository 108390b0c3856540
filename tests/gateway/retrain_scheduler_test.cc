// The automatic retraining policy (DueRetrain, a table) and the scheduler on a simulated clock,
// over a real registry and training store, with a fake runner that records what it would start.
#include "gateway/retrain_scheduler.h"

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
using registry::FunctionConfig;
using registry::RetrainState;

FunctionConfig Policy(int every_s, int after_labels) {
  FunctionConfig c;
  c.retrain_every_s = every_s;
  c.retrain_after_labels = after_labels;
  return c;
}

TEST(DueRetrainTest, Table) {
  const int64_t t0 = 1'000'000;
  struct Row {
    FunctionConfig policy;
    RetrainState state;
    int64_t now_ms, labels;
    std::string want;
  };
  const std::vector<Row> rows = {
      {Policy(0, 0), {t0, 0}, t0 + 10'000'000, 1000, ""},           // no policy
      {Policy(3600, 0), {t0, 0}, t0 + 3'599'999, 0, ""},            // not yet
      {Policy(3600, 0), {t0, 0}, t0 + 3'600'000, 0, "schedule"},    // exactly due
      {Policy(3600, 0), {t0, 0}, t0 + 9'000'000, 50, "schedule"},   // overdue
      {Policy(0, 10), {t0, 5}, t0, 14, ""},                         // 9 new rows
      {Policy(0, 10), {t0, 5}, t0, 15, "labels"},                   // 10 new rows
      {Policy(0, 10), {t0, 50}, t0, 20, ""},                        // the count shrank
      {Policy(3600, 10), {t0, 0}, t0 + 3'600'000, 10, "schedule"},  // both: schedule first
      {Policy(3600, 10), {t0, 0}, t0 + 60'000, 10, "labels"},
      {Policy(3600, 10), {t0, 0}, t0 - 5'000, 0, ""},  // a clock that went back: nothing
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    EXPECT_EQ(DueRetrain(r.policy, r.state, r.now_ms, r.labels), r.want) << "row " << i;
  }
}

class FakeRunner final : public RetrainRunner {
 public:
  Status Start(const std::string& function, const std::string& trigger) override {
    started.push_back(function + ":" + trigger);
    running = true;
    return Status::Ok();
  }
  bool Running(const std::string&) override { return running; }
  void StopAll() override { running = false; }
  std::vector<std::string> started;
  bool running = false;
};

class RetrainSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = registry::SqliteRegistry::Open(dir_.path() / "home", clock_);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    registry_ = std::move(*reg);
    auto store = registry::TrainingStore::Open(dir_.path() / "home", clock_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    const auto pkg = dir_.path() / "m.zip";
    registry::testing::WriteModelPackage(pkg);
    ASSERT_TRUE(registry_->CreateFunction("f", pkg.string(), FunctionConfig()).ok());
    ASSERT_TRUE(registry_->CreateFunction("quiet", pkg.string(), FunctionConfig()).ok());
  }
  void SetPolicy(int every_s, int after_labels) {
    ASSERT_TRUE(registry_->UpdateConfig("f", Policy(every_s, after_labels)).ok());
  }
  void AddLabels(int n) {
    std::vector<registry::FeedbackRow> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back({"id-" + std::to_string(next_id_++), {{"x", 1.0}}, 1, ""});
    }
    ASSERT_TRUE(store_->AddFeedback("f", rows).ok());
  }

  TempDir dir_{"mlfaas-retrain-sched"};
  testing::FakeClock clock_;
  std::unique_ptr<registry::SqliteRegistry> registry_;
  std::unique_ptr<registry::TrainingStore> store_;
  FakeRunner runner_;
  int next_id_ = 0;
};

TEST_F(RetrainSchedulerTest, TheScheduleFiresOnTheSimulatedClockOneRunAtATime) {
  SetPolicy(3600, 0);
  RetrainScheduler s(*registry_, *store_, clock_, runner_);
  s.Tick();  // first sight: the hour counts from now
  clock_.Advance(59min);
  s.Tick();
  EXPECT_TRUE(runner_.started.empty());
  clock_.Advance(1min);
  s.Tick();
  ASSERT_EQ(runner_.started, std::vector<std::string>{"f:schedule"});
  // While it runs, nothing else starts, however late it gets.
  clock_.Advance(3h);
  s.Tick();
  EXPECT_EQ(runner_.started.size(), 1u);
  // Done: the next run is an hour after the last one started, not after it ended.
  runner_.running = false;
  s.Tick();
  EXPECT_EQ(runner_.started.size(), 2u);
  EXPECT_EQ(s.started(), 2);
}

TEST_F(RetrainSchedulerTest, LabelsFireOnceEnoughArriveAndTheStateSurvivesARestart) {
  SetPolicy(0, 5);
  {
    RetrainScheduler s(*registry_, *store_, clock_, runner_);
    AddLabels(4);
    s.Tick();
    EXPECT_TRUE(runner_.started.empty());
    AddLabels(1);
    s.Tick();
    ASSERT_EQ(runner_.started, std::vector<std::string>{"f:labels"});
    runner_.running = false;
    AddLabels(4);
    s.Tick();
    EXPECT_EQ(runner_.started.size(), 1u);  // 4 since the last run
  }
  // A new gateway (scheduler) on the same home remembers the count at the last run.
  RetrainScheduler again(*registry_, *store_, clock_, runner_);
  again.Tick();
  EXPECT_EQ(runner_.started.size(), 1u);
  AddLabels(1);
  again.Tick();
  EXPECT_EQ(runner_.started.size(), 2u);
  auto state = store_->GetRetrainState("f");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->labels_at_last_run, 10);
  // A function without a policy never gets a state or a run.
  EXPECT_FALSE(store_->GetRetrainState("quiet")->has_value());
}

}  // namespace
}  // namespace mlfaas::gateway
