// What authentication adds to a request: SigV4 verification (what every signed AWS CLI / SDK
// call costs the gateway) and a Bearer check through the guard, beside the SHA-256 of the same
// body alone (the floor: any signature scheme that covers the body pays it).
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "auth/guard.h"
#include "auth/sigv4.h"
#include "common/clock.h"
#include "common/sha256.h"

namespace {

using namespace mlfaas;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kKeyId[] = "AKIAIOSFODNN7EXAMPLE";

struct Signed {
  std::string body;
  std::string date;
  std::string target = "/2015-03-31/functions/kdd99-anomaly/invocations?Qualifier=live";
  std::string authorization;
  auth::HttpRequestView View() const {
    auth::HttpRequestView v;
    v.method = "POST";
    v.target = target;
    v.headers = {{"Host", "127.0.0.1:9000"},
                 {"X-Amz-Date", date},
                 {"Content-Type", "application/json"},
                 {"User-Agent", "aws-cli/2.9.19"},
                 {"Authorization", authorization}};
    v.body = body;
    return v;
  }
};

Signed MakeSigned(size_t body_bytes) {
  Signed s;
  s.body = R"({"instances":[)";
  while (s.body.size() < body_bytes)
    s.body += R"({"duration":0,"src_bytes":215,"dst_bytes":45076},)";
  s.body.back() = ']';
  s.body += "}";
  s.date = auth::FormatAmzDate(std::chrono::system_clock::now());
  s.authorization = *auth::SignAuthorization(s.View(), kKeyId, kSecret, "us-east-1", "lambda",
                                             s.date, {"content-type", "host", "x-amz-date"});
  return s;
}

void BM_Sha256OfBody(benchmark::State& state) {
  const Signed s = MakeSigned(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Hex(s.body));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(s.body.size()));
}
BENCHMARK(BM_Sha256OfBody)->Arg(100)->Arg(10 << 10)->Arg(1 << 20);

void BM_SigV4ParseAndVerify(benchmark::State& state) {
  const Signed s = MakeSigned(static_cast<size_t>(state.range(0)));
  const auto view = s.View();
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto parsed = auth::ParseAuthorization(s.authorization);
    auto err = auth::Verify(view, std::get<auth::Authorization>(parsed), kSecret, "lambda", now);
    if (err) state.SkipWithError(err->message.c_str());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(s.body.size()));
}
BENCHMARK(BM_SigV4ParseAndVerify)->Arg(100)->Arg(10 << 10)->Arg(1 << 20);

class OneKey : public auth::KeySource {
 public:
  StatusOr<std::vector<auth::KeyWithSecret>> LoadKeys() override {
    auth::KeyWithSecret k;
    k.key.access_key_id = kKeyId;
    k.key.name = "bench";
    k.key.scopes = {"invoke:*"};
    k.key.rate = 1e6;
    k.secret = kSecret;
    return std::vector<auth::KeyWithSecret>{k};
  }
  std::optional<std::string> LocalToken() override { return std::nullopt; }
};

// The whole door: header lookup, key lookup, verification, rate limit, for SigV4 and Bearer.
void BM_GuardAuthenticate(benchmark::State& state) {
  const bool sigv4 = state.range(0) == 1;
  OneKey keys;
  auto guard = std::move(auth::Guard::Create(keys, SystemClock::Get(), {})).value();
  Signed s = MakeSigned(100);
  if (!sigv4) s.authorization = std::string("Bearer ") + kKeyId + ":" + kSecret;
  const auto view = s.View();
  for (auto _ : state) {
    auto r = guard->Authenticate(view);
    if (std::holds_alternative<auth::Denial>(r)) {
      state.SkipWithError(std::get<auth::Denial>(r).message.c_str());
    }
  }
  state.SetLabel(sigv4 ? "sigv4" : "bearer");
}
BENCHMARK(BM_GuardAuthenticate)->Arg(1)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
