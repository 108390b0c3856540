// The dashboard's data (docs/dashboard.md): the series folded from the metrics counters (pure,
// table-driven), the feed's streams, and, over real HTTP on a real gateway, that the JSON agrees
// with /metrics, that the page's files are open while its data needs a read key, and that the
// event stream sends a sample a second of only what the key may read.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "auth/auth_store.h"
#include "gateway/base/series.h"
#include "gateway/frontend/dashboard_feed.h"
#include "gateway/gateway_fixture.h"

namespace mlfaas::testing {
namespace {

using gateway::Metrics;
using gateway::Series;
using gateway::SeriesPoint;
using nlohmann::json;

Metrics::FunctionCounts Counts(uint64_t invocations, uint64_t errors, uint64_t cold,
                               double sum_ms) {
  Metrics::FunctionCounts c;
  c.counts.invocations = invocations;
  c.counts.errors = errors;
  c.counts.timed = invocations;
  c.cold_starts = cold;
  c.duration_sum_ms = sum_ms;
  return c;
}

TEST(SeriesTest, EachSecondHoldsWhatTheCountersGrewBy) {
  Series s;
  Metrics::Live live;
  live.instances[{"f", "1", "Idle"}] = 2;
  live.concurrent["f"] = 1;
  s.Add(100, {{"f", Counts(3, 1, 1, 30)}}, {{"f", 20.0}}, live);
  s.Add(101, {{"f", Counts(3, 1, 1, 30)}}, {}, live);
  s.Add(102, {{"f", Counts(7, 1, 2, 50)}}, {{"f", 8.0}}, live);
  auto p = s.Points("f");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].t, 100);
  EXPECT_EQ(p[0].hits, 3u);  // a function not seen before starts from zero
  EXPECT_EQ(p[0].errors, 1u);
  EXPECT_EQ(p[0].cold_starts, 1u);
  EXPECT_DOUBLE_EQ(p[0].max_ms, 20);
  EXPECT_EQ(p[0].instances, 2);
  EXPECT_EQ(p[0].concurrent, 1);
  EXPECT_EQ(p[1].hits, 0u);
  EXPECT_TRUE(gateway::PointJson(p[1])["avg_ms"].is_null());
  EXPECT_EQ(p[2].hits, 4u);
  EXPECT_EQ(p[2].cold_starts, 1u);
  EXPECT_DOUBLE_EQ(gateway::PointJson(p[2])["avg_ms"].get<double>(), 5.0);  // 20 ms over 4
  EXPECT_DOUBLE_EQ(p[2].max_ms, 8);
}

TEST(SeriesTest, SkippedSecondsAreEmptyAndARepeatedSecondAddsUp) {
  Series s;
  s.Add(10, {{"f", Counts(1, 0, 0, 1)}}, {}, {});
  s.Add(14, {{"f", Counts(3, 0, 0, 3)}}, {}, {});
  s.Add(14, {{"f", Counts(6, 0, 0, 6)}}, {}, {});
  s.Add(12, {{"f", Counts(7, 0, 0, 7)}}, {}, {});  // late: folded into the newest point
  auto p = s.Points("f");
  ASSERT_EQ(p.size(), 5u);
  std::vector<uint64_t> hits;
  for (const auto& x : p) hits.push_back(x.hits);
  EXPECT_EQ(hits, (std::vector<uint64_t>{1, 0, 0, 0, 6}));
  EXPECT_EQ(p.back().t, 14);
}

TEST(SeriesTest, KeepsFifteenMinutesAndNoMore) {
  Series s;
  for (int64_t t = 0; t < 2000; t += 7) s.Add(t, {{"f", Counts(t, 0, 0, 0)}}, {}, {});
  s.Add(5000, {{"f", Counts(5000, 0, 0, 0)}}, {}, {});
  auto p = s.Points("f");
  ASSERT_EQ(p.size(), Series::kPoints);
  EXPECT_EQ(p.front().t, 5000 - static_cast<int64_t>(Series::kPoints) + 1);
  EXPECT_EQ(p.back().t, 5000);
  EXPECT_TRUE(s.Points("never-seen").empty());
}

