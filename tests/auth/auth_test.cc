// Keys, scopes, rate limits, the server key and the audit log (src/auth), on real SQLite files
// in temp homes; the guard's decisions over a fake key source and a fake clock.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

#include "auth/audited_registry.h"
#include "auth/auth_store.h"
#include "auth/guard.h"
#include "auth/rate_limiter.h"
#include "auth/scope.h"
#include "auth/server_key.h"
#include "common/fs.h"
#include "registry/registry.h"
#include "registry/sqlite_db.h"
#include "testing/fake_clock.h"

namespace mlfaas::auth {
namespace {

namespace fs = std::filesystem;
using testing::FakeClock;

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// ---- scopes --------------------------------------------------------------------------------

TEST(ScopeTest, ParsesClassesAndPatterns) {
  auto s = ParseScope("invoke:fraud-*");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->action, Action::kInvoke);
  EXPECT_EQ(s->pattern, "fraud-*");
  EXPECT_EQ(s->ToString(), "invoke:fraud-*");
  EXPECT_EQ(ParseScope("admin")->ToString(), "admin:*");
  EXPECT_TRUE(ParseScope("*:*")->every_action);
  for (const char* bad : {"", "invoke", "invoke:", "write:*", "admin:fraud", "read:a/b",
                          "invoke:a b", "deploy:..", "INVOKE:*", ":*"}) {
    EXPECT_FALSE(ParseScope(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseScope("read:" + std::string(129, 'a')).ok());
}

TEST(ScopeTest, GlobMatchesWholeNames) {
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("fraud-*", "fraud-v2"));
  EXPECT_TRUE(GlobMatch("fraud-*", "fraud-"));
  EXPECT_FALSE(GlobMatch("fraud-*", "fraud"));
  EXPECT_FALSE(GlobMatch("fraud-*", "xfraud-1"));
  EXPECT_TRUE(GlobMatch("*-prod", "kdd-prod"));
  EXPECT_FALSE(GlobMatch("*-prod", "kdd-prod2"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(GlobMatch("*a*b*c*", "xxaxxcxxbxx"));
  EXPECT_TRUE(GlobMatch("kdd99", "kdd99"));
  EXPECT_FALSE(GlobMatch("kdd99", "KDD99")) << "function names are case-sensitive";
  EXPECT_FALSE(GlobMatch("", "a"));
  // Many stars over a long non-matching name: linear-ish, never exponential.
  EXPECT_FALSE(GlobMatch(std::string(60, '*') + "b", std::string(64, 'a')));
}

TEST(ScopeTest, ASetAllowsOnlyWhatItSays) {
  auto set = ScopeSet::Parse({"invoke:fraud-*", "read:*"});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->Allows(Action::kInvoke, "fraud-1"));
  EXPECT_FALSE(set->Allows(Action::kInvoke, "kdd99"));
  EXPECT_FALSE(set->Allows(Action::kDeploy, "fraud-1"));
  EXPECT_TRUE(set->Allows(Action::kRead, "kdd99"));
  EXPECT_TRUE(set->AllowsAll(Action::kRead));
  EXPECT_FALSE(set->AllowsAll(Action::kInvoke));
  EXPECT_FALSE(set->Allows(Action::kAdmin, "x"));
  auto narrow = ScopeSet::Parse({"read:k*"});
  EXPECT_FALSE(narrow->AllowsAll(Action::kRead)) << "read:k* is not read:*";
  EXPECT_TRUE(ScopeSet::Everything().AllowsAll(Action::kAdmin));
  EXPECT_FALSE(ScopeSet().Allows(Action::kInvoke, "x"));
}

// ---- rate limits ---------------------------------------------------------------------------

TEST(RateLimiterTest, BurstOfTwiceTheRateThenTheRate) {
  FakeClock clock;
  RateLimiter limiter(clock);
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += limiter.Admit("AKIA1", 10);
  EXPECT_EQ(admitted, 20) << "burst = 2 x rate";
  clock.Advance(std::chrono::milliseconds(500));  // refills 5
  admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += limiter.Admit("AKIA1", 10);
  EXPECT_EQ(admitted, 5);
  EXPECT_TRUE(limiter.Admit("AKIA2", 10)) << "buckets are per key";
  clock.Advance(std::chrono::hours(1));
  admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += limiter.Admit("AKIA1", 10);
  EXPECT_EQ(admitted, 20) << "never more than the burst, however long the pause";
}

TEST(RateLimiterTest, ASlowRateStillAdmitsOne) {
  FakeClock clock;
  RateLimiter limiter(clock);
  EXPECT_TRUE(limiter.Admit("k", 0.1));
  EXPECT_FALSE(limiter.Admit("k", 0.1));
  clock.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(limiter.Admit("k", 0.1));
}

// ---- the server key ------------------------------------------------------------------------

TEST(ServerKeyTest, SealsAndOpensBoundToItsOwner) {
  TempDir dir;
  const mode_t old = ::umask(0);  // the file is 0600 whatever the umask
  auto key = ServerKey::Open(dir.path() / "server.key", /*create=*/true);
  ::umask(old);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(ModeOf(dir.path() / "server.key"), 0600u);
  auto box = key->Seal("the secret", "AKIAAAAAAAAAAAAAAAAA");
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(box->find("the secret"), std::string::npos) << "sealed, not encoded";
  EXPECT_EQ(*key->Unseal(*box, "AKIAAAAAAAAAAAAAAAAA"), "the secret");
  EXPECT_FALSE(key->Unseal(*box, "AKIABBBBBBBBBBBBBBBB").ok()) << "moved to another key id";
  for (size_t i = 0; i < box->size(); ++i) {
    std::string tampered = *box;
    tampered[i] ^= 1;
    EXPECT_FALSE(key->Unseal(tampered, "AKIAAAAAAAAAAAAAAAAA").ok()) << "byte " << i;
  }
  EXPECT_NE(*key->Seal("the secret", "x"), *key->Seal("the secret", "x")) << "fresh nonces";
  // Reopened, the same key; another key does not open the box.
  auto again = ServerKey::Open(dir.path() / "server.key", /*create=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->Unseal(*box, "AKIAAAAAAAAAAAAAAAAA"), "the secret");
  auto other = ServerKey::Open(dir.path() / "other.key", /*create=*/true);
  EXPECT_FALSE(other->Unseal(*box, "AKIAAAAAAAAAAAAAAAAA").ok());
  EXPECT_NE(again->Derive("label"), other->Derive("label"));
  EXPECT_EQ(again->Derive("label"), key->Derive("label"));
}

TEST(ServerKeyTest, RefusesAKeyOthersMayRead) {
  TempDir dir;
  const fs::path p = dir.path() / "server.key";
  ASSERT_TRUE(ServerKey::Open(p, true).ok());
  ::chmod(p.c_str(), 0644);
  auto st = ServerKey::Open(p, false);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("chmod 600"), std::string::npos) << st.status().message();
  ::chmod(p.c_str(), 0600);
  ASSERT_TRUE(WriteFileAtomic(p, "not a key\n").ok());
  ::chmod(p.c_str(), 0600);
  EXPECT_FALSE(ServerKey::Open(p, false).ok());
  EXPECT_EQ(ServerKey::Open(dir.path() / "absent", false).status().code(), StatusCode::kNotFound);
}

// ---- the store -----------------------------------------------------------------------------

class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = tmp_.path() / "home";
    auto s = AuthStore::Open(home_, clock_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  TempDir tmp_;
  fs::path home_;
  FakeClock clock_;
  std::unique_ptr<AuthStore> store_;
};

TEST_F(AuthStoreTest, CreatesKeysThatLookLikeAwsKeys) {
  auto k = store_->CreateKey("ci", {"invoke:*", "read:kdd*"}, 50);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->key.access_key_id.size(), 20u);
  EXPECT_TRUE(k->key.access_key_id.starts_with("AKIA"));
  for (char c : k->key.access_key_id) EXPECT_TRUE(isupper(c) || (c >= '2' && c <= '7')) << c;
  EXPECT_EQ(k->secret.size(), 40u);
  EXPECT_EQ(k->key.scopes, (std::vector<std::string>{"invoke:*", "read:kdd*"}));
  std::set<std::string> ids{k->key.access_key_id};
  for (int i = 0; i < 20; ++i) {
    ids.insert(store_->CreateKey("k" + std::to_string(i), {"invoke:*"}, 1)->key.access_key_id);
  }
  EXPECT_EQ(ids.size(), 21u);
  auto list = store_->ListKeys();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 21u);
}

