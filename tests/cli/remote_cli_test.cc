// The real `mlfaas` binary with --remote against an in-test gateway (fake_gateway.h) that serves
// the records a local home holds: every command prints exactly what it prints locally, errors
// are the same one line and exit code, requests are signed with the environment's key, and the
// home is never touched. (The end-to-end test against a real `mlfaas serve` lives with the
// gateway's control plane.)
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/sigv4.h"
#include "cli/fake_gateway.h"
#include "common/fs.h"
#include "registry/test_packages.h"
#include "testing/subprocess.h"

namespace mlfaas::cli {
namespace {

using mlfaas::testing::CommandResult;
using mlfaas::testing::FakeGateway;
using mlfaas::testing::RunCommand;
using nlohmann::json;

constexpr const char* kKeyId = "AKIAREMOTETESTKEY234";
constexpr const char* kSecret = "remote-test-secret-0123456789abcdefghijk";

class RemoteCliTest : public ::testing::Test {
 protected:
  RemoteCliTest()
      : gateway_([this](const FakeGateway::Request& r) {
          std::lock_guard<std::mutex> l(mu_);
          auto it = routes_.find(r.method + " " + r.target);
          if (it != routes_.end()) return it->second;
          return FakeGateway::AwsError(404, "ResourceNotFoundException",
                                       "no canned answer for " + r.method + " " + r.target);
        }) {}

  void SetUp() override {
    const std::string pkg = (dir_.path() / "model.zip").string();
    const std::string pkg2 = (dir_.path() / "model2.zip").string();
    registry::testing::WriteModelPackage(pkg, 0);
    registry::testing::WriteModelPackage(pkg2, 1);
    Local({"function", "create", "kdd99", "--package", pkg, "--memory", "256", "--env", "A=1",
           "--reserved-concurrency", "4", "--description", "anomalies"});
    Local({"function", "create", "other", "--package", pkg, "--runtime", "mlfaas"});
    Local({"function", "publish", "kdd99"});
    Local({"function", "update-code", "kdd99", "--package", pkg2});
    Local({"function", "publish", "kdd99", "--description", "new model"});
    Local({"alias", "create", "kdd99", "live", "--version", "1", "--canary-version", "2",
           "--canary-weight", "0.1"});
    Local({"alias", "create", "kdd99", "stable", "--version", "1", "--description", "safe"});
    Local({"key", "create", "--name", "ci", "--scope", "invoke:kdd99-*", "--scope", "read:*"});
    Local({"key", "create", "--name", "old", "--scope", "admin", "--rate", "2.5"});
    Local({"key", "revoke", "old"});
  }

