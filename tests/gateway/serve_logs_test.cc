// The function log as users read it: `mlfaas logs` on the home, GET /v1/functions/{name}/logs,
// and `mlfaas --remote URL logs`, against a real `mlfaas serve`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "gateway/serve_fixture.h"

namespace mlfaas::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace http = boost::beast::http;

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class ServeLogsTest : public ServeFixture {
 protected:
  // Polls `pred` every 50 ms for up to `within` (the function log is written every 200 ms).
  template <typename P>
  bool Eventually(P pred, std::chrono::milliseconds within = std::chrono::seconds(15)) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
};

TEST_F(ServeLogsTest, LogsCommandRouteAndRemoteAgree) {
  Create("echo", PyRuntime("    print('handling ' + ev['msg'], flush=True)\n    return ev"));
  const Creds root = NewKey("root", {"*:*"});
  const Creds reader = NewKey("reader", {"read:echo"});
  const Creds invoker = NewKey("invoker", {"invoke:echo"});
  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const int64_t start_ms = SystemClock::Get().EpochMillis() - 1000;
  HttpClient http(port);
  auto invoke = [&](const std::string& msg) {
    auto r = http.Post(InvokePath("echo"), json{{"msg", msg}}.dump(),
                       {{"Authorization", invoker.bearer()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.header("x-amz-request-id");
  };
  const std::string rid1 = invoke("one"), rid2 = invoke("two");
  ASSERT_FALSE(rid1.empty());
  ASSERT_NE(rid1, rid2);

  // The lines reach the files within a writer period or so.
  auto logs = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"logs", "echo"});
    return Mlfaas(args);
  };
  ASSERT_TRUE(Eventually([&] {
    return logs({"--request-id", rid2}).out.find("REPORT RequestId: " + rid2) != std::string::npos;
  }));

  // Default: "<time> <stream> <text>" of the last 10 minutes, oldest first.
  auto all = logs({});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const auto lines = SplitLines(all.out);
  const std::regex text_line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ .*)");
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, text_line)) << l;
  auto index_of = [&](const std::string& needle) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i);
    }
    return -1;
  };
  EXPECT_GE(index_of("START RequestId: " + rid1), 0) << all.out;
  EXPECT_LT(index_of("START RequestId: " + rid1), index_of("handling one"));
  EXPECT_LT(index_of("handling one"), index_of("END RequestId: " + rid1));
  EXPECT_LT(index_of("END RequestId: " + rid1), index_of("REPORT RequestId: " + rid1));
  EXPECT_LT(index_of("REPORT RequestId: " + rid1), index_of("START RequestId: " + rid2));

  // --request-id --json: that invocation's START, output, END and REPORT, every field set.
  auto one = logs({"--request-id", rid1, "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  std::vector<std::string> texts;
  for (const auto& l : SplitLines(one.out)) {
    const json j = json::parse(l, nullptr, false);
    ASSERT_TRUE(j.is_object()) << l;
    EXPECT_EQ(j["function"], "echo");
    EXPECT_EQ(j["version"], "$LATEST");
    EXPECT_EQ(j["request_id"], rid1);
    EXPECT_TRUE(j["stream"].get<std::string>().find("[$LATEST]") != std::string::npos) << l;
    EXPECT_EQ(j["time"].get<std::string>().size(), 24u);
    texts.push_back(j["text"]);
  }
  ASSERT_EQ(texts.size(), 4u) << one.out;
  EXPECT_EQ(texts[0], "START RequestId: " + rid1 + " Version: $LATEST");
  EXPECT_EQ(texts[1], "handling one");
  EXPECT_EQ(texts[2], "END RequestId: " + rid1);
  EXPECT_TRUE(texts[3].starts_with("REPORT RequestId: " + rid1 + "\tDuration: ")) << texts[3];

  // --filter, --since.
  auto two = logs({"--filter", "handling two"});
  EXPECT_EQ(SplitLines(two.out).size(), 1u) << two.out;
  EXPECT_EQ(logs({"--since", "1h"}).out, all.out);
  const std::string later = std::to_string(SystemClock::Get().EpochMillis() + 3'600'000);
  auto none = logs({"--since", later});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");

  // Bad input: non-zero, one line on stderr.
  auto bad_since = logs({"--since", "yesterday"});
  EXPECT_EQ(bad_since.exit_code, 1);
  EXPECT_EQ(SplitLines(bad_since.err).size(), 1u) << bad_since.err;
  EXPECT_NE(bad_since.err.find("--since"), std::string::npos) << bad_since.err;
  auto unknown = Mlfaas({"logs", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(SplitLines(unknown.err).size(), 1u) << unknown.err;

  // The route: the read scope on the function; Lambda-shaped errors.
  auto get = [&](const std::string& target, const Creds& k) {
    return http.Request(http::verb::get, target, "", {{"Authorization", k.bearer()}});
  };
  auto page = get("/v1/functions/echo/logs?request_id=" + rid2 + "&limit=2", reader);
  ASSERT_EQ(page.status, 200) << page.body;
  json pj = json::parse(page.body);
  ASSERT_EQ(pj["events"].size(), 2u) << page.body;
  EXPECT_EQ(pj["events"][0]["text"], "START RequestId: " + rid2 + " Version: $LATEST");
  EXPECT_EQ(pj["truncated"], true);
  auto rest = get("/v1/functions/echo/logs?request_id=" + rid2 +
                      "&next_token=" + pj["next_token"].get<std::string>(),
                  reader);
  ASSERT_EQ(rest.status, 200) << rest.body;
  json rj = json::parse(rest.body);
  ASSERT_EQ(rj["events"].size(), 2u) << rest.body;
  EXPECT_EQ(rj["events"][0]["text"], "END RequestId: " + rid2);
  EXPECT_EQ(rj["truncated"], false);
  // tail: the newest lines, the same as the last of the whole request's.
  auto tail = get("/v1/functions/echo/logs?request_id=" + rid2 + "&tail=2", reader);
  ASSERT_EQ(tail.status, 200) << tail.body;
  EXPECT_EQ(json::parse(tail.body)["events"], rj["events"]) << tail.body;
  auto denied = get("/v1/functions/echo/logs", invoker);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.header("x-amzn-errortype"), "AccessDeniedException");
  EXPECT_EQ(http.Get("/v1/functions/echo/logs").status, 401);
  auto missing = get("/v1/functions/nope/logs", root);
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(missing.header("x-amzn-errortype"), "ResourceNotFoundException");
  for (const char* q : {"since=yesterday", "limit=0", "limit=10001", "next_token=x", "follow=maybe",
                        "filter=%zz", "tail=0", "tail=-1", "tail=10001", "tail=x"}) {
    auto r = get(std::string("/v1/functions/echo/logs?") + q, root);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    const json e = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(e.contains("message") && e["message"].is_string()) << r.body;
    EXPECT_EQ(r.header("x-amzn-errortype"), "InvalidParameterValueException") << q;
  }
  EXPECT_EQ(http.Request(http::verb::post, "/v1/functions/echo/logs", "",
                         {{"Authorization", root.bearer()}})
                .status,
            405);
  EXPECT_EQ(get("/v1/functions/bad.name/logs", root).status, 400);

  // --remote prints what the home does (same since: an absolute time), signed with a read key.
  const fs::path elsewhere = tmp_.path() / "elsewhere";
  const std::map<std::string, std::string> env = {{"MLFAAS_ACCESS_KEY_ID", reader.id},
                                                  {"MLFAAS_SECRET_ACCESS_KEY", reader.secret}};
  auto remote = [&](std::vector<std::string> args, const Creds* key = nullptr) {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", elsewhere.string(), "--remote", url, "logs"});
    auto e = env;
    if (key) e = {{"MLFAAS_ACCESS_KEY_ID", key->id}, {"MLFAAS_SECRET_ACCESS_KEY", key->secret}};
    return RunCommand(args, e, std::chrono::seconds(60));
  };
  const std::string since = std::to_string(start_ms);
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {}, {"--json"}, {"--request-id", rid1}, {"--filter", "handling"}}) {
    std::vector<std::string> args = {"echo", "--since", since};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = remote(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto l = Mlfaas([&] {
      auto a = args;
      a.insert(a.begin(), "logs");
      return a;
    }());
    EXPECT_EQ(r.out, l.out) << (extra.empty() ? "" : extra[0]);
    EXPECT_FALSE(r.out.empty());
  }
  auto remote_unknown = remote({"nope"}, &root);  // the reader may not even ask
  EXPECT_EQ(remote_unknown.exit_code, 1);
  EXPECT_EQ(remote_unknown.err, unknown.err);
  auto remote_denied = remote({"nope"});
  EXPECT_EQ(remote_denied.exit_code, 1);
  EXPECT_NE(remote_denied.err.find("not authorized"), std::string::npos) << remote_denied.err;
  auto remote_bad = remote({"echo", "--since", "yesterday"});
  EXPECT_EQ(remote_bad.exit_code, 1);
  EXPECT_EQ(remote_bad.err, bad_since.err);
  EXPECT_FALSE(fs::exists(elsewhere / "registry.db")) << "--remote never opens a home";

  // --follow, local and remote: new invocations appear; SIGTERM / SIGINT end it with 0.
  const std::string now = std::to_string(SystemClock::Get().EpochMillis());
  const std::string local_out = (tmp_.path() / "follow-local.txt").string();
  const std::string remote_out = (tmp_.path() / "follow-remote.txt").string();
  BackgroundProcess local_follow(
      {MLFAAS_BIN, "--home", Home().string(), "logs", "echo", "--follow", "--since", now}, {},
      local_out);
  BackgroundProcess remote_follow({MLFAAS_BIN, "--home", elsewhere.string(), "--remote", url,
                                   "logs", "echo", "--follow", "--since", now},
                                  env, remote_out);
  const std::string rid3 = invoke("three");
  for (const auto& out : {local_out, remote_out}) {
    EXPECT_TRUE(Eventually([&] {
      return Slurp(out).find("REPORT RequestId: " + rid3) != std::string::npos;
    })) << out
        << ": " << Slurp(out);
  }
  const int local_status = local_follow.StopWith(SIGTERM, std::chrono::seconds(5));
  const int remote_status = remote_follow.StopWith(SIGINT, std::chrono::seconds(5));
  EXPECT_TRUE(WIFEXITED(local_status) && WEXITSTATUS(local_status) == 0) << local_status;
  EXPECT_TRUE(WIFEXITED(remote_status) && WEXITSTATUS(remote_status) == 0) << remote_status;
  EXPECT_EQ(Slurp(local_out), Slurp(remote_out));
  EXPECT_NE(Slurp(local_out).find("handling three"), std::string::npos);
  EXPECT_EQ(Slurp(local_out).find("handling one"), std::string::npos);
}

}  // namespace
}  // namespace mlfaas::testing
