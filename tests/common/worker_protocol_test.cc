#include "common/worker_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace mlfaas::wire {
namespace {

using namespace std::string_literals;

TEST(WorkerProtocolTest, FramesRoundTripWithRawLastField) {
  std::string buf;
  AppendFrame(buf, FrameType::kResponse, {"req-1", "{\"a\":\0}"s});
  AppendFrame(buf, FrameType::kNext, {});
  Frame f;
  auto used = ParseFrame(buf, &f);
  ASSERT_TRUE(used.ok());
  ASSERT_GT(*used, 0u);
  EXPECT_EQ(f.type, FrameType::kResponse);
  std::string_view fields[2];
  ASSERT_TRUE(SplitFields(f.data, 2, fields));
  EXPECT_EQ(fields[0], "req-1");
  EXPECT_EQ(fields[1], "{\"a\":\0}"s);  // the last field keeps its NULs
  auto next = ParseFrame(std::string_view(buf).substr(*used), &f);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(f.type, FrameType::kNext);
  EXPECT_TRUE(f.data.empty());
  EXPECT_EQ(*used + *next, buf.size());
}

TEST(WorkerProtocolTest, IncompleteFramesNeedMoreBytes) {
  std::string buf;
  AppendFrame(buf, FrameType::kInvocation, {"id", "123", "arn", "trace", "payload"});
  for (size_t n = 0; n < buf.size(); ++n) {
    Frame f;
    auto used = ParseFrame(std::string_view(buf).substr(0, n), &f);
    ASSERT_TRUE(used.ok()) << n;
    EXPECT_EQ(*used, 0u) << "a frame cut at " << n << " bytes parsed";
  }
  Frame f;
  EXPECT_EQ(*ParseFrame(buf, &f), buf.size());
  std::string_view v[5];
  ASSERT_TRUE(SplitFields(f.data, 5, v));
  EXPECT_EQ(v[1], "123");
  EXPECT_EQ(v[4], "payload");
}

TEST(WorkerProtocolTest, RejectsUnknownTypesAndOversizedFrames) {
  Frame f;
  std::string bad_type = "\x02\0\0\0Zx"s;
  EXPECT_EQ(ParseFrame(bad_type, &f).status().code(), StatusCode::kInvalidArgument);
  std::string huge = "\xff\xff\xff\x7fR"s;
  EXPECT_EQ(ParseFrame(huge, &f).status().code(), StatusCode::kInvalidArgument);
  std::string empty = "\0\0\0\0N"s;
  EXPECT_EQ(ParseFrame(empty, &f).status().code(), StatusCode::kInvalidArgument);
}

TEST(WorkerProtocolTest, SplitFieldsNeedsEnoughSeparators) {
  std::string_view out[3];
  EXPECT_FALSE(SplitFields("only-one", 3, out));
  const std::string four = "a\0b\0c\0d"s, three = "x\0\0z"s;  // the views point into these
  EXPECT_TRUE(SplitFields(four, 3, out));
  EXPECT_EQ(out[2], "c\0d"s);
  auto all = SplitAll(three);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1], "");
  EXPECT_EQ(all[2], "z");
}

TEST(WorkerProtocolTest, LaunchFramesCarryVectors) {
  std::string buf;
  AppendFrame(buf, FrameType::kLaunch, std::vector<std::string>{"", "/code", "0", "A=1", "B=2"});
  Frame f;
  ASSERT_GT(*ParseFrame(buf, &f), 0u);
  EXPECT_EQ(f.type, FrameType::kLaunch);
  auto all = SplitAll(f.data);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0], "");
  EXPECT_EQ(all[4], "B=2");
}

}  // namespace
}  // namespace mlfaas::wire
