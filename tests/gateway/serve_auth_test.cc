// Authentication as users meet it: `mlfaas key ...`, `mlfaas serve`, and real clients — Debian's
// AWS CLI v2 (/usr/bin/aws) and boto3 (/usr/bin/python3) — signing with mlfaas keys.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <regex>

#include "gateway/serve_fixture.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Call {
  Creds key;
  std::string function;
  std::string until;              // repeat until the call fails with this code (bounded: 5 s)
  bool unsigned_request = false;  // no signature at all (the AWS CLI's --no-sign-request)
};

class ServeAuthTest : public ServeFixture {
 protected:
  // `aws lambda invoke` with these credentials; its output file in the temp dir.
  CommandResult Aws(uint16_t port, const Creds& c, std::vector<std::string> args) {
    args.insert(args.begin(), {"invoke", "--cli-binary-format", "raw-in-base64-out"});
    args.push_back((tmp_.path() / "aws-out.json").string());
    return AwsLambda(port, c, args);
  }

  // Every call through boto3 in one python process (importing boto3 costs more than the calls);
  // one result each (tests/gateway/boto3_invoke.py).
  std::vector<json> Boto3(uint16_t port, const std::vector<Call>& calls) {
    json list = json::array();
    for (const auto& c : calls) {
      json j = {{"key", c.key.id},
                {"secret", c.key.secret},
                {"function", c.function},
                {"payload", R"({"msg":"boto"})"}};
      if (!c.until.empty()) {
        j["until"] = c.until;
        j["within_s"] = 5;
      }
      if (c.unsigned_request) j["unsigned"] = true;
      list.push_back(j);
    }
    auto r = RunCommand(
        {"/usr/bin/python3", std::string(MLFAAS_SOURCE_DIR) + "/tests/gateway/boto3_invoke.py",
         "http://127.0.0.1:" + std::to_string(port), list.dump()},
        {}, std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.err << " (python3-boto3 is installed by scripts/deps.sh)";
    auto j = json::parse(r.out, nullptr, false);
    if (!j.is_array() || j.size() != calls.size()) {
      ADD_FAILURE() << r.out << r.err;
      return std::vector<json>(calls.size(), json::object());
    }
    return std::vector<json>(j.begin(), j.end());
  }
};

TEST_F(ServeAuthTest, TheAwsCliAndBoto3SignWithMlfaasKeys) {
  Create("echo", kPythonBootstrap);
  Create("other", kPythonBootstrap);
  const Creds ci = NewKey("ci", {"invoke:echo"});
  ASSERT_EQ(ci.id.size(), 20u);
  ASSERT_EQ(ci.secret.size(), 40u);
  // Keys are reloaded on each maintenance tick: every 100 ms here (a revocation is awaited).
  const uint16_t port = Serve({"--tick-ms", "100"});
  ASSERT_NE(port, 0);
  EXPECT_NE(Slurp(log_).find("authentication on"), std::string::npos) << Slurp(log_);

  // A good key invokes, through both clients. The AWS CLI runs once, for what only it shows (its
  // own SigV4 signer, --cli-binary-format, the output file); the refusals go through boto3, one
  // python process for all the calls: an AWS CLI process costs ~0.7 s of CPU, and both clients
  // read the same modeled error codes from the gateway's answers.
  // The two clients run at once (each is a python process that takes a while to start).
  auto aws = std::async(std::launch::async, [&] {
    return Aws(port, ci, {"--function-name", "echo", "--payload", R"({"msg":"cli"})"});
  });
  const Creds wrong{ci.id, std::string(40, 'x')};
  const auto boto = Boto3(port, {{ci, "echo", ""},
                                 {wrong, "echo", ""},
                                 {ci, "other", ""},
                                 {ci, "echo", "", /*unsigned_request=*/true}});
  auto good = aws.get();
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(json::parse(good.out)["StatusCode"], 200);
  EXPECT_EQ(json::parse(*ReadFile(tmp_.path() / "aws-out.json"))["echo"]["msg"], "cli");
  const json& b = boto[0];
  EXPECT_EQ(b["ok"], true) << b.dump();
  EXPECT_EQ(b["payload"]["echo"]["msg"], "boto") << b.dump();

  // A wrong secret, a missing scope, no signature: each the exception the SDK models.
  EXPECT_EQ(boto[1]["ok"], false) << boto[1].dump();
  EXPECT_EQ(boto[1]["code"], "InvalidSignatureException") << boto[1].dump();
  const json& denied = boto[2];
  EXPECT_EQ(denied["ok"], false) << denied.dump();
  EXPECT_EQ(denied["code"], "AccessDeniedException") << denied.dump();
  EXPECT_EQ(denied["http"], 403);
  EXPECT_EQ(boto[3]["ok"], false) << boto[3].dump();
  EXPECT_EQ(boto[3]["code"], "MissingAuthenticationTokenException") << boto[3].dump();
  HttpClient plain(port);
  EXPECT_EQ(plain.Post(InvokePath("echo"), "{}").status, 401);
  EXPECT_EQ(plain.Get("/healthz").status, 200);

  // The local CLI reads status without a key (a token derived from the home's server key).
  auto st = Mlfaas({"status", "--endpoint", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("echo:$LATEST"), std::string::npos) << st.out;

  // A revoked key is refused within a tick or so (the gateway reloads keys every tick).
  auto rv = Mlfaas({"key", "revoke", "ci"});
  ASSERT_EQ(rv.exit_code, 0) << rv.err;
  const std::string code =
      Boto3(port, {{ci, "echo", "UnrecognizedClientException"}})[0].value("code", "");
  EXPECT_EQ(code, "UnrecognizedClientException");

  // Every admin and deploy action is in the audit log.
  auto audit = Mlfaas({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::set<std::string> actions;
  for (const auto& e : json::parse(audit.out)) {
    actions.insert(e["action"].get<std::string>() + "/" + e["result"].get<std::string>());
    EXPECT_TRUE(e["principal"].get<std::string>().starts_with("local:")) << e.dump();
  }
  for (const char* want : {"CreateFunction/ok", "CreateKey/ok", "RevokeKey/ok"}) {
    EXPECT_TRUE(actions.contains(want)) << want << " in " << audit.out;
  }
  auto list = Mlfaas({"key", "list"});
  EXPECT_NE(list.out.find("revoked"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(ci.secret), std::string::npos) << "secrets are never shown again";
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
}

TEST_F(ServeAuthTest, KeyCommandsRefuseBadInput) {
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"key", "create", "--name", "x", "--scope", "write:*"},
        {"key", "create", "--name", "x", "--scope", "invoke"},
        {"key", "create", "--name", "bad name", "--scope", "invoke:*"},
        {"key", "create", "--name", "x", "--scope", "invoke:*", "--rate", "0"},
        {"key", "create", "--name", "x"},
        {"key", "revoke", "nobody"},
        {"audit", "--since", "yesterday-ish"}}) {
    auto r = Mlfaas(bad);
    EXPECT_EQ(r.exit_code, 1) << bad[2] << " " << r.out;
    EXPECT_TRUE(r.err.starts_with("mlfaas: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  NewKey("x", {"invoke:*"});
  auto dup = Mlfaas({"key", "create", "--name", "x", "--scope", "invoke:*"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.err.find("exists"), std::string::npos) << dup.err;
  // The home and its secrets are private.
  struct stat home {
  }, db{}, key{};
  ASSERT_EQ(::stat(Home().c_str(), &home), 0);
  ASSERT_EQ(::stat((Home() / "registry.db").c_str(), &db), 0);
  ASSERT_EQ(::stat((Home() / "server.key").c_str(), &key), 0);
  EXPECT_EQ(home.st_mode & 0777, 0700u);
  EXPECT_EQ(db.st_mode & 0777, 0600u);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
}

// `serve --host 0.0.0.0`: refused without a key, started loudly with --insecure-no-auth, and
// enforcing once a key exists.
TEST_F(ServeAuthTest, NonLoopbackAddressesNeedAKeyOrTheInsecureFlag) {
  auto refused = Mlfaas({"serve", "--host", "0.0.0.0", "--port", "0"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("refusing to serve on 0.0.0.0"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--insecure-no-auth"), std::string::npos) << refused.err;

  auto start = [&](std::vector<std::string> extra) -> uint16_t {
    std::vector<std::string> argv = {MLFAAS_BIN,  "--home",  Home().string(), "serve",
                                     "--host",    "0.0.0.0", "--port",        "0",
                                     "--threads", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    log_ = (tmp_.path() / ("serve-" + std::to_string(++serves_) + ".log")).string();
    server_ = std::make_unique<BackgroundProcess>(argv, std::map<std::string, std::string>{}, log_);
    std::regex re("listening on http://0\\.0\\.0\\.0:(\\d+)");
    for (int i = 0; i < 2000 && server_->Running(); ++i) {
      std::smatch m;
      std::string text = Slurp(log_);
      if (std::regex_search(text, m, re)) return static_cast<uint16_t>(std::stoi(m[1]));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "serve did not start: " << Slurp(log_);
    return 0;
  };
  Create("echo", kPythonBootstrap);
  uint16_t port = start({"--insecure-no-auth"});
  ASSERT_NE(port, 0);
  EXPECT_NE(Slurp(log_).find("AUTHENTICATION DISABLED"), std::string::npos) << Slurp(log_);
  EXPECT_EQ(HttpClient(port).Post(InvokePath("echo"), "{}").status, 200);
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);

  const Creds k = NewKey("edge", {"invoke:*"});
  port = start({});
  ASSERT_NE(port, 0);
  EXPECT_EQ(HttpClient(port).Post(InvokePath("echo"), "{}").status, 401);
  HttpClient c(port);
  auto ok = c.Request(boost::beast::http::verb::post, InvokePath("echo"), "{}",
                      {{"Authorization", k.bearer()}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
}

}  // namespace
}  // namespace mlfaas::testing