TEST_F(AuthStoreTest, SecretsAreSealedAtRestAndTheFilesArePrivate) {
  const mode_t old = ::umask(0);
  TempDir other;
  auto loose = AuthStore::Open(other.path() / "h", clock_);  // created under umask 0
  ASSERT_TRUE(loose.ok());
  auto k = (*loose)->CreateKey("a", {"invoke:*"}, 1);
  ::umask(old);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(ModeOf(other.path() / "h"), 0700u);
  EXPECT_EQ(ModeOf(other.path() / "h" / "registry.db"), 0600u);
  EXPECT_EQ(ModeOf(other.path() / "h" / "server.key"), 0600u);
  // The secret appears nowhere in the database's files.
  for (const char* f : {"registry.db", "registry.db-wal"}) {
    auto bytes = ReadFile(other.path() / "h" / f);
    if (bytes.ok()) {
      EXPECT_EQ(bytes->find(k->secret), std::string::npos) << f;
    }
  }
  // A loosened home is made private again when opened: no read or write for others (a search
  // bit stays, for a gateway at relaxed isolation).
  ::chmod((other.path() / "h").c_str(), 0766);
  ::chmod((other.path() / "h" / "registry.db").c_str(), 0644);
  loose->reset();
  ASSERT_TRUE(AuthStore::Open(other.path() / "h", clock_).ok());
  EXPECT_EQ(ModeOf(other.path() / "h"), 0700u);
  EXPECT_EQ(ModeOf(other.path() / "h" / "registry.db"), 0600u);
  ::chmod((other.path() / "h").c_str(), 0755);
  ASSERT_TRUE(AuthStore::Open(other.path() / "h", clock_).ok());
  EXPECT_EQ(ModeOf(other.path() / "h"), 0711u);
}