  CommandResult Run(const std::string& home, std::vector<std::string> args,
                    const std::map<std::string, std::string>& env = {}) const {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", home});
    return RunCommand(args, env, std::chrono::seconds(60));
  }
  std::string Local(const std::vector<std::string>& args) const {
    CommandResult r = Run(home_.string(), args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    return r.out;
  }
  json LocalJson(const std::vector<std::string>& args) const {
    return json::parse(Local(args), nullptr, false);
  }
  // The same command against the gateway, with the test key, from a home that does not exist.
  CommandResult Remote(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--remote", gateway_.url()});
    return Run(remote_home_.string(), args,
               {{"MLFAAS_ACCESS_KEY_ID", kKeyId}, {"MLFAAS_SECRET_ACCESS_KEY", kSecret}});
  }
  void Serve(const std::string& request, FakeGateway::Reply reply) {
    std::lock_guard<std::mutex> l(mu_);
    routes_[request] = std::move(reply);
  }

  // Canned answers made of what the local registry and key store hold, Lambda-shaped.
  void ServeTheLocalHome() {
    const std::string fn = "/2015-03-31/functions";
    Serve("GET " + fn + "/kdd99",
          FakeGateway::Json(200, {{"Configuration", json::object()},
                                  {"Mlfaas", LocalJson({"function", "get", "kdd99", "--json"})}}));
    // Two pages, one function each.
    json fs = LocalJson({"function", "list", "--json"});
    ASSERT_EQ(fs.size(), 2u);
    Serve("GET " + fn + "/?MaxItems=50",
          FakeGateway::Json(
              200, {{"Functions", {{{"MlfaasFunction", fs[0]}}}}, {"NextMarker", "page2"}}));
    Serve("GET " + fn + "/?MaxItems=50&Marker=page2",
          FakeGateway::Json(200, {{"Functions", {{{"MlfaasFunction", fs[1]}}}}}));
    json versions = json::array();
    for (const auto& v : LocalJson({"version", "list", "kdd99", "--json"})) {
      versions.push_back({{"Version", v["version"]}, {"Mlfaas", v}});
    }
    Serve("GET " + fn + "/kdd99/versions?MaxItems=50",
          FakeGateway::Json(200, {{"Versions", versions}}));
    Serve("POST " + fn + "/kdd99/versions", FakeGateway::Json(201, versions[2]));
    json aliases = json::array();
    for (const auto& a : LocalJson({"alias", "list", "kdd99", "--json"})) {
      aliases.push_back({{"Name", a["name"]}, {"Mlfaas", a}});
    }
    Serve("GET " + fn + "/kdd99/aliases?MaxItems=50",
          FakeGateway::Json(200, {{"Aliases", aliases}}));
    Serve("GET " + fn + "/kdd99/aliases/live", FakeGateway::Json(200, aliases[0]));
    Serve("GET /mlfaas/v1/keys",
          FakeGateway::Json(200, {{"Keys", LocalJson({"key", "list", "--json"})}}));
    Serve("GET /mlfaas/v1/audit?limit=100",
          FakeGateway::Json(200, {{"Entries", LocalJson({"audit", "--json"})}}));
  }

  TempDir dir_;
  std::filesystem::path home_ = dir_.path() / "home";
  std::filesystem::path remote_home_ = dir_.path() / "never-created";
  std::mutex mu_;
  std::map<std::string, FakeGateway::Reply> routes_;
  FakeGateway gateway_;
};

::testing::AssertionResult SignedWithTestKey(const FakeGateway::Request& r) {
  auto parsed = auth::ParseAuthorization(r.header("authorization"));
  if (auto* err = std::get_if<auth::SigV4Error>(&parsed)) {
    return ::testing::AssertionFailure() << err->type << ": " << err->message;
  }
  const auto& a = std::get<auth::Authorization>(parsed);
  if (a.credential.access_key_id != kKeyId) return ::testing::AssertionFailure() << "key id";
  auth::HttpRequestView view{r.method, r.target, {}, r.body};
  for (const auto& [k, v] : r.headers) view.headers.emplace_back(k, v);
  if (auto err = auth::Verify(view, a, kSecret, "lambda", std::chrono::system_clock::now())) {
    return ::testing::AssertionFailure() << err->type << ": " << err->message;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(RemoteCliTest, EveryReadPrintsWhatTheLocalCommandPrints) {
  ServeTheLocalHome();
  const std::vector<std::vector<std::string>> commands = {
      {"function", "get", "kdd99"},
      {"function", "get", "kdd99", "--json"},
      {"function", "list"},
      {"function", "list", "--json"},
      {"version", "list", "kdd99"},
      {"version", "list", "kdd99", "--json"},
      {"alias", "get", "kdd99", "live"},
      {"alias", "get", "kdd99", "live", "--json"},
      {"alias", "list", "kdd99"},
      {"alias", "list", "kdd99", "--json"},
      {"key", "list"},
      {"key", "list", "--json"},
      {"audit"},
      {"audit", "--json"},
      {"function", "publish", "kdd99"},
  };
  for (const auto& args : commands) {
    const std::string local = Local(args);
    CommandResult remote = Remote(args);
    EXPECT_EQ(remote.exit_code, 0) << args[0] << " " << args[1] << ": " << remote.err;
    EXPECT_EQ(remote.out, local) << args[0] << " " << args[1];
    EXPECT_EQ(remote.err, "") << args[0] << " " << args[1];
  }
  EXPECT_FALSE(std::filesystem::exists(remote_home_));
  const auto reqs = gateway_.requests();
  ASSERT_FALSE(reqs.empty());
  for (const auto& r : reqs) EXPECT_TRUE(SignedWithTestKey(r)) << r.method << " " << r.target;
}

TEST_F(RemoteCliTest, ErrorsAreTheGatewaysMessageOnOneLineWithTheLocalExitCode) {
  const std::string fn = "/2015-03-31/functions";
  Serve("GET " + fn + "/nope",
        FakeGateway::AwsError(404, "ResourceNotFoundException", "function 'nope' does not exist"));
  Serve("DELETE " + fn + "/kdd99?Qualifier=1",
        FakeGateway::AwsError(409, "ResourceConflictException",
                              "version 1 of 'kdd99' is used by alias 'live'; update or delete "
                              "the alias first"));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"function", "get", "nope"}, {"version", "delete", "kdd99", "1"}}) {
    CommandResult local = Run(home_.string(), args);
    CommandResult remote = Remote(args);
    EXPECT_EQ(local.exit_code, 1);
    EXPECT_EQ(remote.exit_code, local.exit_code) << args[0] << " " << args[1];
    EXPECT_EQ(remote.err, local.err);
    EXPECT_EQ(remote.out, local.out);
  }

