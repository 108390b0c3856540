#include "common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace mlfaas {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonTest, NestingDepthIgnoresBracketsInStrings) {
  EXPECT_EQ(JsonNestingDepth("1"), 0);
  EXPECT_EQ(JsonNestingDepth(R"({"a":[1,{"b":[]}]})"), 4);
  EXPECT_EQ(JsonNestingDepth(R"(["[[[[\"[[[", {}])"), 2);
  EXPECT_EQ(JsonNestingDepth(Nested(1000), 10), 11);  // stops counting past the limit
}

TEST(JsonTest, DeepNestingIsRefusedBeforeParsing) {
  // 200,000 levels would overflow the stack in any recursive walk (dump, copy, ==).
  auto deep = ParseJson(R"({"instances":)" + Nested(100000) + "}");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.status().message(), "nested deeper than 128 levels");
  EXPECT_FALSE(ValidateJson(Nested(kMaxJsonDepth + 1)).ok());
  auto ok = ParseJson(Nested(kMaxJsonDepth));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(DumpJson(*ok), Nested(kMaxJsonDepth));
}

TEST(JsonTest, TrailingBytesAndNulAreRefused) {
  EXPECT_TRUE(ValidateJson(" {\"a\":1} \n").ok());
  EXPECT_FALSE(ValidateJson(std::string("{\"a\":1}\0junk", 12)).ok());
  EXPECT_FALSE(ParseJson(std::string("{}\0", 3)).ok());
  EXPECT_FALSE(ValidateJson("{} {}").ok());
  EXPECT_FALSE(ValidateJson("").ok());
  auto truncated = ParseJson("{\"a\":");
  ASSERT_FALSE(truncated.ok());
  EXPECT_TRUE(truncated.status().message().starts_with("not valid JSON: parse error at line 1"))
      << truncated.status().message();
}

TEST(JsonTest, AccessorsCheckTypesInsteadOfThrowing) {
  auto j = ParseJson(R"({"s":"x","n":1.5,"i":7,"b":true,"o":{},"big":18446744073709551615})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(JsonString(*j, "s", "d"), "x");
  EXPECT_EQ(JsonString(*j, "n", "d"), "d");  // a number is not a string
  EXPECT_EQ(JsonString(*j, "missing", "d"), "d");
  EXPECT_EQ(JsonNumber(*j, "n"), 1.5);
  EXPECT_EQ(JsonNumber(*j, "s"), std::nullopt);
  EXPECT_EQ(JsonInt(*j, "i"), 7);
  EXPECT_EQ(JsonInt(*j, "n"), std::nullopt);
  EXPECT_EQ(JsonInt(*j, "big"), std::nullopt);  // does not fit int64
  EXPECT_EQ(JsonBool(*j, "b"), true);
  EXPECT_EQ(JsonBool(*j, "o"), std::nullopt);
  // Not an object at all: every accessor falls back.
  nlohmann::json arr = nlohmann::json::array({1, 2});
  EXPECT_EQ(JsonString(arr, "s", "d"), "d");
  EXPECT_EQ(JsonField(arr, "s"), nullptr);
  EXPECT_EQ(JsonField(nlohmann::json(), "s"), nullptr);
}

TEST(JsonTest, DumpReplacesInvalidUtf8) {
  nlohmann::json j = {{"m", std::string("a\xff\xfe"
                                        "b")}};
  EXPECT_EQ(DumpJson(j),
            "{\"m\":\"a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\"}");
}

}  // namespace
}  // namespace mlfaas
