#include "common/fs.h"

#include <gtest/gtest.h>

namespace mlfaas {
namespace {

TEST(FsTest, AtomicWriteReplacesWholeFileAndLeavesNoTemp) {
  TempDir dir;
  auto p = dir.path() / "blob";
  ASSERT_TRUE(WriteFileAtomic(p, "first version").ok());
  ASSERT_TRUE(WriteFileAtomic(p, "2").ok());
  EXPECT_EQ(*ReadFile(p), "2");
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(FsTest, ErrorsAreValues) {
  TempDir dir;
  EXPECT_EQ(ReadFile(dir.path() / "nope").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(WriteFileAtomic(dir.path() / "no-such-dir" / "f", "x").ok());
}

TEST(FsTest, TempDirIsRemoved) {
  std::filesystem::path p;
  {
    TempDir dir("t");
    p = dir.path();
    ASSERT_TRUE(WriteFileAtomic(p / "a", "x").ok());
  }
  EXPECT_FALSE(std::filesystem::exists(p));
}

}  // namespace
}  // namespace mlfaas
