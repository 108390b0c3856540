#include "registry/training_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/fs.h"
#include "common/sha256.h"
#include "registry/feedback.h"
#include "testing/fake_clock.h"

namespace mlfaas::registry {
namespace {

namespace fs = std::filesystem;

class TrainingStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<TrainingStore> Open() {
    auto s = TrainingStore::Open(dir_.path() / "home", clock_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  fs::path Write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_.path() / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  FeedbackRow Row(const std::string& id, int label, double v) {
    FeedbackRow r;
    r.id = id;
    r.label = label;
    r.features = {{"a", v}, {"b", -v}};
    return r;
  }

  TempDir dir_{"mlfaas-training"};
  mlfaas::testing::FakeClock clock_;
};

TEST_F(TrainingStoreTest, DatasetsAreContentAddressedAndNamesMove) {
  auto store = Open();
  ASSERT_TRUE(store);
  const std::string v1 = "a,b,label\n1,2,0\n", v2 = "a,b,label\n3,4,1\n";
  auto added = store->AddDataset("kdd", Write("v1.csv", v1));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->sha256, Sha256Hex(v1));
  EXPECT_EQ(added->bytes, static_cast<int64_t>(v1.size()));
  auto path = store->DatasetPath(added->sha256);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*ReadFile(*path), v1);

  // The name moves to new bytes; the old bytes stay reachable by digest.
  auto moved = store->AddDataset("kdd", Write("v2.csv", v2));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(store->GetDataset("kdd")->sha256, Sha256Hex(v2));
  EXPECT_EQ(*ReadFile(*store->DatasetPath(Sha256Hex(v1))), v1);
  ASSERT_TRUE(store->AddDataset("other.csv", Write("v3.csv", v1)).ok());
  auto list = store->ListDatasets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "kdd");
  EXPECT_EQ((*list)[1].name, "other.csv");

  EXPECT_EQ(store->GetDataset("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->DatasetPath(std::string(64, 'a')).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->AddDataset("bad/name", Write("v4.csv", v1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->AddDataset("..", Write("v4.csv", v1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->AddDataset("missing", dir_.path() / "absent.csv").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->AddDataset("dir", dir_.path()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ListDatasets()->size(), 2u);  // nothing added by the failures
}

TEST_F(TrainingStoreTest, FeedbackIsUpsertedPerFunctionAndSurvivesReopening) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    auto c = store->AddFeedback("f", {Row("r1", 0, 1.5), Row("r2", 1, 2.5)});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->added, 2);
    EXPECT_EQ(c->replaced, 0);
    EXPECT_EQ(c->total, 2);
    c = store->AddFeedback("f", {Row("r2", 0, 7.0), Row("r3", 1, 3.0)});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->added, 1);
    EXPECT_EQ(c->replaced, 1);
    EXPECT_EQ(c->total, 3);
    ASSERT_TRUE(store->AddFeedback("g", {Row("r1", 1, 9.0)}).ok());
  }
  auto store = Open();  // another connection, as after a restart
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->FeedbackCount("f"), 3);
  EXPECT_EQ(*store->FeedbackCount("g"), 1);
  EXPECT_EQ(*store->FeedbackCount("h"), 0);
  auto rows = store->Feedback("f");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1].id, "r2");
  EXPECT_EQ((*rows)[1].label, 0);  // replaced
  EXPECT_DOUBLE_EQ((*rows)[1].features.at("a"), 7.0);
  EXPECT_DOUBLE_EQ((*rows)[1].features.at("b"), -7.0);
  EXPECT_FALSE((*rows)[1].received_at.empty());
}

TEST_F(TrainingStoreTest, AnInvalidRowAddsNothing) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<FeedbackRow> bad = {Row("ok", 1, 1.0), Row("bad", 2, 1.0)};
  EXPECT_EQ(store->AddFeedback("f", bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->FeedbackCount("f"), 0);  // the transaction rolled back
}

TEST_F(TrainingStoreTest, RetrainRunsKeepEveryField) {
  auto store = Open();
  ASSERT_TRUE(store);
  RetrainRun r;
  r.function = "f";
  r.alias = "live";
  r.trigger = "labels";
  r.started_at = "2026-11-27T10:00:00.000Z";
  r.finished_at = "2026-11-27T10:00:05.000Z";
  r.current_version = "1";
  r.candidate_version = "2";
  r.current_metrics = R"({"auc":0.99})";
  r.candidate_metrics = R"({"auc":0.995})";
  r.gate = "auc>=current";
  r.decision = "promoted";
  r.reason = "auc 0.995 >= 0.99";
  r.train_rows = 10;
  r.test_rows = 3;
  r.feedback_rows = 4;
  auto id = store->AddRetrainRun(r);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  r.decision = "bogus";
  EXPECT_FALSE(store->AddRetrainRun(r).ok());  // the schema's CHECK
  r.decision = "rejected";
  auto id2 = store->AddRetrainRun(r);
  ASSERT_TRUE(id2.ok());
  EXPECT_GT(*id2, *id);
  auto runs = store->RetrainRuns("f");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  const RetrainRun& a = (*runs)[0];
  EXPECT_EQ(a.id, *id);
  EXPECT_EQ(a.alias, "live");
  EXPECT_EQ(a.trigger, "labels");
  EXPECT_EQ(a.finished_at, "2026-11-27T10:00:05.000Z");
  EXPECT_EQ(a.candidate_version, "2");
  EXPECT_EQ(a.candidate_metrics, R"({"auc":0.995})");
  EXPECT_EQ(a.decision, "promoted");
  EXPECT_EQ(a.feedback_rows, 4);
  EXPECT_EQ((*runs)[1].decision, "rejected");
  EXPECT_TRUE(store->RetrainRuns("g")->empty());
}