TEST_F(AuthStoreTest, LoadsSecretsAndForgetsRevokedOnes) {
  auto a = store_->CreateKey("a", {"invoke:*"}, 1);
  auto b = store_->CreateKey("b", {"read:*"}, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(store_->CreateKey("a", {"invoke:*"}, 1).status().code(), StatusCode::kAlreadyExists);
  auto revoked = store_->RevokeKey("a");  // by name
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->access_key_id, a->key.access_key_id);
  EXPECT_EQ(store_->RevokeKey(a->key.access_key_id).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->RevokeKey("nobody").status().code(), StatusCode::kNotFound);
  auto loaded = store_->LoadKeys();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  for (const auto& k : *loaded) {
    if (k.key.name == "a") {
      EXPECT_FALSE(k.key.active());
      EXPECT_EQ(k.secret, "");
    } else {
      EXPECT_TRUE(k.key.active());
      EXPECT_EQ(k.secret, b->secret);
      EXPECT_EQ(k.key.rate, 2);
    }
  }
  EXPECT_TRUE(store_->LocalToken().has_value());
}

TEST_F(AuthStoreTest, RefusesBadKeyRequests) {
  EXPECT_FALSE(store_->CreateKey("", {"invoke:*"}, 1).ok());
  EXPECT_FALSE(store_->CreateKey("a b", {"invoke:*"}, 1).ok());
  EXPECT_FALSE(store_->CreateKey("a", {}, 1).ok());
  EXPECT_FALSE(store_->CreateKey("a", {"invoke"}, 1).ok());
  EXPECT_FALSE(store_->CreateKey("a", {"invoke:*"}, 0).ok());
  EXPECT_FALSE(store_->CreateKey("a", {"invoke:*"}, -1).ok());
  EXPECT_TRUE(store_->ListKeys()->empty()) << "nothing half-created";
}