// A stream that keeps what it is sent.
class RecordingStream final : public gateway::BodyStream {
 public:
  bool Write(std::string data) override {
    if (closed_) return false;
    sent.push_back(std::move(data));
    return true;
  }
  void Close() override { closed_ = true; }
  bool closed() const override { return closed_; }
  std::vector<std::string> sent;

 private:
  bool closed_ = false;
};

TEST(DashboardFeedTest, StreamsGetOnlyWhatTheirScopesMayReadAndAreBounded) {
  gateway::DashboardFeed feed;
  auto scopes = auth::ScopeSet::Parse({"read:team-*"});
  ASSERT_TRUE(scopes.ok());
  auto team = std::make_shared<RecordingStream>();
  auto one = std::make_shared<RecordingStream>();
  ASSERT_TRUE(feed.Subscribe(team, *scopes, "", 50));
  ASSERT_TRUE(feed.Subscribe(one, auth::ScopeSet::Everything(), "quiet", 50));
  EXPECT_TRUE(team->sent.empty());  // no sample yet to send at once
  Metrics m;
  m.RecordInvocation("team-a", "1", gateway::Outcome::kSuccess, 2, 0);
  m.RecordInvocation("other", "1", gateway::Outcome::kSuccess, 2, 0);
  feed.Sample(50, m, {});
  ASSERT_EQ(team->sent.size(), 1u);
  EXPECT_NE(team->sent[0].find("\"team-a\""), std::string::npos) << team->sent[0];
  EXPECT_EQ(team->sent[0].find("\"other\""), std::string::npos) << team->sent[0];
  ASSERT_EQ(one->sent.size(), 1u);  // a function without a point yet gets an empty one
  EXPECT_NE(one->sent[0].find(R"("quiet":{"avg_ms":null)"), std::string::npos) << one->sent[0];
  EXPECT_EQ(one->sent[0].find("team-a"), std::string::npos);
  EXPECT_EQ(one->sent[0].rfind("event: sample\ndata: ", 0), 0u);
  one->Close();
  feed.Sample(51, m, {});
  EXPECT_EQ(feed.streams(), 1u);  // the closed one is dropped
  // A new stream gets the newest sample at once.
  auto late = std::make_shared<RecordingStream>();
  ASSERT_TRUE(feed.Subscribe(late, auth::ScopeSet::Everything(), "", 51));
  ASSERT_EQ(late->sent.size(), 1u);
  EXPECT_NE(late->sent[0].find(R"("t":51)"), std::string::npos) << late->sent[0];
  for (size_t i = feed.streams(); i < gateway::DashboardFeed::kMaxStreams; ++i) {
    ASSERT_TRUE(feed.Subscribe(std::make_shared<RecordingStream>(), {}, "", 51));
  }
  EXPECT_FALSE(feed.Subscribe(std::make_shared<RecordingStream>(), {}, "", 51));
  // kMaxStreamSeconds after it began, a stream ends (its page reconnects and authenticates).
  feed.Sample(50 + gateway::DashboardFeed::kMaxStreamSeconds - 1, m, {});
  EXPECT_FALSE(team->closed());
  feed.Sample(50 + gateway::DashboardFeed::kMaxStreamSeconds, m, {});
  EXPECT_TRUE(team->closed());
  EXPECT_FALSE(late->closed());
  feed.CloseAll();
  EXPECT_TRUE(late->closed());
}

// Prometheus samples of `family` for `function`, summed, optionally only those whose labels
// match `extra` (a regex over the label text).
double MetricSum(const std::string& text, const std::string& family, const std::string& function,
                 const std::string& extra = "") {
  double sum = 0;
  std::regex line("^" + family + R"(\{([^}]*)\} ([0-9.eE+-]+)$)");
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    const std::string labels = m[1];
    if (labels.find("function=\"" + function + "\"") == std::string::npos) continue;
    if (!extra.empty() && !std::regex_search(labels, std::regex(extra))) continue;
    sum += std::stod(m[2]);
  }
  return sum;
}

