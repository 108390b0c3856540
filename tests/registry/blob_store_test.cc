#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "common/fs.h"
#include "common/sha256.h"
#include "registry/fs_blob_store.h"

namespace mlfaas::registry {
namespace {
namespace fs = std::filesystem;

size_t CountFiles(const fs::path& root) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(FsBlobStoreTest, PutStoresUnderContentAddressAndGetRoundTrips) {
  TempDir dir;
  FsBlobStore store(dir.path());
  auto digest = store.Put("hello blob");
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, Sha256Hex("hello blob"));
  fs::path expected = dir.path() / "sha256" / digest->substr(0, 2) / *digest;
  EXPECT_EQ(store.PathOf(*digest), expected);
  EXPECT_TRUE(fs::is_regular_file(expected));
  EXPECT_TRUE(store.Contains(*digest));
  auto bytes = store.Get(*digest);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "hello blob");
}

TEST(FsBlobStoreTest, PutIsIdempotentAndLeavesNoTempFiles) {
  TempDir dir;
  FsBlobStore store(dir.path());
  auto a = store.Put("same bytes");
  auto b = store.Put("same bytes");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(CountFiles(dir.path()), 1u);  // one blob, no leftover temp files
}

TEST(FsBlobStoreTest, TamperedBlobIsDataLoss) {
  TempDir dir;
  std::string digest;
  {
    FsBlobStore store(dir.path());
    digest = *store.Put("original content");
    std::ofstream(store.PathOf(digest), std::ios::binary | std::ios::trunc) << "tampered";
  }
  FsBlobStore fresh(dir.path());  // no verification cache
  auto got = fresh.Get(digest);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("does not match its digest"), std::string::npos);
  EXPECT_EQ(fresh.VerifiedPath(digest).status().code(), StatusCode::kDataLoss);
}

TEST(FsBlobStoreTest, PutRepairsACorruptedCopy) {
  TempDir dir;
  FsBlobStore store(dir.path());
  std::string digest = *store.Put("content");
  std::ofstream(store.PathOf(digest), std::ios::binary | std::ios::trunc) << "garbage";
  FsBlobStore fresh(dir.path());
  ASSERT_TRUE(fresh.Put("content").ok());
  auto got = fresh.Get(digest);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "content");
}

TEST(FsBlobStoreTest, MissingBlobIsNotFoundAndBadDigestIsInvalid) {
  TempDir dir;
  FsBlobStore store(dir.path());
  auto missing = store.Get(Sha256Hex("never stored"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(store.Contains(Sha256Hex("never stored")));
  auto bad = store.Get("../../etc/passwd");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.VerifiedPath("xyz").status().code(), StatusCode::kInvalidArgument);
}

TEST(FsBlobStoreTest, VerifiedPathPointsAtIntactBlob) {
  TempDir dir;
  FsBlobStore store(dir.path());
  std::string digest = *store.Put("zip bytes");
  auto path = store.VerifiedPath(digest);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*ReadFile(*path), "zip bytes");
}

// Gateways sharing a blob directory may store the same package at the same moment: each writes
// its own temp file and renames it, so every reader sees a whole blob and no temp file stays.
TEST(FsBlobStoreTest, ProcessesStoringTheSameBlobAtOnce) {
  TempDir dir;
  const std::string bytes(4 << 20, 'm');
  const std::string digest = Sha256Hex(bytes);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> pids;
  for (int c = 0; c < 4; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      char b;
      (void)!read(go[0], &b, 1);  // released together when the parent closes the pipe
      FsBlobStore store(dir.path());
      for (int i = 0; i < 5; ++i) {
        auto d = store.Put(bytes);
        if (!d.ok() || *d != digest) _exit(1);
        // Whole or absent (another child removed it), never partial or corrupt.
        auto got = store.Get(digest);
        if (got.ok() ? *got != bytes : got.status().code() != StatusCode::kNotFound) _exit(2);
        std::error_code ec;
        fs::remove(store.PathOf(digest), ec);  // so the next Put writes again
      }
      _exit(store.Put(bytes).ok() ? 0 : 3);
    }
    pids.push_back(pid);
  }
  close(go[0]);
  close(go[1]);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  FsBlobStore store(dir.path());
  auto got = store.Get(digest);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), bytes.size());
  EXPECT_EQ(CountFiles(dir.path()), 1u);  // the blob, no temp file
}

}  // namespace
}  // namespace mlfaas::registry
