#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace mlfaas::registry