TEST_F(AuthStoreTest, AReplacedServerKeyIsAnErrorNotAnOpenDoor) {
  ASSERT_TRUE(store_->CreateKey("a", {"invoke:*"}, 1).ok());
  fs::remove(home_ / "server.key");
  auto fresh = AuthStore::Open(home_, clock_);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE((*fresh)->LoadKeys().ok()) << "keys exist, server key gone";
  ASSERT_TRUE(ServerKey::Open(home_ / "server.key", true).ok());  // a different key
  auto other = AuthStore::Open(home_, clock_);
  auto loaded = (*other)->LoadKeys();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss);
}

TEST_F(AuthStoreTest, AuditLogKeepsOrderAndFilters) {
  for (int i = 0; i < 5; ++i) {
    AuditEntry e;
    e.principal = "local:root";
    e.source = "cli";
    e.action = "A" + std::to_string(i);
    e.resource = "function:f";
    e.result = "ok";
    ASSERT_TRUE(store_->Record(e).ok());
    clock_.Advance(std::chrono::minutes(1));
  }
  auto all = store_->ListAudit({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].action, "A0");
  EXPECT_EQ((*all)[4].action, "A4");
  AuditQuery q;
  q.since = (*all)[3].at;
  EXPECT_EQ(store_->ListAudit(q)->size(), 2u);
  q = {};
  q.limit = 2;
  auto newest = store_->ListAudit(q);
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].action, "A3") << "the newest, oldest first";
}

TEST_F(AuthStoreTest, TheAuditedRegistryRecordsEveryWriteAndItsOutcome) {
  auto reg = registry::OpenRegistry(home_);
  ASSERT_TRUE(reg.ok());
  AuditedRegistry audited(**reg, *store_, "local:tester", "cli");
  EXPECT_FALSE(audited.DeleteFunction("absent").ok());
  EXPECT_FALSE(audited.PublishVersion("absent", "").ok());
  EXPECT_TRUE(audited.ListFunctions().ok());  // a read: not recorded
  auto log = store_->ListAudit({});
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].action, "DeleteFunction");
  EXPECT_EQ((*log)[0].resource, "function:absent");
  EXPECT_EQ((*log)[0].result, "error");
  EXPECT_NE((*log)[0].detail, "");
  EXPECT_EQ((*log)[0].principal, "local:tester");
  EXPECT_EQ((*log)[1].action, "PublishVersion");
}

// ---- the guard (Bearer tokens, modes, limits; SigV4 is in sigv4_test and the gateway tests) --

class FakeKeys : public KeySource {
 public:
  StatusOr<std::vector<KeyWithSecret>> LoadKeys() override {
    ++loads;
    if (!error.ok()) return error;
    return keys;
  }
  std::optional<std::string> LocalToken() override { return local; }
  void Add(const std::string& id, const std::string& secret, std::vector<std::string> scopes,
           double rate = 1000) {
    KeyWithSecret k;
    k.key.access_key_id = id;
    k.key.name = "n-" + id;
    k.key.scopes = std::move(scopes);
    k.key.rate = rate;
    k.secret = secret;
    keys.push_back(k);
  }
  std::vector<KeyWithSecret> keys;
  std::optional<std::string> local = "localtoken";
  Status error;
  int loads = 0;
};

struct Req {
  std::vector<std::pair<std::string, std::string>> fields;
  HttpRequestView View() const {
    HttpRequestView v;
    v.method = "POST";
    v.target = "/2015-03-31/functions/f/invocations";
    for (const auto& [k, val] : fields) v.headers.emplace_back(k, val);
    return v;
  }
};

