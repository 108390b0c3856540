// Labelled feedback (POST|GET /v1/functions/{name}/feedback) against a real `mlfaas serve` with
// API keys: rows are added, replaced by id and counted, and kept in the home across a restart;
// every bad body is a Lambda-shaped 400 that stores nothing; scopes decide who may add (deploy)
// and who may count (read). No function is invoked: feedback never reaches a worker.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "gateway/serve_fixture.h"
#include "package/package.h"
#include "registry/training_store.h"
#include "testing/sample_manifest.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace http = boost::beast::http;

// One kdd99 row of feedback (the sample model's three features).
json KddRow(const std::string& id, int label, double duration = 0, double src = 215,
            double dst = 45076) {
  return {{"id", id},
          {"label", label},
          {"features", {{"duration", duration}, {"src_bytes", src}, {"dst_bytes", dst}}}};
}

std::string RowsBody(std::vector<json> rows) { return json{{"rows", std::move(rows)}}.dump(); }

std::string FeedbackPath(const std::string& fn) { return "/v1/functions/" + fn + "/feedback"; }

class ServeFeedbackTest : public ServeFixture {
 protected:
  // "model" (the sample model package: features duration, src_bytes, dst_bytes), "echo" (a
  // custom runtime: no manifest, any feature names), and two keys: root (every scope) and
  // reader (read:model only). Then the gateway, its maintenance tick (which starts retrains and
  // decides canaries) 100 ms instead of 1 s: the tests wait for those decisions, not the tick.
  void SetUp() override {
    const fs::path pkg = tmp_.path() / "model.zip";
    ASSERT_TRUE(package::WritePackage(pkg, package::sample::SampleManifest()).ok());
    auto created = Mlfaas({"function", "create", "model", "--package", pkg.string()});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    Create("echo", PyRuntime("    return ev"));
    root_ = NewKey("root", {"*:*"});
    reader_ = NewKey("reader", {"read:model"});
    port_ = Serve({"--stem-cells", "0", "--tick-ms", "100"});
    ASSERT_NE(port_, 0);
    http_ = std::make_unique<HttpClient>(port_);
  }