class DashboardTest : public GatewayFixture {
 protected:
  void SetUp() override {
    reg_.Put("allowed", "$LATEST", "py", Config());
    reg_.Put("allowed", "1", "py", Config());
    reg_.PutAlias({"allowed", "live", "1", std::nullopt, 0, ""});
    reg_.Put("secret", "$LATEST", "py", Config());
    auto store = auth::AuthStore::Open(tmp_.path() / "home");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  // Starts the gateway with keys from a store that outlives it (GatewayFixture::TearDown stops
  // the gateway before the fixture's members die; its maintenance thread reloads the keys).
  void StartWithKeys() {
    gateway::GatewayOptions o;
    o.keys = store_.get();
    StartGateway(o);
  }
  std::string Token(const std::string& name, std::vector<std::string> scopes) {
    auto k = store_->CreateKey(name, scopes, 1000);
    EXPECT_TRUE(k.ok()) << k.status().message();
    return k.ok() ? k->key.access_key_id + ":" + k->secret : "";
  }

  HttpReply Get(const std::string& target, const std::string& token = "") {
    HttpClient c(gw_->port());
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return c.Request(boost::beast::http::verb::get, target, "", h);
  }

  std::unique_ptr<auth::AuthStore> store_;  // used by the gateway: see StartWithKeys
};

TEST_F(DashboardTest, TheTableAndTheSeriesAgreeWithMetrics) {
  StartGateway();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Invoke("allowed", "{}").status, 200);
  for (int i = 0; i < 2; ++i) Invoke("allowed", R"({"action":"error"})");
  auto overview = json::parse(Get("/v1/dashboard").body);
  const std::string metrics = Get("/metrics").body;
  ASSERT_EQ(overview["functions"].size(), 2u) << overview.dump();
  const json& row = overview["functions"][0];
  ASSERT_EQ(row["name"], "allowed");
  // Invocations that ended on the platform: every outcome but the refusals.
  const double ended = MetricSum(metrics, "mlfaas_invocations_total", "allowed",
                                 "outcome=\"(?!throttled\"|not_found\"|bad_request\")");
  EXPECT_EQ(ended, 7);
  EXPECT_EQ(row["invocations"].get<double>(), ended);
  EXPECT_EQ(row["errors"].get<double>(), MetricSum(metrics, "mlfaas_errors_total", "allowed"));
  EXPECT_EQ(row["errors"], 2);
  EXPECT_EQ(row["cold_starts"].get<double>(),
            MetricSum(metrics, "mlfaas_cold_starts_total", "allowed"));
  EXPECT_GE(row["cold_starts"].get<int>(), 1);
  EXPECT_EQ(row["aliases"][0]["name"], "live");
  EXPECT_EQ(row["versions"], json::array({"1"}));
  EXPECT_TRUE(row["p50_ms"].is_number());
  // Within a couple of samples the series holds every invocation /metrics counted.
  uint64_t hits = 0;
  json detail;
  EXPECT_TRUE(Eventually(
      [&] {
        detail = json::parse(Get("/v1/dashboard/functions/allowed").body);
        hits = 0;
        for (const auto& h : detail["series"]["hits"]) hits += h.get<uint64_t>();
        return hits == 7;
      },
      std::chrono::seconds(5)))
      << detail.dump();
  EXPECT_EQ(detail["series"]["t"].size(), detail["series"]["hits"].size());
  EXPECT_EQ(detail["name"], "allowed");
  EXPECT_TRUE(detail["can_deploy"].get<bool>());
}

