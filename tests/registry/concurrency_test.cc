// N real processes (fork) publishing the same function at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "registry/pg_db.h"
#include "registry/registry_fixture.h"

namespace mlfaas::registry {
namespace {

constexpr int kChildren = 8;
constexpr int kRounds = 10;

// Child body: update-config + publish in a loop, one reported version per line. Exit code 0
// on success, 10+ on the failing step. Never returns.
[[noreturn]] void ChildMain(const std::filesystem::path& home, const RegistryLocation& where,
                            int child, const std::filesystem::path& out) {
  auto reg = OpenRegistry(home, where);
  if (!reg.ok()) _exit(10);
  std::ofstream log(out);
  for (int i = 0; i < kRounds; ++i) {
    auto f = (*reg)->GetFunction("f");
    if (!f.ok()) _exit(11);
    FunctionConfig c = f->latest.config;
    c.memory_mb = 128 + child * 20 + i;  // unique per (child, round)
    if (!(*reg)->UpdateConfig("f", c).ok()) _exit(12);
    auto v = (*reg)->PublishVersion("f", "c" + std::to_string(child) + "-" + std::to_string(i));
    if (!v.ok()) _exit(13);
    log << v->version << "\n";
  }
  log.close();
  _exit(log ? 0 : 14);
}

// Waits for every child for up to 120 s, then kills the rest; returns the exit codes.
std::vector<int> ReapAll(const std::vector<pid_t>& pids) {
  std::vector<int> codes(pids.size(), -1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    while (waitpid(pids[i], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return codes;
}

std::string QueryText(const std::filesystem::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out += t ? reinterpret_cast<const char*>(t) : "NULL";
      out += ";";
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// One text column of `sql` on the test's PostgreSQL database, rows joined as QueryText does.
std::string PgQueryText(const std::string& url, const char* sql) {
  auto db = PgDb::Connect(url);
  if (!db.ok()) return db.status().ToString();
  auto rows = (*db)->Exec(sql);
  if (!rows.ok()) return rows.status().ToString();
  std::string out;
  for (int i = 0; i < rows->size(); ++i) out += rows->Text(i, 0) + ";";
  return out;
}

using ConcurrentPublishTest = RegistryFixture;
INSTANTIATE_TEST_SUITE_P(Backends, ConcurrentPublishTest, ::testing::ValuesIn(kBackends),
                         BackendName);

TEST_P(ConcurrentPublishTest, ProcessesNeverShareAVersionNumber) {
  Create("f");
  reg_.reset();  // no open connection crosses fork()
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ChildMain(home(), location(), c, dir_.path() / ("child" + std::to_string(c)));
    pids.push_back(pid);
  }
  std::vector<int> codes = ReapAll(pids);
  for (int c = 0; c < kChildren; ++c) EXPECT_EQ(codes[c], 0) << "child " << c;

  std::set<int> reported;
  for (int c = 0; c < kChildren; ++c) {
    std::ifstream in(dir_.path() / ("child" + std::to_string(c)));
    int lines = 0;
    for (int v; in >> v; ++lines) reported.insert(v);
    EXPECT_EQ(lines, kRounds) << "child " << c;
  }
  Reopen();
  auto versions = reg_->ListVersions("f");
  ASSERT_TRUE(versions.ok());
  std::vector<VersionInfo> published(versions->begin() + 1, versions->end());  // drop $LATEST
  // Contiguous 1..N, every one reported by the process that created it, N <= all publishes.
  ASSERT_FALSE(published.empty());
  ASSERT_LE(published.size(), static_cast<size_t>(kChildren * kRounds));
  std::set<std::string> descriptions;
  for (size_t i = 0; i < published.size(); ++i) {
    EXPECT_EQ(published[i].version, std::to_string(i + 1));
    descriptions.insert(published[i].description);
    // Idempotent publish: adjacent versions always differ.
    if (i > 0) {
      EXPECT_NE(published[i].config.memory_mb, published[i - 1].config.memory_mb);
    }
  }
  EXPECT_EQ(descriptions.size(), published.size());
  EXPECT_EQ(reported.size(), published.size());
  EXPECT_EQ(*reported.begin(), 1);
  EXPECT_EQ(*reported.rbegin(), static_cast<int>(published.size()));
  if (GetParam() == Backend::kPostgres) {
    // The database enforces what the test saw: keys unique, references intact.
    EXPECT_EQ(PgQueryText(pg_url_, "SELECT count(*) - count(DISTINCT number) FROM versions"), "0;");
    EXPECT_EQ(PgQueryText(pg_url_, "SELECT next_version FROM functions WHERE name = 'f'"),
              std::to_string(published.size() + 1) + ";");
    return;
  }
  std::filesystem::path db = home() / "registry.db";
  EXPECT_EQ(QueryText(db, "PRAGMA integrity_check"), "ok;");
  EXPECT_EQ(QueryText(db, "PRAGMA foreign_key_check"), "");
  EXPECT_EQ(QueryText(db, "SELECT next_version FROM functions WHERE name = 'f'"),
            std::to_string(published.size() + 1) + ";");
}

TEST_P(ConcurrentPublishTest, ThreadsShareOneRegistry) {
  Create("f");
  ASSERT_EQ(PublishWithMemory("f", 256), "1");
  ASSERT_TRUE(reg_->CreateAlias({"f", "live", "1", std::nullopt, 0.0, ""}).ok());
  constexpr int kThreads = 4;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (!reg_->Resolve("f", "live", 0.5).ok()) ++failures[t];
        FunctionConfig c;
        c.memory_mb = 300 + t * 20 + i;
        if (!reg_->UpdateConfig("f", c).ok() || !reg_->PublishVersion("f", "").ok()) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  auto versions = reg_->ListVersions("f");
  ASSERT_TRUE(versions.ok());
  for (size_t i = 1; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].version, std::to_string(i));
  }
  EXPECT_GT(versions->size(), 2u);
}

}  // namespace
}  // namespace mlfaas::registry
