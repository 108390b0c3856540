// Runs the real `mlfaas` binary: train on the shipped data, inspect, predict, bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fs.h"
#include "testing/kdd_package.h"
#include "testing/subprocess.h"

namespace mlfaas {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;
using ::testing::StartsWith;

CommandResult Mlfaas(std::vector<std::string> args) {
  args.insert(args.begin(), MLFAAS_BIN);
  return RunCommand(args, {}, std::chrono::seconds(120));
}

// `mlfaas train --data <the shipped data> --out <zip> --json` (the slow part) as run once per
// ctest run by the fixture KddPackage.Train (testing/kdd_package.h); its package copied into a
// temp dir for the suite.
class ModelCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("model_cli");
    const testing::TrainedKdd t = testing::CopyTrainedKddPackage(Package());
    train_ = new CommandResult{t.exit_code, false, t.report, t.err};
    trained_at_ = new std::string(t.path.string());
  }
  static void TearDownTestSuite() {
    delete train_;
    delete trained_at_;
    delete dir_;
  }
  static std::string Package() { return (dir_->path() / "kdd.zip").string(); }
  static std::string Path(const std::string& name) { return (dir_->path() / name).string(); }

  static TempDir* dir_;
  static CommandResult* train_;     // train's exit code, stdout and stderr
  static std::string* trained_at_;  // the --out it was given (Package() is a copy of it)
};
TempDir* ModelCliTest::dir_ = nullptr;
CommandResult* ModelCliTest::train_ = nullptr;
std::string* ModelCliTest::trained_at_ = nullptr;

TEST_F(ModelCliTest, TrainJsonMeetsQualityBar) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  json j = json::parse(train_->out);
  EXPECT_GE(j["metrics"]["auc"].get<double>(), 0.997);
  EXPECT_GE(j["metrics"]["f1"].get<double>(), 0.99);
  for (const char* k : {"precision", "recall", "accuracy"})
    EXPECT_TRUE(j["metrics"][k].is_number());
  const json& cm = j["metrics"]["confusion_matrix"];
  EXPECT_EQ(cm["tn"].get<int>() + cm["fp"].get<int>() + cm["fn"].get<int>() + cm["tp"].get<int>(),
            113500);
  EXPECT_EQ(j["rows"]["train"], 453998);
  EXPECT_EQ(j["rows"]["test"], 113500);
  EXPECT_EQ(j["package"], *trained_at_);
  EXPECT_EQ(j["digest"].get<std::string>().size(), 64u);
  EXPECT_TRUE(train_->err.empty()) << train_->err;  // no progress when stderr is not a TTY
}

TEST_F(ModelCliTest, TrainTableIsLabelledAndDigestDeterministic) {
  ASSERT_EQ(train_->exit_code, 0);
  CommandResult r = Mlfaas({"train", "--data", MLFAAS_DATA_FILE, "--out", Path("again.zip")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"TN", "FP", "FN", "TP", "accuracy", "precision", "recall", "F1", "ROC-AUC",
                        "PR-AUC", "threshold 0.5", "iterations", "train 453998"}) {
    EXPECT_THAT(r.out, HasSubstr(s));
  }
  EXPECT_THAT(r.out, HasSubstr(json::parse(train_->out)["digest"].get<std::string>()));
}

