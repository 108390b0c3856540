// PostgreSQL-only behaviour of PgRegistry: schema_version, connection errors (Unavailable, one
// line, no password), one reconnect, OpenRegistry's choice of backend and blob directory. The
// Registry's rules themselves run on both backends (sqlite_registry_test.cc, alias_test.cc,
// concurrency_test.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/sha256.h"
#include "registry/pg_db.h"
#include "registry/pg_schema.h"
#include "registry/registry_fixture.h"

namespace mlfaas::registry {
namespace {

using PgRegistryTest = PgRegistryFixture;

std::string PgScalar(const std::string& url, const std::string& sql,
                     const std::vector<PgParam>& params = {}) {
  auto db = PgDb::Connect(url);
  if (!db.ok()) return db.status().ToString();
  auto rows = (*db)->Exec(sql, params);
  if (!rows.ok()) return rows.status().ToString();
  return rows->empty() || rows->IsNull(0, 0) ? "" : rows->Text(0, 0);
}

TEST_F(PgRegistryTest, SchemaVersionIsRecordedAndReopenIsNoOp) {
  EXPECT_EQ(PgScalar(pg_url_, "SELECT version FROM schema_version"),
            std::to_string(PgLatestSchemaVersion()));
  Create("f");
  Reopen();
  Reopen();
  EXPECT_EQ(PgScalar(pg_url_, "SELECT count(*) FROM schema_version"), "1");
  EXPECT_TRUE(reg_->GetFunction("f").ok());
}

TEST_F(PgRegistryTest, NewerSchemaIsRefused) {
  reg_.reset();
  EXPECT_EQ(PgScalar(pg_url_, "UPDATE schema_version SET version = 99"), "");
  auto r = OpenNew();
  EXPECT_STATUS(r.status(), StatusCode::kFailedPrecondition, "schema version 99");
}

TEST_F(PgRegistryTest, UserInputIsNeverSql) {
  const std::string nasty = "x'); DROP TABLE functions; --";
  Create("f");
  auto v = reg_->PublishVersion("f", nasty);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->description, nasty);
  AliasInfo a{"f", "live", "1", std::nullopt, 0.0, nasty};
  ASSERT_TRUE(reg_->CreateAlias(a).ok());
  EXPECT_EQ(reg_->GetAlias("f", "live")->description, nasty);
  EXPECT_STATUS(reg_->GetFunction("f' OR '1'='1").status(), StatusCode::kNotFound,
                "function 'f' OR '1'='1' does not exist");
  EXPECT_EQ(reg_->ListFunctions()->size(), 1u);
}

TEST_F(PgRegistryTest, ConnectionErrorsAreUnavailableOneLineWithoutPassword) {
  const std::string secret = "Sup3rS3cret";
  const std::string nowhere = (dir_.path() / "no-server").string();
  for (const std::string& url :
       {"postgres://mlfaas:" + secret + "@/db?host=" + nowhere + "&port=5432",
        "postgresql:///db?host=" + nowhere + "&user=u&password=" + secret,
        "postgres://mlfaas:Sup3r%zzS3cret@/db?host=" + nowhere}) {
    auto r = PgRegistry::Open(url, std::make_unique<FsBlobStore>(home() / "blobs"), clock_);
    ASSERT_FALSE(r.ok()) << url;
    const std::string msg = r.status().message();
    EXPECT_EQ(msg.find("S3cret"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    if (url.find("%zz") == std::string::npos) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << msg;
      EXPECT_NE(msg.find("cannot connect to the registry database"), std::string::npos) << msg;
      EXPECT_NE(msg.find(nowhere), std::string::npos) << msg;  // names where it looked
    }
  }
  EXPECT_EQ(RedactedUrl("postgres://u:p%40ss@h:5/db?sslmode=require"),
            "postgres://u:***@h:5/db?sslmode=require");
  EXPECT_EQ(RedactPassword("bad \"pw!\"\n\tHint", "postgresql://h/d?password=pw!"),
            "bad \"***\"; Hint");
}

// Waits (bounded) until the server has no backend with process id `pid`.
bool BackendGone(const std::string& url, int pid) {
  for (int i = 0; i < 500; ++i) {
    if (PgScalar(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                 {std::to_string(pid)}) == "0") {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(PgRegistryTest, ReconnectsOnceWhenTheConnectionBreaks) {
  Create("f");
  auto* pg = dynamic_cast<PgRegistry*>(reg_.get());
  ASSERT_NE(pg, nullptr);
  const int first = pg->BackendPid();
  EXPECT_EQ(PgScalar(pg_url_, "SELECT pg_terminate_backend($1)", {std::to_string(first)}), "t");
  ASSERT_TRUE(BackendGone(pg_url_, first));
  // The next call finds the connection broken, reconnects and succeeds: a read, then a write.
  auto f = reg_->GetFunction("f");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_NE(pg->BackendPid(), first);
  const int second = pg->BackendPid();
  EXPECT_EQ(PgScalar(pg_url_, "SELECT pg_terminate_backend($1)", {std::to_string(second)}), "t");
  ASSERT_TRUE(BackendGone(pg_url_, second));
  EXPECT_EQ(PublishWithMemory("f", 256), "1");

  // A database that is gone for good: Unavailable, one line, no crash.
  const int third = pg->BackendPid();
  ASSERT_TRUE(testing::PgTestServer::Get().DropDatabase(pg_url_).ok());
  ASSERT_TRUE(BackendGone(testing::PgTestServer::Get().UrlFor("postgres"), third));
  Status st = reg_->GetFunction("f").status();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
}

TEST_F(PgRegistryTest, OpenRegistryUsesPostgresAndTheSharedBlobDir) {
  const std::filesystem::path shared = dir_.path() / "shared-blobs";
  const RegistryLocation where{pg_url_, shared};
  auto a = OpenRegistry(dir_.path() / "home-a", where);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto f = (*a)->CreateFunction("g", model_zip_, {});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const std::string digest = f->latest.code_digest;
  EXPECT_TRUE(std::filesystem::exists(shared / "sha256" / digest.substr(0, 2) / digest));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "home-a" / "registry.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "home-a" / "blobs"));
  // Another home (another gateway) sees the function and its package.
  auto b = OpenRegistry(dir_.path() / "home-b", where);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto path = (*b)->PackagePath((*b)->GetFunction("g")->latest.code_digest);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*Sha256File(*path), digest);
  EXPECT_TRUE(reg_->GetFunction("g").ok());  // the fixture's registry: the same database
  EXPECT_STATUS(OpenRegistry(home(), {"mysql://u:pw@h/db", {}}).status(),
                StatusCode::kInvalidArgument, "must be a postgres:// or postgresql:// URL");
}

}  // namespace
}  // namespace mlfaas::registry
