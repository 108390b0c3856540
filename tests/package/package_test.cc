#include "package/package.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/fs.h"
#include "common/sha256.h"
#include "package/zip_io.h"
#include "testing/sample_manifest.h"

namespace mlfaas::package {
namespace {

namespace fs = std::filesystem;
using internal::BuildZip;
using nlohmann::json;
using sample::SampleManifest;
using ::testing::HasSubstr;

std::string SampleBytes() {
  auto b = PackageBytes(SampleManifest());
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : "";
}

// The manifest JSON as written in a package (digest included).
json WrittenManifest() {
  json j = ToJson(SampleManifest());
  j["digest"] = ComputeDigest(j);
  return j;
}

std::string ZipOf(const json& manifest) {
  auto z = BuildZip({{"manifest.json", manifest.dump(), 0644}});
  EXPECT_TRUE(z.ok());
  return *z;
}

TEST(PackageTest, RoundTripThroughFile) {
  TempDir dir;
  const fs::path p = dir.path() / "model.zip";
  ASSERT_TRUE(WritePackage(p, SampleManifest()).ok());
  auto m = ReadPackage(p);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "kdd99-anomaly");
  EXPECT_EQ(m->model.coef, SampleManifest().model.coef);
  EXPECT_EQ(m->digest, WrittenManifest()["digest"]);
  EXPECT_TRUE(IsSha256Hex(m->digest));
}

TEST(PackageTest, IdenticalInputGivesIdenticalDigestAndBytes) {
  Manifest a = SampleManifest();
  Manifest b = SampleManifest();
  b.created_at = "2031-12-31T23:59:59Z";
  auto ma = ReadPackageBytes(*PackageBytes(a));
  auto mb = ReadPackageBytes(*PackageBytes(b));
  ASSERT_TRUE(ma.ok() && mb.ok());
  EXPECT_EQ(ma->digest, mb->digest);
  EXPECT_EQ(*PackageBytes(a), *PackageBytes(a));
  b.model.intercept += 1e-9;
  EXPECT_NE(ReadPackageBytes(*PackageBytes(b))->digest, ma->digest);
}

TEST(PackageTest, NotAZip) {
  auto m = ReadPackageBytes("duration,src_bytes\n1,2\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(m.status().message(), "not a zip file");
}

TEST(PackageTest, Truncated) {
  std::string bytes = SampleBytes();
  auto m = ReadPackageBytes(std::string_view(bytes).substr(0, bytes.size() - 30));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("truncated or corrupted zip"));
}

TEST(PackageTest, CorruptedData) {
  std::string bytes = SampleBytes();
  // Local header is 30 bytes + "manifest.json"; flip bytes inside the deflated data.
  for (size_t i = 50; i < 60; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  auto m = ReadPackageBytes(bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("corrupted zip: reading manifest.json"));
}

TEST(PackageTest, TamperedContentFailsDigest) {
  json j = WrittenManifest();
  j["coefficients"][1] = 9.0;  // digest left as it was
  auto m = ReadPackageBytes(ZipOf(j));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("digest mismatch"));
}

TEST(PackageTest, UnknownFormatVersion) {
  json j = WrittenManifest();
  j["format_version"] = 7;
  auto m = ReadPackageBytes(ZipOf(j));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("unsupported package format_version 7"));
}

TEST(PackageTest, MissingFieldIsNamed) {
  json j = WrittenManifest();
  j.erase("training_data_sha256");
  auto m = ReadPackageBytes(ZipOf(j));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "manifest field 'training_data_sha256' is missing");
}

TEST(PackageTest, MissingDigest) {
  json j = WrittenManifest();
  j.erase("digest");
  auto m = ReadPackageBytes(ZipOf(j));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "manifest field 'digest' is missing");
}

TEST(PackageTest, NoManifestAndBadJson) {
  auto m = ReadPackageBytes(*BuildZip({{"readme.txt", "hi", 0644}}));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "package has no manifest.json");
  m = ReadPackageBytes(*BuildZip({{"manifest.json", "{not json", 0644}}));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("manifest.json is not valid JSON"));
}

TEST(PackageTest, MissingFileNamesPath) {
  auto m = ReadPackage("/nonexistent/p.zip");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "cannot read /nonexistent/p.zip: no such file");
}

TEST(PackageTest, ReadManifestFileChecksDigest) {
  TempDir dir;
  const fs::path p = dir.path() / "manifest.json";
  ASSERT_TRUE(WriteFileAtomic(p, WrittenManifest().dump()).ok());
  auto m = ReadManifestFile(p);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json j = WrittenManifest();
  j["threshold"] = 0.1;
  ASSERT_TRUE(WriteFileAtomic(p, j.dump()).ok());
  m = ReadManifestFile(p);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("digest mismatch"));
}

TEST(PackageTest, InspectModelPackage) {
  TempDir dir;
  const fs::path p = dir.path() / "m.zip";
  ASSERT_TRUE(WritePackage(p, SampleManifest()).ok());
  auto info = InspectCode(p);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->manifest.has_value());
  EXPECT_FALSE(info->has_bootstrap);
  EXPECT_EQ(info->sha256, *Sha256File(p));
}

TEST(PackageTest, InspectCustomRuntime) {
  TempDir dir;
  const fs::path p = dir.path() / "c.zip";
  ASSERT_TRUE(WriteFileAtomic(p, *BuildZip({{"bootstrap", "#!/bin/sh\n", 0755}})).ok());
  auto info = InspectCode(p);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->has_bootstrap);
  EXPECT_FALSE(info->manifest.has_value());

  ASSERT_TRUE(WriteFileAtomic(p, *BuildZip({{"bootstrap", "#!/bin/sh\n", 0644}})).ok());
  info = InspectCode(p);
  ASSERT_FALSE(info.ok());
  EXPECT_THAT(info.status().message(), HasSubstr("bootstrap is not executable"));

  ASSERT_TRUE(WriteFileAtomic(p, *BuildZip({{"handler.py", "x", 0644}})).ok());
  info = InspectCode(p);
  ASSERT_FALSE(info.ok());
  EXPECT_THAT(info.status().message(),
              HasSubstr("neither manifest.json nor an executable bootstrap"));
}

TEST(PackageTest, ExtractKeepsExecutableBit) {
  TempDir dir;
  const fs::path p = dir.path() / "c.zip";
  ASSERT_TRUE(WriteFileAtomic(
                  p, *BuildZip({{"bootstrap", "#!/bin/sh\n", 0755}, {"lib/data.txt", "x", 0644}}))
                  .ok());
  const fs::path out = dir.path() / "out";
  fs::create_directory(out);
  ASSERT_TRUE(ExtractPackage(p, out).ok());
  struct stat st;
  ASSERT_EQ(::stat((out / "bootstrap").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(*ReadFile(out / "lib/data.txt"), "x");
}

TEST(PackageTest, ExtractRejectsEscapingPaths) {
  TempDir dir;
  const fs::path out = dir.path() / "out";
  fs::create_directory(out);
  for (const char* bad : {"../evil", "/abs/evil", "a/../../evil"}) {
    const fs::path p = dir.path() / "bad.zip";
    ASSERT_TRUE(WriteFileAtomic(p, *BuildZip({{bad, "x", 0644}})).ok());
    Status st = ExtractPackage(p, out);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.message(), std::string("unsafe path in zip: '") + bad + "'");
  }
  EXPECT_FALSE(fs::exists(dir.path() / "evil"));
}

}  // namespace
}  // namespace mlfaas::package