TEST_F(ModelCliTest, InspectShowsManifest) {
  ASSERT_EQ(train_->exit_code, 0);
  CommandResult r = Mlfaas({"package", "inspect", Package(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["manifest"]["name"], "kdd99-anomaly");
  EXPECT_EQ(j["manifest"]["digest"], json::parse(train_->out)["digest"]);
  EXPECT_EQ(j["manifest"]["features"][1]["name"], "src_bytes");
  r = Mlfaas({"package", "inspect", Package()});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("dst_bytes"));
}

TEST_F(ModelCliTest, InspectRejectsBadPackages) {
  CommandResult r = Mlfaas({"package", "inspect", MLFAAS_DATA_FILE});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, std::string("mlfaas: ") + MLFAAS_DATA_FILE + ": not a zip file\n");
  ASSERT_EQ(train_->exit_code, 0);
  std::string bytes = *ReadFile(Package());
  ASSERT_TRUE(WriteFileAtomic(Path("cut.zip"), bytes.substr(0, bytes.size() / 2)).ok());
  r = Mlfaas({"package", "inspect", Path("cut.zip")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("truncated or corrupted zip"));
  r = Mlfaas({"package", "inspect", Path("missing.zip")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no such file"));
}

TEST_F(ModelCliTest, PredictInputGood) {
  ASSERT_EQ(train_->exit_code, 0);
  CommandResult r = Mlfaas({"predict", "--package", Package(), "--input",
                            R"({"duration":0,"src_bytes":215,"dst_bytes":45076})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["anomaly"], false);
  EXPECT_LT(j["probability"].get<double>(), 0.01);
  r = Mlfaas({"predict", "--package", Package(), "--input",
              R"({"duration":0,"src_bytes":54540,"dst_bytes":8314})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["anomaly"], true);
}

TEST_F(ModelCliTest, PredictInputBadFieldsAreNamed) {
  ASSERT_EQ(train_->exit_code, 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"duration":0,"dst_bytes":1})", "mlfaas: --input: field 'src_bytes' is missing\n"},
      {R"({"duration":0,"src_bytes":1,"dst_bytes":1,"port":80})",
       "mlfaas: --input: field 'port' is not a model feature\n"},
      {R"({"duration":0,"src_bytes":"215","dst_bytes":1})",
       "mlfaas: --input: field 'src_bytes' must be a number\n"},
      {R"({"duration":0,"src_bytes":-1,"dst_bytes":1})",
       "mlfaas: --input: field 'src_bytes' must be >= 0 (log transform)\n"},
  };
  for (const auto& [input, err] : cases) {
    CommandResult r = Mlfaas({"predict", "--package", Package(), "--input", input});
    EXPECT_EQ(r.exit_code, 1) << input;
    EXPECT_EQ(r.err, err);
    EXPECT_TRUE(r.out.empty());
  }
  CommandResult r = Mlfaas({"predict", "--package", Package(), "--input", "{oops"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("mlfaas: --input is not valid JSON"));
}

TEST_F(ModelCliTest, PredictDataWritesPredictionsAndReport) {
  ASSERT_EQ(train_->exit_code, 0);
  const std::string csv = Path("rows.csv");
  ASSERT_TRUE(WriteFileAtomic(csv,
                              "src_bytes,duration,dst_bytes,label\n215,0,45076,0\n"
                              "54540,0,8314,1\n300,0,2000,0\n")
                  .ok());
  CommandResult r =
      Mlfaas({"predict", "--package", Package(), "--data", csv, "--out", Path("preds.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("scored 3 rows"));
  EXPECT_THAT(r.out, HasSubstr("rows/s"));
  EXPECT_THAT(r.out, HasSubstr("TP          1"));
  std::string preds = *ReadFile(Path("preds.csv"));
  EXPECT_THAT(preds, StartsWith("probability,anomaly\n"));
  EXPECT_EQ(std::count(preds.begin(), preds.end(), '\n'), 4);
  EXPECT_THAT(preds, HasSubstr(",1\n"));

  r = Mlfaas({"predict", "--package", Package(), "--data", MLFAAS_DATA_FILE, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["rows"], 567498);
  EXPECT_GE(j["metrics"]["auc"].get<double>(), 0.99);
}

TEST_F(ModelCliTest, PredictDataBadRowNamesFileAndLine) {
  ASSERT_EQ(train_->exit_code, 0);
  const std::string csv = Path("bad.csv");
  ASSERT_TRUE(WriteFileAtomic(csv, "duration,src_bytes,dst_bytes\n0,1,2\n0,x,2\n").ok());
  CommandResult r = Mlfaas({"predict", "--package", Package(), "--data", csv});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "mlfaas: " + csv +
                       ":3: column 'src_bytes': 'x' is not a number (use --skip-invalid to drop "
                       "invalid rows)\n");
  r = Mlfaas({"predict", "--package", Package(), "--data", csv, "--skip-invalid"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("skipped     1 invalid rows"));
  ASSERT_TRUE(WriteFileAtomic(csv, "duration,dst_bytes\n0,2\n").ok());
  r = Mlfaas({"predict", "--package", Package(), "--data", csv});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "mlfaas: " + csv + ": column 'src_bytes' not in header\n");
}

TEST_F(ModelCliTest, TrainSkipInvalidCountsRows) {
  const std::string csv = Path("train.csv");
  std::string text = "duration,src_bytes,dst_bytes,label\n";
  for (int i = 0; i < 400; ++i) {
    text += i % 10 == 0 ? "0,50000,100,1\n" : "0," + std::to_string(200 + i) + ",3000,0\n";
  }
  text += "0,-4,3,0\n";
  ASSERT_TRUE(WriteFileAtomic(csv, text).ok());
  CommandResult r = Mlfaas({"train", "--data", csv, "--out", Path("small.zip")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "mlfaas: " + csv +
                       ":402: column 'src_bytes' is negative (-4); log transform needs >= 0 "
                       "(use --skip-invalid to drop invalid rows)\n");
  r = Mlfaas({"train", "--data", csv, "--out", Path("small.zip"), "--skip-invalid", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["rows"]["invalid"], 1);
}

TEST(ModelCliFlagsTest, BadFlagsAreUserErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"train", "--out", "x.zip"}, "mlfaas: train needs --data FILE or --dataset NAME\n"},
      {{"train", "--data", MLFAAS_DATA_FILE, "--out", "x.zip", "--transform", "sqrt"},
       "mlfaas: --transform must be log0.1 or none, got 'sqrt'\n"},
      {{"train", "--data", MLFAAS_DATA_FILE, "--out", "x.zip", "--class-weight", "heavy"},
       "mlfaas: --class-weight must be none or balanced, got 'heavy'\n"},
      {{"train", "--data", MLFAAS_DATA_FILE, "--out", "x.zip", "--test-size", "1.5"},
       "mlfaas: --test-size must be in (0, 1)\n"},
      {{"train", "--data", MLFAAS_DATA_FILE, "--out", "x.zip", "--features", "duration,,x"},
       "mlfaas: --features has an empty name: 'duration,,x'\n"},
      {{"train", "--data", MLFAAS_DATA_FILE, "--out", "/nonexistent/dir/x.zip"},
       "mlfaas: cannot write /nonexistent/dir/x.zip: directory /nonexistent/dir does not "
       "exist\n"},
      {{"train", "--data", "/nonexistent.csv", "--out", "x.zip"},
       "mlfaas: cannot open /nonexistent.csv: No such file or directory\n"},
      {{"train", "--data", MLFAAS_DATA_FILE, "--out", "x.zip", "--features", "duration,port"},
       std::string("mlfaas: ") + MLFAAS_DATA_FILE + ": column 'port' not in header\n"},
      {{"predict", "--package", "p.zip"},
       "mlfaas: predict needs exactly one of --data FILE.csv or --input JSON\n"},
      {{"predict", "--package", "p.zip", "--input", "{}", "--out", "o.csv"},
       "mlfaas: --out needs --data\n"},
      {{"predict", "--package", "/nonexistent.zip", "--input", "{}"},
       "mlfaas: cannot read /nonexistent.zip: no such file\n"},
  };
  for (const auto& [args, err] : cases) {
    CommandResult r = Mlfaas(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << " " << args.back();
    EXPECT_EQ(r.err, err);
  }
}

}  // namespace
}  // namespace mlfaas
