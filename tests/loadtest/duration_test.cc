#include "loadtest/duration.h"

#include <gtest/gtest.h>

namespace mlfaas::loadtest {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(DurationTest, ParsesUnitsAndCombinations) {
  struct Case {
    const char* text;
    Duration want;
  } cases[] = {
      {"3m", minutes(3)},
      {"90s", seconds(90)},
      {"500ms", milliseconds(500)},
      {"1h", minutes(60)},
      {"1m30s", seconds(90)},
      {"2", seconds(2)},
      {"1.5s", milliseconds(1500)},
      {"0s", Duration(0)},
      {"250us", std::chrono::microseconds(250)},
  };
  for (const auto& c : cases) {
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(DurationTest, RejectsGarbage) {
  for (const char* bad : {"", "m", "3x", "-1s", "1..2s", "3 m", "ms5"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find("expected"), std::string::npos);
    }
  }
}

TEST(DurationTest, FormatsShortestForm) {
  EXPECT_EQ(FormatDuration(minutes(61)), "1h1m");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
}

}  // namespace
}  // namespace mlfaas::loadtest
