// The Lambda control plane as deployment tools drive it: boto3 and Debian's AWS CLI v2 against
// `mlfaas serve`, with an mlfaas key, over real HTTP and a real registry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "gateway/serve_fixture.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class ServeControlTest : public ServeFixture {
 protected:
  CommandResult Aws(uint16_t port, const Creds& key, std::vector<std::string> args) {
    return AwsLambda(port, key, std::move(args));
  }

  // tests/gateway/boto3_control_plane.py with this key, in one python process (it prints JSON).
  CommandResult Boto3ControlPlane(uint16_t port, const Creds& key, const fs::path& zip,
                                  std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        std::string(MLFAAS_SOURCE_DIR) + "/tests/gateway/boto3_control_plane.py",
        "http://127.0.0.1:" + std::to_string(port),
        key.id,
        key.secret,
        zip.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, {}, std::chrono::seconds(120));
  }
};

TEST_F(ServeControlTest, Boto3DeploysVersionsAliasesAndCanaries) {
  const auto deployer = NewKey("deployer", {"*:*"});
  const fs::path zip = BootstrapZip();
  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  auto r = Boto3ControlPlane(port, deployer, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err << Slurp(log_);
  const json out = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.out;
  EXPECT_EQ(out["created"]["Runtime"], "provided.al2023");
  EXPECT_EQ(out["created"]["Version"], "$LATEST");
  EXPECT_EQ(out["v1"], "1");
  EXPECT_EQ(out["v2"], "2");
  EXPECT_EQ(out["alias"]["FunctionVersion"], "1");
  EXPECT_EQ(out["alias"]["Weights"]["2"], 0.5);
  // Through the weighted alias both versions serve, each with its own configuration.
  EXPECT_GT(out["served"].value("1:one", 0), 0) << out["served"].dump();
  EXPECT_GT(out["served"].value("2:two", 0), 0) << out["served"].dump();
  EXPECT_EQ(out["served"].size(), 2u) << out["served"].dump();
  EXPECT_EQ(out["listed"]["names"], json({"cp", "cp-a", "cp-b", "cp-c"}));
  EXPECT_GE(out["listed"]["pages"], 2) << "MaxItems pages through NextMarker";
  EXPECT_EQ(out["get"]["Runtime"], "provided.al2023");
  EXPECT_EQ(out["get"]["Tags"]["mlfaas:idle-timeout"], "60");
  EXPECT_EQ(out["get"]["Env"]["TAG"], "two");
  EXPECT_EQ(out["get_v1"]["TAG"], "one") << "a published version keeps its configuration";
  EXPECT_EQ(out["updated"]["MemorySize"], 1024);
  EXPECT_EQ(out["updated"]["Timeout"], 5);
  EXPECT_EQ(out["concurrency"], 3);
  EXPECT_EQ(out["missing"], "ResourceNotFoundException");
  EXPECT_EQ(out["conflict"], "ResourceConflictException");
  EXPECT_EQ(out["bad_runtime"], "InvalidParameterValueException");
  EXPECT_EQ(out["unsupported"], "UnsupportedOperationException");
  EXPECT_EQ(out["settings"], 4);
  EXPECT_EQ(out["after_delete"], "ResourceNotFoundException");
  // Every write is in the audit log, as the key's.
  auto audit = Mlfaas({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0);
  int by_key = 0;
  for (const auto& e : json::parse(audit.out)) {
    if (e["principal"] == "key:" + deployer.id + "/deployer" && e["source"] == "http") ++by_key;
  }
  EXPECT_GE(by_key, 10) << audit.out;
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
}

TEST_F(ServeControlTest, TheAwsCliDeploysAndScopesHold) {
  const auto deployer = NewKey("team", {"deploy:team-*", "read:team-*", "invoke:team-*"});
  const auto invoker = NewKey("caller", {"invoke:*"});
  const fs::path zip = BootstrapZip();
  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  // The AWS CLI runs once, for what only it shows: its own signer on a control-plane call, and a
  // package read from fileb://. The scoped key's other calls go through boto3 (one python
  // process: an AWS CLI process costs ~0.7 s of CPU), the same API calls.
  const std::string zip_arg = "fileb://" + zip.string();
  auto created = Aws(
      port, deployer,
      {"create-function", "--function-name", "team-a", "--runtime", "provided", "--role",
       "arn:aws:iam::1:role/r", "--handler", "x", "--zip-file", zip_arg, "--memory-size", "1769"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(json::parse(created.out)["FunctionName"], "team-a");
  // The invoke-only key, over plain HTTP with a Bearer token (the same API; an AWS CLI process
  // per call costs more CPU than the rest of the test).
  HttpClient http(port);
  auto as_invoker = [&](boost::beast::http::verb verb, const std::string& target,
                        const std::string& body = "") {
    return http.Request(verb, target, body, {{"Authorization", invoker.bearer()}});
  };
  const json create_b = {{"FunctionName", "team-b"},
                         {"Runtime", "provided"},
                         {"Role", "r"},
                         {"Handler", "x"},
                         {"Code", {{"ZipFile", Base64Encode(*ReadFile(zip))}}}};
  auto by_invoker =
      as_invoker(boost::beast::http::verb::post, "/2015-03-31/functions", create_b.dump());
  EXPECT_EQ(by_invoker.header("x-amzn-errortype"), "AccessDeniedException") << by_invoker.body;
  // The deployer: refused outside team-*, publishes, lists only team-a, updates.
  auto r = Boto3ControlPlane(port, deployer, zip, {"scoped"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Slurp(log_);
  const json scoped = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(scoped.is_object()) << r.out;
  EXPECT_EQ(scoped["outside"], "AccessDeniedException") << scoped.dump();
  ASSERT_EQ(scoped["published"], "1") << scoped.dump();
  EXPECT_EQ(scoped["listed"], json({"team-a"})) << scoped.dump();
  EXPECT_EQ(scoped["timeout"], 9) << scoped.dump();
  // A key without read scopes lists nothing (only what it may read).
  auto list2 = as_invoker(boost::beast::http::verb::get, "/2015-03-31/functions/");
  ASSERT_EQ(list2.status, 200) << list2.body;
  EXPECT_EQ(json::parse(list2.body)["Functions"].size(), 0u) << list2.body;
  auto inv =
      as_invoker(boost::beast::http::verb::post, InvokePath("team-a") + "?Qualifier=1", "{}");
  EXPECT_EQ(inv.status, 200) << inv.body;
  // The deployer deletes team-a (after the invoker's call above: over HTTP with its Bearer
  // token; boto3's DeleteFunction is in Boto3DeploysVersionsAliasesAndCanaries).
  auto as_deployer = [&](boost::beast::http::verb verb, const std::string& target) {
    return http.Request(verb, target, "", {{"Authorization", deployer.bearer()}});
  };
  auto del = as_deployer(boost::beast::http::verb::delete_, "/2015-03-31/functions/team-a");
  EXPECT_EQ(del.status, 204) << del.body;
  auto gone = as_deployer(boost::beast::http::verb::get, "/2015-03-31/functions/team-a");
  EXPECT_EQ(gone.status, 404) << gone.body;
  EXPECT_EQ(gone.header("x-amzn-errortype"), "ResourceNotFoundException") << gone.body;
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
}

// `mlfaas --remote`: the same commands a user runs locally, against a gateway on port 0, signed
// with a key from the environment.
TEST_F(ServeControlTest, TheCliDeploysRemotelyWithTheSameCommands) {
  const auto root = NewKey("ci", {"*:*"});
  const fs::path zip = BootstrapZip();
  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  // Another home: nothing may be read or written locally.
  const fs::path elsewhere = tmp_.path() / "elsewhere";
  auto remote = [&](std::vector<std::string> args, bool signed_ = true) {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", elsewhere.string(), "--remote", url});
    std::map<std::string, std::string> env = {{"MLFAAS_ACCESS_KEY_ID", ""},
                                              {"MLFAAS_SECRET_ACCESS_KEY", ""}};
    if (signed_)
      env = {{"MLFAAS_ACCESS_KEY_ID", root.id}, {"MLFAAS_SECRET_ACCESS_KEY", root.secret}};
    return RunCommand(args, env, std::chrono::seconds(60));
  };
  auto ok = [&](std::vector<std::string> args) {
    auto r = remote(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    return r;
  };
  ok({"function", "create", "rf", "--package", zip.string(), "--runtime", "provided", "--memory",
      "1769", "--env", "TAG=one", "--idle-timeout", "120"});
  ok({"function", "publish", "rf"});
  ok({"function", "update-config", "rf", "--env", "TAG=two"});
  ok({"function", "publish", "rf"});
  ok({"alias", "create", "rf", "live", "--version", "1", "--canary-version", "2", "--canary-weight",
      "0.5"});
  const json alias = json::parse(ok({"alias", "get", "rf", "live", "--json"}).out);
  EXPECT_EQ(alias["version"], "1");
  EXPECT_EQ(alias["canary_version"], "2");
  EXPECT_EQ(alias["canary_weight"], 0.5);
  const json fn = json::parse(ok({"function", "get", "rf", "--json"}).out);
  EXPECT_EQ(fn["latest"]["config"]["idle_timeout_s"], 120) << fn.dump();
  EXPECT_EQ(fn["latest"]["config"]["environment"]["TAG"], "two");
  // The local registry agrees with what the remote commands did.
  const json local = json::parse(Mlfaas({"version", "list", "rf", "--json"}).out);
  ASSERT_EQ(local.size(), 3u) << local.dump();
  EXPECT_EQ(local[1]["config"]["environment"]["TAG"], "one");
  EXPECT_EQ(local[2]["config"]["environment"]["TAG"], "two");
  // Both versions serve through the alias.
  HttpClient c(port);
  std::set<std::string> served;
  for (int i = 0; i < 40 && served.size() < 2; ++i) {
    auto r = c.Request(boost::beast::http::verb::post, InvokePath("rf") + "?Qualifier=live", "{}",
                       {{"Authorization", root.bearer()}});
    ASSERT_EQ(r.status, 200) << r.body;
    served.insert(r.header("x-amz-executed-version"));
  }
  EXPECT_EQ(served, (std::set<std::string>{"1", "2"}));
  // Keys and the audit log, remotely (admin scope).
  const json keys = json::parse(ok({"key", "list", "--json"}).out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["AccessKeyId"], root.id);
  const json audit = json::parse(ok({"audit", "--json"}).out);
  int remote_writes = 0;
  for (const auto& e : audit) remote_writes += e["principal"] == "key:" + root.id + "/ci";
  EXPECT_GE(remote_writes, 5) << audit.dump();
  // Without credentials: one line, exit 1.
  auto unsigned_call = remote({"function", "list"}, /*signed_=*/false);
  EXPECT_EQ(unsigned_call.exit_code, 1);
  EXPECT_NE(unsigned_call.err.find("Missing Authentication Token"), std::string::npos)
      << unsigned_call.err;
  ok({"function", "delete", "rf"});
  auto gone = remote({"function", "get", "rf"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
  EXPECT_FALSE(fs::exists(elsewhere / "registry.db")) << "--remote never opens a home";
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
}

}  // namespace
}  // namespace mlfaas::testing