TEST_F(DashboardTest, ThePageIsOpenItsDataNeedsAReadKey) {
  const std::string rt = Token("reader", {"read:allowed"});
  const std::string dt = Token("deployer", {"read:*", "deploy:allowed"});
  StartWithKeys();

  auto page = Get("/ui/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("connect-src 'self'"), std::string::npos);
  HttpClient c(gw_->port());
  auto again = c.Request(boost::beast::http::verb::get, "/ui/", "",
                         {{"If-None-Match", page.header("etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(Get("/ui/app.js").status, 200);
  EXPECT_EQ(Get("/ui").status, 301);
  EXPECT_EQ(Get("/ui/../metrics").status, 401);  // only the files themselves are open
  EXPECT_EQ(Get("/ui/no-such-file.js").status, 401);
  EXPECT_EQ(Get("/ui/no-such-file.js", rt).status, 404);

  EXPECT_EQ(Get("/v1/dashboard").status, 401);
  auto mine = json::parse(Get("/v1/dashboard", rt).body);
  ASSERT_EQ(mine["functions"].size(), 1u) << mine.dump();
  EXPECT_EQ(mine["functions"][0]["name"], "allowed");
  EXPECT_FALSE(mine["functions"][0]["can_deploy"].get<bool>());
  EXPECT_EQ(mine["auth"], "enforced");
  EXPECT_EQ(Get("/v1/dashboard/functions/secret", rt).status, 403);
  EXPECT_EQ(Get("/v1/dashboard/reports", rt).status, 403);  // reports need read:*
  auto all = json::parse(Get("/v1/dashboard", dt).body);
  ASSERT_EQ(all["functions"].size(), 2u);
  EXPECT_TRUE(all["functions"][0]["can_deploy"].get<bool>());
  EXPECT_FALSE(all["functions"][1]["can_deploy"].get<bool>());
  EXPECT_EQ(Get("/v1/dashboard/functions/nope", dt).status, 404);
  EXPECT_EQ(Get("/v1/dashboard/functions/b%2Fad", dt).status, 400);
  EXPECT_EQ(Get("/v1/dashboard/reports/..", dt).status, 400);
  EXPECT_EQ(Get("/v1/dashboard/stream?function=secret", rt).status, 403);
}

// Reads from a raw connection until `count` sample events arrived or `limit` passed.
std::string ReadEvents(uint16_t port, const std::string& target, const std::string& token,
                       int count, std::chrono::milliseconds limit) {
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::socket s(io);
  s.connect({net::ip::make_address("127.0.0.1"), port});
  timeval tv{0, 200'000};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                          "\r\n\r\n";
  net::write(s, net::buffer(req));
  std::string got;
  const auto end = std::chrono::steady_clock::now() + limit;
  auto events = [&] {
    int n = 0;
    for (size_t at = got.find("event: sample"); at != std::string::npos;
         at = got.find("event: sample", at + 1)) {
      ++n;
    }
    return n;
  };
  char buf[4096];
  while (events() < count && std::chrono::steady_clock::now() < end) {
    const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST_F(DashboardTest, TheStreamSendsASampleASecondOfWhatTheKeyMayRead) {
  const std::string rt = Token("reader", {"read:allowed", "invoke:*"});
  StartWithKeys();
  HttpClient c(gw_->port());
  ASSERT_EQ(c.Post(Path("secret"), "{}", {{"Authorization", "Bearer " + rt}}).status, 200);
  const std::string got =
      ReadEvents(gw_->port(), "/v1/dashboard/stream", rt, 2, std::chrono::seconds(6));
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
  EXPECT_NE(got.find("event: sample\ndata: {"), std::string::npos) << got;
  EXPECT_EQ(got.find("secret"), std::string::npos) << got;  // invoked, but not readable
  // Two samples, a second or so apart, each a JSON object with its second.
  std::regex data(R"(data: (\{[^\n]*\})\n)");
  std::vector<int64_t> ts;
  for (std::sregex_iterator it(got.begin(), got.end(), data), end; it != end; ++it) {
    ts.push_back(json::parse((*it)[1].str())["t"].get<int64_t>());
  }
  ASSERT_GE(ts.size(), 2u) << got;
  EXPECT_GE(ts[1] - ts[0], 1);
}

}  // namespace
}  // namespace mlfaas::testing