// ---- the feedback body ----

const std::vector<std::string> kFeatures = {"duration", "src_bytes", "dst_bytes"};

std::string Body(const std::string& row) { return R"({"rows": [)" + row + "]}"; }
const char* kGood =
    R"({"id": "r1", "label": 1, "features": {"duration": 0, "src_bytes": 215, "dst_bytes": 4.5}})";

TEST(ParseFeedbackTest, ReadsRows) {
  auto rows = ParseFeedback(
      Body(
          std::string(kGood) +
          R"(, {"id": "r2", "label": false, "features": {"duration": 1, "src_bytes": 2, "dst_bytes": 3}})"),
      kFeatures);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].id, "r1");
  EXPECT_EQ((*rows)[0].label, 1);
  EXPECT_DOUBLE_EQ((*rows)[0].features.at("dst_bytes"), 4.5);
  EXPECT_EQ((*rows)[1].label, 0);
  // Without a feature list, any names are taken.
  EXPECT_TRUE(ParseFeedback(Body(R"({"id": "x", "label": 0, "features": {"q": 1}})"), {}).ok());
}

TEST(ParseFeedbackTest, RefusesBadBodiesNamingTheProblem) {
  const std::string f3 = R"("features": {"duration": 0, "src_bytes": 1, "dst_bytes": 2})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"[]", "must be an object"},
      {R"({"rows": 1})", "rows must be an array"},
      {R"({"rows": []})", "rows is empty"},
      {R"({"rows": [], "x": 1})", "unknown field 'x'"},
      {Body("1"), "rows[0]: must be an object"},
      {Body(R"({"label": 1, )" + f3 + "}"), "rows[0]: id must be a string"},
      {Body(R"({"id": "", "label": 1, )" + f3 + "}"), "printable ASCII"},
      {Body(R"({"id": "a\nb", "label": 1, )" + f3 + "}"), "printable ASCII"},
      {Body(R"({"id": ")" + std::string(129, 'a') + R"(", "label": 1, )" + f3 + "}"), "1..128"},
      {Body(R"({"id": "a", )" + f3 + "}"), "label is missing"},
      {Body(R"({"id": "a", "label": 2, )" + f3 + "}"), "label must be 0 or 1"},
      {Body(R"({"id": "a", "label": "1", )" + f3 + "}"), "label must be 0 or 1"},
      {Body(R"({"id": "a", "label": 1})"), "features must be an object"},
      {Body(R"({"id": "a", "label": 1, "features": {"duration": 0, "src_bytes": 1}})"),
       "features.dst_bytes is missing"},
      {Body(
           R"({"id": "a", "label": 1, "features": {"duration": 0, "src_bytes": 1, "dst_bytes": 2, "x": 1}})"),
       "unknown feature 'x'"},
      {Body(
           R"({"id": "a", "label": 1, "features": {"duration": "0", "src_bytes": 1, "dst_bytes": 2}})"),
       "features.duration must be a number"},
      {Body(
           R"({"id": "a", "label": 1, "features": {"duration": 1e999, "src_bytes": 1, "dst_bytes": 2}})"),
       "not valid JSON"},
      {Body(R"({"id": "a", "label": 1, "more": 1, )" + f3 + "}"), "unknown field 'more'"},
      {Body(std::string(kGood) + "," + kGood), "rows[1]: id 'r1' appears twice"},
      {Body(R"({"id": "a", "label": 1, "features": {"duration": [[[[1]]]]}})"), "nested deeper"},
  };
  for (const auto& [body, want] : cases) {
    auto rows = ParseFeedback(body, kFeatures);
    ASSERT_FALSE(rows.ok()) << body;
    EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_NE(rows.status().message().find(want), std::string::npos)
        << body << "\n  got: " << rows.status().message() << "\n  want: " << want;
  }
  FeedbackLimits limits;
  limits.max_rows = 1;
  EXPECT_NE(ParseFeedback(Body(std::string(kGood) + "," + kGood), kFeatures, limits)
                .status()
                .message()
                .find("more than 1 rows"),
            std::string::npos);
}

TEST(HeldOutTest, ShareIsStableAndNearTheFraction) {
  size_t held = 0;
  const size_t n = 20'000;
  for (size_t i = 0; i < n; ++i) {
    const std::string id = "row-" + std::to_string(i);
    const bool h = IsHeldOut(id, 0.2);
    EXPECT_EQ(h, IsHeldOut(id, 0.2));             // a pure function of the id
    EXPECT_TRUE(!h || IsHeldOut(id, 0.5)) << id;  // monotone in the share
    held += h;
  }
  // 20% of 20,000 is 4,000; the binomial standard deviation is ~57.
  EXPECT_NEAR(static_cast<double>(held), 4000.0, 400.0);
  EXPECT_FALSE(IsHeldOut("x", 0.0));
  EXPECT_TRUE(IsHeldOut("x", 1.0));
}

}  // namespace
}  // namespace mlfaas::registry
