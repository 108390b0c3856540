// The usage table (migration 4) through UsageStore on a real SQLite file, and the price
// arithmetic of `mlfaas cost`.
#include "registry/usage_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/fs.h"
#include "registry/registry.h"
#include "registry/schema.h"
#include "registry/usage_prices.h"

namespace mlfaas::registry {
namespace {

constexpr int64_t kHour = 1'700'002'800;  // a multiple of 3600 (2023-11-14T23:00:00Z)

UsageRecord Rec(std::string f, std::string v, int64_t hour, int64_t req, int64_t dur,
                int64_t prov_dur = 0, int64_t prov = 0, int64_t snap = 0) {
  UsageRecord r;
  r.function = std::move(f);
  r.version = std::move(v);
  r.hour = hour;
  r.requests = req;
  r.duration_mb_ms = dur;
  r.provisioned_duration_mb_ms = prov_dur;
  r.provisioned_mb_ms = prov;
  r.snapshot_mb_ms = snap;
  return r;
}

void ExecSql(const std::filesystem::path& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST(UsageHourTest, StartOfUtcHour) {
  EXPECT_EQ(kHour % 3600, 0);
  EXPECT_EQ(UsageHour(kHour * 1000), kHour);
  EXPECT_EQ(UsageHour(kHour * 1000 + 3'599'999), kHour);
  EXPECT_EQ(UsageHour(kHour * 1000 + 3'600'000), kHour + 3600);
  EXPECT_EQ(UsageHour(0), 0);
  EXPECT_EQ(UsageHour(-1), -3600);
}

class UsageStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<UsageStore> Open(int busy_timeout_ms = 2000) {
    auto s = UsageStore::Open(dir_.path() / "home", busy_timeout_ms);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  TempDir dir_{"mlfaas-usage"};
};

TEST_F(UsageStoreTest, AddsUpExactlyAcrossBatchesHoursAndReopens) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Add({Rec("f", "$LATEST", kHour, 2, 512 * 3 + 512 * 5)}).ok());
    ASSERT_TRUE(store
                    ->Add({Rec("f", "$LATEST", kHour, 1, 512 * 7, 0, 0, 11),
                           Rec("f", "1", kHour + 3600, 4, 1024 * 4, 1024, 60'000, 0),
                           Rec("g", "$LATEST", kHour + 7200, 1, 128)})
                    .ok());
    ASSERT_TRUE(store->Add({}).ok());
    ASSERT_TRUE(store->Add({Rec("f", "$LATEST", kHour, 0, 0)}).ok());  // empty: ignored
    EXPECT_EQ(store->pending(), 0u);
  }
  auto store = Open();  // a restart: the rows are on disk
  ASSERT_TRUE(store);
  auto all = store->Query("", 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  const UsageRecord& a = (*all)[0];
  EXPECT_EQ(a.function, "f");
  EXPECT_EQ(a.version, "$LATEST");
  EXPECT_EQ(a.requests, 3);
  EXPECT_EQ(a.duration_mb_ms, 512 * 15);
  EXPECT_EQ(a.snapshot_mb_ms, 11);
  const UsageRecord& b = (*all)[1];
  EXPECT_EQ(b.version, "1");
  EXPECT_EQ(b.requests, 4);
  EXPECT_EQ(b.duration_mb_ms, 4096);
  EXPECT_EQ(b.provisioned_duration_mb_ms, 1024);
  EXPECT_EQ(b.provisioned_mb_ms, 60'000);
  EXPECT_EQ((*all)[2].function, "g");

  auto f = store->Query("f", 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size(), 2u);
  // Since a time inside the second hour: that hour counts whole, the first not at all.
  auto later = store->Query("", (kHour + 3600 + 1800) * 1000);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 2u);
  EXPECT_EQ((*later)[0].version, "1");
  EXPECT_EQ((*later)[1].function, "g");
  auto none = store->Query("nobody", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(UsageStoreTest, RefusesBadRecords) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Add({Rec("f", "1", kHour + 1, 1, 1)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Add({Rec("f", "1", kHour, -1, 1)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->pending(), 0u);
}

TEST_F(UsageStoreTest, FailedWriteStaysPendingAndIsRetriedOnce) {
  auto store = Open(/*busy_timeout_ms=*/50);  // the other connection keeps its lock anyway
  ASSERT_TRUE(store);
  const auto db = dir_.path() / "home" / "registry.db";
  // Another connection holds the write lock: the batch cannot be written now.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_FALSE(store->Add({Rec("f", "1", kHour, 1, 100)}).ok());
  EXPECT_EQ(store->pending(), 1u);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(store->Add({Rec("f", "1", kHour, 2, 50)}).ok());
  EXPECT_EQ(store->pending(), 0u);
  ASSERT_TRUE(store->Add({}).ok());  // nothing left to write twice
  auto rows = store->Query("f", 0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].requests, 3);
  EXPECT_EQ((*rows)[0].duration_mb_ms, 150);
}

TEST_F(UsageStoreTest, SchemaVersion3DatabaseUpgrades) {
  const auto home = dir_.path() / "home";
  {
    auto reg = OpenRegistry(home);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  }
  ASSERT_EQ(LatestSchemaVersion(), 5);
  // What a database written before migration 4 looks like (migration 5's tables go too).
  ExecSql(home / "registry.db",
          "DROP INDEX usage_by_hour; DROP TABLE usage; DROP TABLE datasets; DROP TABLE feedback; "
          "DROP INDEX retrain_runs_by_function; DROP TABLE retrain_runs; DROP TABLE retrain_state; "
          "DROP TABLE canary_deployments; "
          "PRAGMA user_version = 3;");
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Add({Rec("f", "1", kHour, 1, 128)}).ok());
  auto rows = store->Query("", 0);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 1u);
}

TEST(UsagePricesTest, ListPricesAndArithmetic) {
  const LambdaPrices& x86 = PricesFor(Arch::kX86);
  const LambdaPrices& arm = PricesFor(Arch::kArm);
  EXPECT_EQ(x86.name, "x86");
  EXPECT_EQ(arm.name, "arm");
  EXPECT_DOUBLE_EQ(x86.usd_per_million_requests, 0.20);
  EXPECT_DOUBLE_EQ(x86.usd_per_gb_second, 0.0000166667);
  EXPECT_DOUBLE_EQ(arm.usd_per_gb_second, 0.0000133334);
  EXPECT_EQ(ParseArch("x86"), Arch::kX86);
  EXPECT_EQ(ParseArch("arm64"), Arch::kArm);
  EXPECT_FALSE(ParseArch("mips"));

  EXPECT_DOUBLE_EQ(GbSecondsOf(1024 * 1000), 1.0);
  EXPECT_DOUBLE_EQ(GbSecondsOf(512 * 3), 0.0015);

  // One million requests of 1 GB for 1 s each = 1e6 GB-s, on demand.
  UsageRecord u = Rec("f", "1", kHour, 1'000'000, int64_t{1024} * 1000 * 1'000'000);
  UsageCost c = PriceUsage(u, x86);
  EXPECT_DOUBLE_EQ(c.requests, 0.20);
  EXPECT_NEAR(c.duration, 16.6667, 1e-9);
  EXPECT_DOUBLE_EQ(c.provisioned_duration, 0);
  EXPECT_NEAR(c.total(), 16.8667, 1e-9);
  EXPECT_NEAR(PriceUsage(u, arm).total(), 0.20 + 13.3334, 1e-9);

  // Half of it on provisioned instances, plus an hour of one 2 GB provisioned instance and an
  // hour of a 1 GB snapshot.
  u.provisioned_duration_mb_ms = u.duration_mb_ms / 2;
  u.provisioned_mb_ms = int64_t{2048} * 3'600'000;
  u.snapshot_mb_ms = int64_t{1024} * 3'600'000;
  c = PriceUsage(u, x86);
  EXPECT_NEAR(c.duration, 500'000 * 0.0000166667, 1e-9);
  EXPECT_NEAR(c.provisioned_duration, 500'000 * 0.0000097222, 1e-9);
  EXPECT_NEAR(c.provisioned, 7200 * 0.0000041667, 1e-12);
  EXPECT_NEAR(c.snapshot_cache, 3600 * 0.0000015046, 1e-12);
  EXPECT_NEAR(c.total(),
              c.requests + c.duration + c.provisioned_duration + c.provisioned + c.snapshot_cache,
              1e-15);
  EXPECT_DOUBLE_EQ(PriceUsage(UsageRecord{}, x86).total(), 0);
}

}  // namespace
}  // namespace mlfaas::registry