  // An enforcing gateway and no credentials: unsigned requests, its 401 on one line.
  FakeGateway enforcing([](const FakeGateway::Request&) {
    return FakeGateway::AwsError(401, "MissingAuthenticationTokenException",
                                 "Missing Authentication Token");
  });
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"function", "list"}, {"key", "list"}, {"status"}, {"audit"}}) {
    std::vector<std::string> full = {"--remote", enforcing.url()};
    full.insert(full.end(), args.begin(), args.end());
    CommandResult r = Run(remote_home_.string(), full);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, "mlfaas: Missing Authentication Token\n") << args[0];
    EXPECT_EQ(r.out, "");
  }
  for (const auto& req : enforcing.requests()) EXPECT_EQ(req.header("authorization"), "");
  EXPECT_FALSE(std::filesystem::exists(remote_home_));
}

TEST_F(RemoteCliTest, RemoteIsRefusedWhereItDoesNotApplyAndBadUrlsAreOneLine) {
  CommandResult serve = Run(remote_home_.string(), {"--remote", gateway_.url(), "serve"});
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_EQ(serve.err,
            "mlfaas: --remote applies to the function, version, alias, key, audit, logs, cost "
            "and status commands only\n");
  CommandResult tls =
      Run(remote_home_.string(), {"--remote", "https://gw.example", "function", "list"});
  EXPECT_EQ(tls.exit_code, 1);
  EXPECT_EQ(tls.err.rfind("mlfaas: gateway URL 'https://gw.example': https is not supported", 0),
            0u)
      << tls.err;
  EXPECT_EQ(std::count(tls.err.begin(), tls.err.end(), '\n'), 1);
  CommandResult half = Run(remote_home_.string(), {"--remote", gateway_.url(), "key", "list"},
                           {{"MLFAAS_ACCESS_KEY_ID", kKeyId}});
  EXPECT_EQ(half.exit_code, 1);
  EXPECT_EQ(half.err, "mlfaas: MLFAAS_ACCESS_KEY_ID is set but MLFAAS_SECRET_ACCESS_KEY is not\n");
  uint16_t closed_port = 0;
  {
    FakeGateway gone([](const FakeGateway::Request&) { return FakeGateway::Reply{}; });
    closed_port = gone.port();
  }
  const std::string closed = "http://127.0.0.1:" + std::to_string(closed_port);
  CommandResult down = Run(remote_home_.string(), {"--remote", closed, "alias", "list", "f"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_EQ(down.err.rfind("mlfaas: cannot reach the gateway at " + closed + ": ", 0), 0u)
      << down.err;
  EXPECT_TRUE(gateway_.requests().empty());
  EXPECT_FALSE(std::filesystem::exists(remote_home_));
}

TEST_F(RemoteCliTest, StatusUsesRemoteAndEndpointKeepsItsMeaning) {
  const json status = {{"live_instances", 1},   {"max_instances", 8}, {"in_flight", 0},
                       {"stem_cells_ready", 2}, {"queued_events", 0}, {"functions", json::array()}};
  Serve("GET /v1/status", FakeGateway::Json(200, status));
  CommandResult r = Remote({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "instances: 1/8  in flight: 0  stem cells ready: 2  queued events: 0\n");
  ASSERT_EQ(gateway_.requests().size(), 1u);
  EXPECT_TRUE(SignedWithTestKey(gateway_.requests()[0]));

  // MLFAAS_REMOTE is the default; an explicit --endpoint still names the gateway status asks,
  // and that one gets the local token, never the remote's credentials.
  FakeGateway other([](const FakeGateway::Request&) {
    return FakeGateway::Json(200, {{"live_instances", 3}, {"functions", json::array()}});
  });
  CommandResult env =
      Run(home_.string(), {"status", "--json"}, {{"MLFAAS_REMOTE", gateway_.url()}});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out), status);
  CommandResult endpoint = Run(home_.string(), {"status", "--endpoint", other.url()},
                               {{"MLFAAS_REMOTE", gateway_.url()},
                                {"MLFAAS_ACCESS_KEY_ID", kKeyId},
                                {"MLFAAS_SECRET_ACCESS_KEY", kSecret}});
  EXPECT_EQ(endpoint.exit_code, 0) << endpoint.err;
  EXPECT_EQ(endpoint.out.rfind("instances: 3/0", 0), 0u) << endpoint.out;
  ASSERT_EQ(other.requests().size(), 1u);
  EXPECT_EQ(other.requests()[0].header("authorization").rfind("Bearer mlfaas-local:", 0), 0u);
  CommandResult both = Remote({"status", "--endpoint", other.url()});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.err, "mlfaas: status: give --remote or --endpoint, not both\n");
  // The local token never goes to a --remote gateway.
  for (const auto& req : gateway_.requests()) {
    EXPECT_EQ(req.header("authorization").find("mlfaas-local"), std::string::npos);
  }
}

}  // namespace
}  // namespace mlfaas::cli