Req Bearer(const std::string& token) { return Req{{{"Authorization", "Bearer " + token}}}; }

const Denial* DenialOf(const std::variant<Principal, Denial>& r) { return std::get_if<Denial>(&r); }

TEST(GuardTest, OpenUntilTheFirstKeyOnLoopbackThenEnforced) {
  FakeClock clock;
  FakeKeys keys;
  auto g = Guard::Create(keys, clock, {});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE((*g)->enforced());
  auto anon = (*g)->Authenticate(Req{}.View());
  ASSERT_FALSE(DenialOf(anon));
  EXPECT_TRUE(std::get<Principal>(anon).scopes.AllowsAll(Action::kDeploy));
  keys.Add("AKIAAAAAAAAAAAAAAAAA", "s3cret", {"invoke:f"});
  ASSERT_TRUE((*g)->Refresh().ok());
  EXPECT_TRUE((*g)->enforced());
  auto none = (*g)->Authenticate(Req{}.View());
  ASSERT_TRUE(DenialOf(none));
  EXPECT_EQ(DenialOf(none)->status, 401);
  // A revoked key still keeps authentication on.
  keys.keys[0].key.revoked_at = "2026-01-01T00:00:00.000Z";
  keys.keys[0].secret.clear();
  ASSERT_TRUE((*g)->Refresh().ok());
  EXPECT_TRUE((*g)->enforced());
}

TEST(GuardTest, ModesRequiredAndDisabled) {
  FakeClock clock;
  FakeKeys keys;
  GuardOptions required;
  required.mode = AuthMode::kRequired;
  auto g = Guard::Create(keys, clock, required);
  EXPECT_TRUE((*g)->enforced()) << "non-loopback: on even without keys";
  EXPECT_EQ(DenialOf((*g)->Authenticate(Req{}.View()))->status, 401);
  keys.Add("AKIAAAAAAAAAAAAAAAAA", "s3cret", {"invoke:f"});
  GuardOptions disabled;
  disabled.mode = AuthMode::kDisabled;
  auto d = Guard::Create(keys, clock, disabled);
  EXPECT_FALSE((*d)->enforced());
  EXPECT_FALSE(DenialOf((*d)->Authenticate(Req{}.View())));
}

TEST(GuardTest, BearerTokensAndTheirFailures) {
  FakeClock clock;
  FakeKeys keys;
  keys.Add("AKIAAAAAAAAAAAAAAAAA", "s3cret", {"invoke:f*"});
  auto g = std::move(Guard::Create(keys, clock, {})).value();
  auto ok = g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:s3cret").View());
  ASSERT_FALSE(DenialOf(ok)) << DenialOf(ok)->message;
  const Principal& p = std::get<Principal>(ok);
  EXPECT_EQ(p.kind, Principal::Kind::kKey);
  EXPECT_EQ(p.Describe(), "key:AKIAAAAAAAAAAAAAAAAA/n-AKIAAAAAAAAAAAAAAAAA");
  EXPECT_FALSE(Guard::Authorize(p, Action::kInvoke, "fraud", "lambda:InvokeFunction"));
  auto denied = Guard::Authorize(p, Action::kInvoke, "kdd99", "lambda:InvokeFunction");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(denied->type, "AccessDeniedException");
  EXPECT_NE(denied->message.find("kdd99"), std::string::npos);
  EXPECT_TRUE(Guard::AuthorizeAll(p, Action::kRead, "mlfaas:GetMetrics"));

  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:wrong").View()))->type,
            "InvalidSignatureException");
  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:s3cre").View()))->type,
            "InvalidSignatureException")
      << "a prefix of the secret is not the secret";
  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("AKIABBBBBBBBBBBBBBBB:s3cret").View()))->type,
            "UnrecognizedClientException");
  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA").View()))->type,
            "IncompleteSignatureException");
  EXPECT_EQ(DenialOf(g->Authenticate(Req{{{"Authorization", "Basic eDp5"}}}.View()))->type,
            "IncompleteSignatureException");
  Req token = Bearer("AKIAAAAAAAAAAAAAAAAA:s3cret");
  token.fields.emplace_back("X-Amz-Security-Token", "abc");
  EXPECT_EQ(DenialOf(g->Authenticate(token.View()))->type, "UnrecognizedClientException");
  // The local CLI's token.
  auto local = g->Authenticate(Bearer("mlfaas-local:localtoken").View());
  ASSERT_FALSE(DenialOf(local));
  EXPECT_EQ(std::get<Principal>(local).kind, Principal::Kind::kLocal);
  EXPECT_TRUE(std::get<Principal>(local).scopes.AllowsAll(Action::kAdmin));
  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("mlfaas-local:guess").View()))->type,
            "UnrecognizedClientException");
}

