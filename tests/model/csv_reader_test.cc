#include "model/csv_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "common/fs.h"

namespace mlfaas::model {
namespace {

namespace fs = std::filesystem;

CsvOptions Kdd(bool skip = false) {
  CsvOptions o;
  o.features = {"duration", "src_bytes", "dst_bytes"};
  o.label = "label";
  o.transform = Transform::kLog01;
  o.skip_invalid = skip;
  return o;
}

fs::path WriteGzip(const fs::path& p, const std::string& text) {
  gzFile f = gzopen(p.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  return p;
}

constexpr const char* kGood =
    "label,dst_bytes,src_bytes,duration,extra\n"
    "0,45076,215,0,x\n"
    "1,1.5e3,20,2,y\r\n"
    "\n";

TEST(CsvReaderTest, PlainFileColumnsByName) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "a.csv", kGood).ok());
  auto ds = ReadCsv(dir.path() / "a.csv", Kdd());
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ(ds->rows(), 2u);
  EXPECT_EQ(ds->x, (std::vector<double>{0, 215, 45076, 2, 20, 1500}));
  EXPECT_EQ(ds->y, (std::vector<uint8_t>{0, 1}));
  EXPECT_TRUE(ds->has_label);
}

TEST(CsvReaderTest, GzipFileIsTransparent) {
  TempDir dir;
  auto ds = ReadCsv(WriteGzip(dir.path() / "a.csv.gz", kGood), Kdd());
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->x, (std::vector<double>{0, 215, 45076, 2, 20, 1500}));
}

struct BadCase {
  const char* row;
  const char* reason;
};

class CsvReaderBadRowTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CsvReaderBadRowTest, FailsWithFileAndLine) {
  const std::string text =
      std::string("duration,src_bytes,dst_bytes,label\n0,1,2,0\n") + GetParam().row + "\n0,1,2,1\n";
  auto ds = ParseCsv(text, "d.csv", Kdd());
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ds.status().message(), std::string("d.csv:3: ") + GetParam().reason +
                                       " (use --skip-invalid to drop invalid rows)");
  auto skipped = ParseCsv(text, "d.csv", Kdd(true));
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->rows(), 2u);
  EXPECT_EQ(skipped->invalid_rows, 1u);
  ASSERT_EQ(skipped->invalid_examples.size(), 1u);
  EXPECT_EQ(skipped->invalid_examples[0], std::string("d.csv:3: ") + GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, CsvReaderBadRowTest,
    ::testing::Values(BadCase{"0,,2,0", "column 'src_bytes' is empty"},
                      BadCase{"0,1,2", "expected 4 columns, got 3"},
                      BadCase{"0,abc,2,0", "column 'src_bytes': 'abc' is not a number"},
                      BadCase{"0,12x,2,0", "column 'src_bytes': '12x' is not a number"},
                      BadCase{"nan,1,2,0", "column 'duration' is not finite"},
                      BadCase{"0,1,inf,0", "column 'dst_bytes' is not finite"},
                      BadCase{"0,-5,2,0",
                              "column 'src_bytes' is negative (-5); log transform needs >= 0"},
                      BadCase{"0,1,2,2", "label 'label' must be 0 or 1, got 2"}));

TEST(CsvReaderTest, NegativeAllowedWithoutLog) {
  CsvOptions o = Kdd();
  o.transform = Transform::kNone;
  auto ds = ParseCsv("duration,src_bytes,dst_bytes,label\n-1,1,2,0\n", "d.csv", o);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(ds->x[0], -1);
}

TEST(CsvReaderTest, MissingColumnsAndFiles) {
  auto ds = ParseCsv("duration,src_bytes,label\n0,1,0\n", "d.csv", Kdd());
  EXPECT_EQ(ds.status().message(), "d.csv: column 'dst_bytes' not in header");
  ds = ParseCsv("duration,src_bytes,dst_bytes\n0,1,2\n", "d.csv", Kdd());
  EXPECT_EQ(ds.status().message(), "d.csv: label column 'label' not in header");
  CsvOptions o = Kdd();
  o.label_optional = true;
  ds = ParseCsv("duration,src_bytes,dst_bytes\n0,1,2\n", "d.csv", o);
  ASSERT_TRUE(ds.ok());
  EXPECT_FALSE(ds->has_label);
  EXPECT_TRUE(ds->y.empty());
  EXPECT_EQ(ParseCsv("", "d.csv", Kdd()).status().message(), "d.csv: empty file (no header)");
  auto missing = ReadCsv("/nonexistent/x.csv", Kdd());
  EXPECT_EQ(missing.status().message(),
            "cannot open /nonexistent/x.csv: No such file or directory");
}

TEST(CsvReaderTest, ReadsTheShippedData) {
  auto ds = ReadCsv(MLFAAS_DATA_FILE, Kdd());
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->rows(), 567498u);
  size_t pos = 0;
  for (uint8_t v : ds->y) pos += v;
  EXPECT_EQ(pos, 2211u);
  EXPECT_EQ(ds->invalid_rows, 0u);
}

}  // namespace
}  // namespace mlfaas::model
