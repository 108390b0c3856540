#include "common/json.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

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

// JsonCertainlyValid is ValidateJson's fast path: it may only say "valid" for text its slow path
// accepts (no NUL byte, which nlohmann's parser takes for the end, nesting within the limit, and
// nlohmann's verdict), and it must say so for the payloads it exists for.
bool NlohmannAccepts(const std::string& s, int max_depth) {
  return s.find('\0') == std::string::npos && JsonNestingDepth(s, max_depth) <= max_depth &&
         nlohmann::json::accept(s.begin(), s.end());
}

TEST(JsonTest, TheFastCheckIsSureOfCommonPayloads) {
  for (const std::string s :
       {R"({"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450}]})",
        R"({"inputs":[{"name":"x","shape":[2,3],"datatype":"FP64","data":[0.5,-1,2.25]}]})",
        R"( [ true , false , null , "" , {} , [] , -0 , 0.125 ] )",
        R"("\u00e9\ud83d\ude00 \"quoted\" \\ \/ \b\f\n\r\t")",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", R"({"a":{"b":{"c":[[[1]]]}},"d":"e"})",
        "{}", "1", "\"\"", "null"}) {
    EXPECT_TRUE(JsonCertainlyValid(s)) << s;
    EXPECT_TRUE(ValidateJson(s).ok()) << s;
  }
  EXPECT_TRUE(JsonCertainlyValid(Nested(kMaxJsonDepth)));
  EXPECT_FALSE(JsonCertainlyValid(Nested(kMaxJsonDepth + 1)));
}

TEST(JsonTest, TheFastCheckNeverPassesWhatTheParserRefuses) {
  // Hand-picked near misses, each refused by the parser (and so by the fast check).
  const std::vector<std::string> refused = {"",
                                            " ",
                                            "{",
                                            "}",
                                            "[1,]",
                                            "[,1]",
                                            "{\"a\"}",
                                            "{\"a\":}",
                                            "{\"a\":1,}",
                                            "{a:1}",
                                            "{'a':1}",
                                            "01",
                                            "-",
                                            "1.",
                                            ".5",
                                            "+1",
                                            "1e",
                                            "0x10",
                                            "tru",
                                            "nulll",
                                            "[1 2]",
                                            "{\"a\":1 \"b\":2}",
                                            "\"unterminated",
                                            "\"bad \\x escape\"",
                                            "\"\\u12\"",
                                            "\"\\ud800\"",
                                            "\"\\udc00\"",
                                            "\"\\ud800\\u0041\"",
                                            "\"ctrl \x01\"",
                                            "\"tab\there\"",
                                            "\"\xc0\xaf\"",
                                            "\"\xed\xa0\x80\"",
                                            "\"\xf4\x90\x80\x80\"",
                                            "\"\xe2\x82\"",
                                            "\"\xff\"",
                                            std::string("[1]\0", 4),
                                            "[1] x",
                                            "{} {}",
                                            "[1e999]",
                                            "-1e400",
                                            "1E+9999"};
  for (const std::string& s : refused) {
    ASSERT_FALSE(NlohmannAccepts(s, kMaxJsonDepth)) << "not a near miss: " << s;
    EXPECT_FALSE(JsonCertainlyValid(s)) << s;
    EXPECT_FALSE(ValidateJson(s).ok()) << s;
  }
  // Valid, but left to the parser (exponents): ValidateJson still accepts them.
  for (const std::string s : {"1e5", "[2.5E-3]", "{\"a\":-1e+2}"}) {
    EXPECT_TRUE(ValidateJson(s).ok()) << s;
  }
  // Mutations of valid documents (bytes replaced, inserted, removed, cut), and random byte
  // strings over JSON's alphabet: whenever the fast check is sure, the parser agrees; and it is
  // sure of at least the unmutated documents.
  const std::vector<std::string> seeds = {
      R"({"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450}],"k":[true,null,-0.5]})",
      R"(["\u00e9\ud83d\ude00","\\\"",{"":{}},[[]],-12.75,0,false])",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", Nested(20)};
  const std::string alphabet =
      "{}[]\",:\\/ \t\n\r0123456789-+.eEtrufalsn\"abu\x01\x7f\x80\xbf\xc3\xed\xf0\xf4\xff";
  std::mt19937_64 rng(20261127);
  int sure = 0;
  for (int round = 0; round < 60000; ++round) {
    std::string s;
    if (round % 4 == 3) {
      const size_t len = rng() % 24;
      for (size_t k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    } else {
      s = seeds[rng() % seeds.size()];
      const int edits = static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        const size_t at = rng() % s.size();
        switch (rng() % 4) {
          case 0:
            s[at] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            s.insert(s.begin() + static_cast<std::ptrdiff_t>(at),
                     alphabet[rng() % alphabet.size()]);
            break;
          case 2:
            s.erase(at, 1);
            break;
          default:
            s.resize(at);
        }
      }
    }
    for (int depth : {kMaxJsonDepth, 3}) {
      if (JsonCertainlyValid(s, depth)) {
        ++sure;
        ASSERT_TRUE(NlohmannAccepts(s, depth)) << "depth " << depth << ": " << s;
      }
    }
  }
  EXPECT_GT(sure, 1000);
  for (const std::string& s : seeds) EXPECT_TRUE(JsonCertainlyValid(s)) << s;
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