  HttpReply Post(const std::string& fn, const std::string& body, const Creds* key = nullptr) {
    return http_->Request(
        http::verb::post, FeedbackPath(fn), body,
        {{"Authorization", (key ? *key : root_).bearer()}, {"Content-Type", "application/json"}});
  }
  HttpReply Get(const std::string& fn, const Creds* key = nullptr) {
    return http_->Request(http::verb::get, FeedbackPath(fn), "",
                          {{"Authorization", (key ? *key : root_).bearer()}});
  }
  // The count GET answers for `fn` (-1 on any failure).
  int64_t Total(const std::string& fn) {
    auto r = Get(fn);
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || !j.contains("total")) return -1;
    EXPECT_EQ(j["function"], fn);
    return j["total"].get<int64_t>();
  }

  // A Lambda-shaped error: `status`, X-Amzn-ErrorType `type`, {"Type", "message"} (non-empty).
  static void ExpectError(const HttpReply& r, int status, const std::string& type,
                          const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"), type) << what;
    EXPECT_EQ(r.header("content-type"), "application/json") << what;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << what << ": " << r.body;
    EXPECT_TRUE(j.contains("Type") && j["Type"].is_string()) << what << ": " << r.body;
    ASSERT_TRUE(j.contains("message") && j["message"].is_string()) << what << ": " << r.body;
    EXPECT_FALSE(j["message"].get<std::string>().empty()) << what;
  }

  Creds root_;
  Creds reader_;
  uint16_t port_ = 0;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(ServeFeedbackTest, RowsAreAddedReplacedByIdCountedAndKeptAcrossARestart) {
  auto first =
      Post("model", RowsBody({KddRow("r1", 1), KddRow("r2", 0, 2, 0, 0), KddRow("r3", 0)}));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(first.body),
            (json{{"function", "model"}, {"added", 3}, {"replaced", 0}, {"total", 3}}));
  // r3 again (its label corrected) and a new r4; labels may be booleans.
  json r4 = KddRow("r4", 1, 1.5, 1e6, 0);
  r4["label"] = true;
  auto second = Post("model", RowsBody({KddRow("r3", 1, 7, 8, 9), r4}));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(json::parse(second.body),
            (json{{"function", "model"}, {"added", 1}, {"replaced", 1}, {"total", 4}}));
  EXPECT_EQ(Total("model"), 4);
  // Each stored batch is in the audit log, with its caller.
  auto audit = Mlfaas({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("PutFeedback"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("added 1, replaced 1, total 4"), std::string::npos) << audit.out;
  // A function without a manifest takes any feature names.
  auto echo =
      Post("echo", RowsBody({{{"id", "e1"}, {"label", 0}, {"features", {{"anything", 0.25}}}}}));
  ASSERT_EQ(echo.status, 200) << echo.body;
  EXPECT_EQ(json::parse(echo.body)["total"], 1);
  EXPECT_EQ(Total("echo"), 1);

  // The read scope counts, the deploy scope adds; without a key, nothing.
  auto read = Get("model", &reader_);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(json::parse(read.body), (json{{"function", "model"}, {"total", 4}}));
  ExpectError(Post("model", RowsBody({KddRow("r9", 1)}), &reader_), 403, "AccessDeniedException",
              "reader POST");
  ExpectError(Get("echo", &reader_), 403, "AccessDeniedException",
              "reader GET of another function");
  EXPECT_EQ(http_->Request(http::verb::get, FeedbackPath("model")).status, 401);
  EXPECT_EQ(Total("model"), 4);

  // Kept in the home: a new gateway on it counts the same rows.
  ASSERT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(30)), 0);
  port_ = Serve({"--stem-cells", "0"});
  ASSERT_NE(port_, 0);
  http_ = std::make_unique<HttpClient>(port_);
  EXPECT_EQ(Total("model"), 4);
  EXPECT_EQ(Total("echo"), 1);
  ASSERT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(30)), 0);

  // What was stored, as `mlfaas retrain` reads it: r3 replaced, r4's label true as 1.
  auto store = registry::TrainingStore::Open(Home(), SystemClock::Get());
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto rows = (*store)->Feedback("model");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 4u);
  const registry::FeedbackRow& r3 = (*rows)[2];
  EXPECT_EQ(r3.id, "r3");
  EXPECT_EQ(r3.label, 1);
  EXPECT_EQ(r3.features,
            (std::map<std::string, double>{{"duration", 7}, {"src_bytes", 8}, {"dst_bytes", 9}}));
  EXPECT_FALSE(r3.received_at.empty());
  EXPECT_EQ((*rows)[3].id, "r4");
  EXPECT_EQ((*rows)[3].label, 1);
  EXPECT_EQ((*rows)[3].features.at("src_bytes"), 1e6);
}

TEST_F(ServeFeedbackTest, BadRequestsAreLambdaErrorsAndStoreNothing) {
  ASSERT_EQ(Post("model", RowsBody({KddRow("r1", 1)})).status, 200);

  json no_label = KddRow("r2", 1);
  no_label.erase("label");
  json unknown = KddRow("r2", 1);
  unknown["features"]["extra"] = 1;
  json missing = KddRow("r2", 1);
  missing["features"].erase("dst_bytes");
  json text = KddRow("r2", 1);
  text["features"]["src_bytes"] = "NaN";
  std::vector<json> too_many;
  for (int i = 0; i <= 10'000; ++i) too_many.push_back(KddRow("n" + std::to_string(i), i % 2));
  // {what, body, a word its message must hold ("" = any)}; each with a good row first, so that
  // a refusal that stored part of a body shows.
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"not JSON", R"({"rows": [)", ""},
      {"not an object", "[1, 2]", ""},
      {"empty", "", ""},
      {"no rows", R"({"data": []})", "rows"},
      {"missing label", RowsBody({KddRow("r3", 0), no_label}), "label"},
      {"label 2", RowsBody({KddRow("r3", 0), KddRow("r2", 2)}), "label"},
      {"unknown feature", RowsBody({KddRow("r3", 0), unknown}), "extra"},
      {"missing feature", RowsBody({KddRow("r3", 0), missing}), "dst_bytes"},
      {"string value", RowsBody({KddRow("r3", 0), text}), "src_bytes"},
      {"infinite value",
       R"({"rows":[{"id":"r2","label":1,"features":{"duration":1e999,"src_bytes":0,"dst_bytes":0}}]})",
       "1e999"},
      {"duplicate id", RowsBody({KddRow("r3", 0), KddRow("r3", 1)}), "r3"},
      {"empty id", RowsBody({KddRow("r3", 0), KddRow("", 1)}), "id"},
      {"id over 128 bytes", RowsBody({KddRow("r3", 0), KddRow(std::string(129, 'i'), 1)}), "id"},
      {"too many rows", RowsBody(too_many), ""},
  };
  for (const auto& [what, body, word] : bad) {
    auto r = Post("model", body);
    ExpectError(r, 400, "InvalidParameterValueException", what);
    if (!word.empty()) {
      EXPECT_NE(r.body.find(word), std::string::npos) << what << ": " << r.body;
    }
    EXPECT_EQ(Total("model"), 1) << what;
  }

  // An unknown function, a bad name, a method, a body over the server's limit.
  ExpectError(Post("nosuch", RowsBody({KddRow("r1", 1)})), 404, "ResourceNotFoundException",
              "POST");
  ExpectError(Get("nosuch"), 404, "ResourceNotFoundException", "GET");
  ExpectError(Post("bad.name", RowsBody({KddRow("r1", 1)})), 400, "InvalidParameterValueException",
              "bad name");
  ExpectError(http_->Request(http::verb::put, FeedbackPath("model"), RowsBody({KddRow("r1", 1)}),
                             {{"Authorization", root_.bearer()}}),
              405, "MethodNotAllowed", "PUT");
  ExpectError(Post("model", std::string(7 << 20, ' ')), 413, "RequestTooLargeException", "7 MiB");
  http_ = std::make_unique<HttpClient>(port_);  // the 413 closed the connection
  EXPECT_EQ(Total("model"), 1);
  EXPECT_EQ(Total("echo"), 0);  // an existing function without rows
}