TEST(GuardTest, RevokedKeysAreRefusedAndNewKeysWorkAtOnce) {
  FakeClock clock;
  FakeKeys keys;
  keys.Add("AKIAAAAAAAAAAAAAAAAA", "s3cret", {"invoke:*"});
  auto g = std::move(Guard::Create(keys, clock, {})).value();
  keys.Add("AKIABBBBBBBBBBBBBBBB", "new", {"invoke:*"});
  // Unknown key: reloaded at once (the last load is older than unknown_key_refresh).
  clock.Advance(std::chrono::milliseconds(150));
  EXPECT_FALSE(DenialOf(g->Authenticate(Bearer("AKIABBBBBBBBBBBBBBBB:new").View())));
  // Unknown keys do not reload more often than that: a flood of made-up ids costs one load.
  const int loads = keys.loads;
  for (int i = 0; i < 100; ++i) g->Authenticate(Bearer("AKIACCCCCCCCCCCCCCCC:x").View());
  EXPECT_EQ(keys.loads, loads);
  keys.keys[0].key.revoked_at = "2026-01-01T00:00:00.000Z";
  keys.keys[0].secret.clear();
  ASSERT_TRUE(g->Refresh().ok());
  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:s3cret").View()))->type,
            "UnrecognizedClientException");
  EXPECT_EQ(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:").View()))->type,
            "UnrecognizedClientException")
      << "a revoked key's empty secret never matches";
  // A failing source keeps the keys it had.
  keys.error = Unavailable("database is locked");
  EXPECT_FALSE(g->Refresh().ok());
  EXPECT_FALSE(DenialOf(g->Authenticate(Bearer("AKIABBBBBBBBBBBBBBBB:new").View())));
}

TEST(GuardTest, RateLimitIsPerKeyWithAModeledError) {
  FakeClock clock;
  FakeKeys keys;
  keys.Add("AKIAAAAAAAAAAAAAAAAA", "a", {"invoke:*"}, 2);
  keys.Add("AKIABBBBBBBBBBBBBBBB", "b", {"invoke:*"}, 2);
  auto g = std::move(Guard::Create(keys, clock, {})).value();
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:a").View()))) << i;
  }
  auto over = g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:a").View());
  ASSERT_TRUE(DenialOf(over));
  EXPECT_EQ(DenialOf(over)->status, 429);
  EXPECT_EQ(DenialOf(over)->type, "TooManyRequestsException");
  EXPECT_EQ(DenialOf(over)->reason, "CallerRateLimitExceeded");
  EXPECT_FALSE(DenialOf(g->Authenticate(Bearer("AKIABBBBBBBBBBBBBBBB:b").View())));
  clock.Advance(std::chrono::milliseconds(500));
  EXPECT_FALSE(DenialOf(g->Authenticate(Bearer("AKIAAAAAAAAAAAAAAAAA:a").View())));
}

TEST(GuardTest, KeysThatCannotBeOpenedStopTheStart) {
  FakeClock clock;
  FakeKeys keys;
  keys.error = DataLoss("server.key replaced");
  EXPECT_FALSE(Guard::Create(keys, clock, {}).ok());
}

}  // namespace
}  // namespace mlfaas::auth
