#include "runtime/loop.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "runtime/fake_transport.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::FakeTransport;

Response Echo(const Invocation& inv) {
  if (inv.payload == "fail") return Response::Error("Bad", "it failed");
  if (inv.payload == "throw") throw std::runtime_error("boom");
  if (inv.payload == "fatal") return Response::FatalError("InitError", "cannot load");
  return Response::Success("<" + inv.payload + ">");
}

TEST(RunLoopTest, PostsEachResultUntilRuntimeApiGoesAway) {
  FakeTransport t;
  t.Add("a");
  t.Add("b");
  LoopStats stats;
  Status st = RunLoop(t, Echo, {}, &stats);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  ASSERT_EQ(t.posts.size(), 2u);
  EXPECT_EQ(t.posts[0].kind, "response");
  EXPECT_EQ(t.posts[0].request_id, "req-0");
  EXPECT_EQ(t.posts[0].body, "<a>");
  EXPECT_EQ(t.posts[1].request_id, "req-1");
  EXPECT_EQ(t.posts[1].body, "<b>");
  EXPECT_EQ(stats.invocations, 2u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_EQ(t.next_calls, 3);
}

TEST(RunLoopTest, HandlerErrorIsPostedAsFunctionError) {
  FakeTransport t;
  t.Add("fail");
  t.Add("ok");
  LoopStats stats;
  (void)RunLoop(t, Echo, {}, &stats);
  ASSERT_EQ(t.posts.size(), 2u);
  EXPECT_EQ(t.posts[0].kind, "error");
  EXPECT_EQ(json::parse(t.posts[0].body),
            json({{"errorType", "Bad"}, {"errorMessage", "it failed"}}));
  EXPECT_EQ(t.posts[1].kind, "response");
  EXPECT_EQ(stats.errors, 1u);
}

TEST(RunLoopTest, EscapingExceptionBecomesHandlerException) {
  FakeTransport t;
  t.Add("throw");
  t.Add("ok");
  (void)RunLoop(t, Echo);
  ASSERT_EQ(t.posts.size(), 2u);
  json body = json::parse(t.posts[0].body);
  EXPECT_EQ(body["errorType"], "HandlerException");
  EXPECT_EQ(body["errorMessage"], "boom");
  EXPECT_EQ(t.posts[1].body, "<ok>");
}

TEST(RunLoopTest, FatalErrorIsPostedThenEndsTheLoop) {
  FakeTransport t;
  t.Add("fatal");
  t.Add("never");
  Status st = RunLoop(t, Echo);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("cannot load"), std::string::npos);
  ASSERT_EQ(t.posts.size(), 1u);
  EXPECT_EQ(json::parse(t.posts[0].body)["errorType"], "InitError");
  EXPECT_EQ(t.next_calls, 1);
}

TEST(RunLoopTest, RejectedPostIsSkippedAndLoopGoesOn) {
  FakeTransport t;
  t.post_status = InvalidArgument("runtime API answered 413");
  t.Add("a");
  t.Add("b");
  Status st = RunLoop(t, Echo);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);  // ended by Next(), not by the posts
  EXPECT_EQ(t.posts.size(), 2u);
}

TEST(RunLoopTest, LostConnectionOnPostEndsTheLoop) {
  FakeTransport t;
  t.post_status = Unavailable("connection reset");
  t.Add("a");
  t.Add("b");
  Status st = RunLoop(t, Echo);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "connection reset");
  EXPECT_EQ(t.posts.size(), 1u);
}

TEST(RunLoopTest, MaxInvocationsBoundsTheLoop) {
  FakeTransport t;
  for (int i = 0; i < 5; ++i) t.Add("x");
  LoopOptions options;
  options.max_invocations = 3;
  Status st = RunLoop(t, Echo, options);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(t.posts.size(), 3u);
}

TEST(ErrorBodyTest, IsValidJsonEvenForInvalidUtf8) {
  std::string body = ErrorBody("InvalidInput", "bad byte \xff here \"quoted\"");
  json j = json::parse(body);
  EXPECT_EQ(j["errorType"], "InvalidInput");
  EXPECT_NE(j["errorMessage"].get<std::string>().find("\"quoted\""), std::string::npos);
}

}  // namespace
}  // namespace mlfaas::runtime