// Automatic retraining, end to end: a function trained by `mlfaas train` (its data registered in
// the home) with --retrain-after-labels 3 gets labelled rows over HTTP; the gateway's scheduler
// starts `mlfaas retrain --trigger labels` as a process of its own, which publishes a candidate
// and moves the alias past the gate. Event-driven (no wall-clock schedule): bounded polling.
TEST_F(ServeFeedbackTest, EnoughLabelsStartARetrainInAProcessOfItsOwn) {
  {
    std::ofstream csv(tmp_.path() / "small.csv");
    csv << "duration,src_bytes,dst_bytes,label\n";
    for (int i = 0; i < 400; ++i) {
      const bool anomaly = i % 5 == 0;
      csv << i % 3 << "," << (anomaly ? 5000 + 37 * i : 200 + i) << ","
          << (anomaly ? i % 50 : 2000 + 13 * i) << "," << (anomaly ? 1 : 0) << "\n";
    }
  }
  const fs::path pkg = tmp_.path() / "auto.zip";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"train", "--data", (tmp_.path() / "small.csv").string(), "--out", pkg.string()},
           {"function", "create", "auto", "--package", pkg.string(), "--retrain-after-labels", "3"},
           {"function", "publish", "auto"},
           {"alias", "create", "auto", "live", "--version", "1"}}) {
    auto r = Mlfaas(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto posted = Post("auto", RowsBody({KddRow("a1", 1, 0, 9000, 3), KddRow("a2", 0, 1, 300, 4000),
                                       KddRow("a3", 0, 2, 250, 3000)}));
  ASSERT_EQ(posted.status, 200) << posted.body;

  // The run ends (up to 60 s): the gateway logs it, after the process that recorded it exited.
  // Waited for in the log, then read with the CLI (one run of it, not one every 100 ms).
  WaitFor([&] { return Slurp(log_).find("retrain auto: done") != std::string::npos; },
          std::chrono::seconds(60));
  json history;
  for (int i = 0; i < 100 && history.empty(); ++i) {  // and up to 10 s more
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = Mlfaas({"retrain", "history", "auto", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    history = json::parse(r.out);
  }
  ASSERT_EQ(history.size(), 1u) << "no automatic run";
  EXPECT_EQ(history[0]["trigger"], "labels");
  EXPECT_EQ(history[0]["decision"], "promoted") << history.dump();
  EXPECT_EQ(history[0]["feedback_rows"], 3);
  auto alias = Mlfaas({"alias", "get", "auto", "live", "--json"});
  ASSERT_EQ(alias.exit_code, 0);
  EXPECT_EQ(json::parse(alias.out)["version"], history[0]["candidate_version"]);
  // The gateway logged the run's start and end, and started no second one.
  for (int i = 0; i < 100 && Slurp(log_).find("retrain auto: done") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string log = Slurp(log_);
  EXPECT_NE(log.find("retrain auto: started (trigger labels"), std::string::npos) << log;
  EXPECT_NE(log.find("retrain auto: done"), std::string::npos) << log;
  auto again = Mlfaas({"retrain", "history", "auto", "--json"});
  EXPECT_EQ(json::parse(again.out).size(), 1u);
}

// A canary that decides, end to end: under load from `mlfaas bench`, an alias routes 30% to a
// version whose every invocation is a function error, with --bake 10m. The gateway's canary
// controller rolls it back on its own long before the bake ends (within the 2 s of load: it
// decides on its 100 ms ticks once both versions have 10 requests); the primary version serves
// every one of its requests without an error.
TEST_F(ServeFeedbackTest, AnErroringCanaryRollsBackUnderBenchLoadAndThePrimaryNeverFails) {
  const std::string failing = R"PY(#!/usr/bin/python3
import json, os, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
while True:
    with urllib.request.urlopen(base + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    body = json.dumps({"errorMessage": "broken canary", "errorType": "Broken"}).encode()
    urllib.request.urlopen(urllib.request.Request(
        base + "/invocation/" + rid + "/error", data=body, method="POST")).read()
)PY";
  Create("canary", PyRuntime("    return {'ok': True}"));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"function", "publish", "canary"},
           {"function", "update-code", "canary", "--package", BootstrapZip(failing).string()},
           {"function", "publish", "canary"},
           {"alias", "create", "canary", "live", "--version", "1"},
           {"alias", "update", "canary", "live", "--canary-version", "2", "--canary-weight", "0.3",
            "--bake", "10m"}}) {
    auto r = Mlfaas(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const fs::path plan = tmp_.path() / "canary.yaml";
  std::ofstream(plan) << "execution:\n- concurrency: 2\n  hold-for: 2s\n  scenario: s\n"
                      << "scenarios:\n  s:\n    requests:\n    - url: http://127.0.0.1:" << port_
                      << "/2015-03-31/functions/canary/invocations?Qualifier=live\n"
                      << "      method: POST\n      headers: {Authorization: \"" << root_.bearer()
                      << "\"}\n      body: {\"x\": 1}\n";
  auto bench = Mlfaas({"bench", "run", plan.string(), "-q"});
  EXPECT_EQ(bench.exit_code, 0) << bench.out << bench.err;

  auto alias = Mlfaas({"alias", "get", "canary", "live", "--json"});
  ASSERT_EQ(alias.exit_code, 0) << alias.err;
  const json a = json::parse(alias.out);
  EXPECT_EQ(a["version"], "1");
  EXPECT_TRUE(a["canary_version"].is_null()) << a.dump();
  SystemClock clock;
  auto store = registry::TrainingStore::Open(Home(), clock);
  ASSERT_TRUE(store.ok());
  auto deployments = (*store)->Canaries(false);
  ASSERT_TRUE(deployments.ok());
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ((*deployments)[0].status, "rolled_back");
  EXPECT_NE((*deployments)[0].reason.find("error rate"), std::string::npos);
  auto audit = Mlfaas({"audit", "--json"});
  EXPECT_NE(audit.out.find("CanaryRollback"), std::string::npos) << audit.out;

  // The gateway's own counters: the canary failed, the primary never did, and it served.
  const std::string metrics =
      http_->Request(http::verb::get, "/metrics", "", {{"Authorization", root_.bearer()}}).body;
  auto count = [&](const std::string& prefix) {
    double sum = 0;
    for (size_t at = metrics.find(prefix); at != std::string::npos;
         at = metrics.find(prefix, at + 1)) {
      const size_t eol = metrics.find('\n', at);
      sum += std::stod(metrics.substr(metrics.rfind(' ', eol) + 1, eol));
    }
    return sum;
  };
  EXPECT_GT(count("mlfaas_errors_total{function=\"canary\",version=\"2\""), 0) << metrics;
  EXPECT_EQ(count("mlfaas_errors_total{function=\"canary\",version=\"1\""), 0) << metrics;
  EXPECT_GT(count("mlfaas_invocations_total{function=\"canary\",version=\"1\""), 50) << metrics;
}

}  // namespace
}  // namespace mlfaas::testing
