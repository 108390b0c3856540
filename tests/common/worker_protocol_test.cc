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

// Encodes with the typed encoder, parses the frame back and returns its data.
template <typename Append>
std::string FrameData(FrameType expected, Append append) {
  static std::string buf;  // the returned views of a decoder point into this
  buf.clear();
  append(buf);
  Frame f;
  auto used = ParseFrame(buf, &f);
  EXPECT_TRUE(used.ok() && *used == buf.size());
  EXPECT_EQ(f.type, expected);
  return std::string(f.data);
}

TEST(WorkerContractTest, EveryMessageRoundTripsWithNulsInItsLastField) {
  const std::string payload = "{\"a\":\0\"b\"}"s;
  std::string d = FrameData(FrameType::kInvocation, [&](std::string& b) {
    AppendInvocation(b, {"req-1", 1764000000123, "arn:aws:lambda:f", "Root=1", payload});
  });
  auto inv = DecodeInvocation(d);
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->request_id, "req-1");
  EXPECT_EQ(inv->deadline_ms, 1764000000123);
  EXPECT_EQ(inv->function_arn, "arn:aws:lambda:f");
  EXPECT_EQ(inv->trace_id, "Root=1");
  EXPECT_EQ(inv->payload, payload);

  d = FrameData(FrameType::kResponse, [&](std::string& b) { AppendResponse(b, {"r", payload}); });
  auto res = DecodeResponse(d);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->request_id, "r");
  EXPECT_EQ(res->payload, payload);

  d = FrameData(FrameType::kError, [&](std::string& b) { AppendError(b, {"r", "Boom", payload}); });
  auto err = DecodeError(d);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->request_id, "r");
  EXPECT_EQ(err->error_type, "Boom");
  EXPECT_EQ(err->body, payload);

  d = FrameData(FrameType::kInitError, [&](std::string& b) { AppendInitError(b, {"T", ""}); });
  auto init = DecodeInitError(d);
  ASSERT_TRUE(init);
  EXPECT_EQ(init->error_type, "T");
  EXPECT_EQ(init->body, "");

  d = FrameData(FrameType::kNext, [](std::string& b) { AppendNext(b); });
  EXPECT_EQ(d, "");
}

TEST(WorkerContractTest, DecodersRefuseDataWithoutTheirFields) {
  EXPECT_FALSE(
      DecodeInvocation("id\0"
                       "12\0arn\0trace"s));  // 4 fields
  EXPECT_FALSE(
      DecodeInvocation("\0"
                       "12\0arn\0trace\0p"s));  // empty request id
  EXPECT_FALSE(
      DecodeInvocation("id\0"
                       "12x\0arn\0trace\0p"s));
  EXPECT_FALSE(DecodeInvocation("id\0\0arn\0trace\0p"s));
  EXPECT_FALSE(DecodeResponse("no-separator"));
  EXPECT_FALSE(DecodeError("id\0type"s));
  EXPECT_FALSE(DecodeInitError("type-only"));
  EXPECT_FALSE(DecodeLaunch("exe\0cwd"s));
  EXPECT_FALSE(
      DecodeLaunch("exe\0cwd\0-1\0-1\0"
                   "0\0"
                   "2\0one-arg"s));  // argc beyond the fields
  EXPECT_FALSE(
      DecodeLaunch("exe\0cwd\0-1\0-1\0"
                   "0\0-1"s));
  EXPECT_FALSE(
      DecodeLaunch("exe\0cwd\0-1\0-1\0"
                   "0\0"
                   "1x"s));
  EXPECT_FALSE(
      DecodeLaunch("exe\0cwd\0-2\0-1\0"
                   "0\0"
                   "0"s));  // no such uid
  EXPECT_FALSE(
      DecodeLaunch("exe\0cwd\0"
                   "4294967295\0-1\0"
                   "0\0"
                   "0"s));  // (uid_t)-1 is spelled -1
  EXPECT_FALSE(
      DecodeLaunch("exe\0cwd\0-1\0-1\0-5\0"
                   "0"s));  // negative /tmp size
  EXPECT_FALSE(DecodeStemReady("2"));
  EXPECT_FALSE(DecodeStemReady(""));
}

TEST(WorkerContractTest, StemReadySaysWhetherAListenerRidesAlong) {
  for (bool has : {true, false}) {
    std::string d =
        FrameData(FrameType::kStemReady, [&](std::string& b) { AppendStemReady(b, has); });
    EXPECT_EQ(DecodeStemReady(d), std::optional<bool>(has));
  }
}

TEST(WorkerContractTest, LaunchCarriesExecutableArgsAndEnvironment) {
  const LaunchMsg in{
      "/code/bootstrap", "/code", {"--flag", ""}, {"A=1", "B=2"}, 100042, 100043, 512};
  std::string d = FrameData(FrameType::kLaunch, [&](std::string& b) { AppendLaunch(b, in); });
  auto out = DecodeLaunch(d);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->executable, in.executable);
  EXPECT_EQ(out->cwd, in.cwd);
  EXPECT_EQ(out->args, in.args);
  EXPECT_EQ(out->env, in.env);
  EXPECT_EQ(out->uid, 100042);
  EXPECT_EQ(out->gid, 100043);
  EXPECT_EQ(out->tmp_mb, 512);

  // The built-in runtime: no executable, no args; an empty environment stays empty.
  d = FrameData(FrameType::kLaunch, [](std::string& b) { AppendLaunch(b, {"", "/c", {}, {}}); });
  out = DecodeLaunch(d);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->executable, "");
  EXPECT_TRUE(out->args.empty());
  EXPECT_TRUE(out->env.empty());
  EXPECT_EQ(out->uid, -1) << "keep the stem's identity";
  EXPECT_EQ(out->tmp_mb, 0);
}

TEST(WorkerContractTest, RuntimeApiPathsParseWhatTheyPrint) {
  for (RuntimeCall c : {RuntimeCall::kNext, RuntimeCall::kInitError}) {
    EXPECT_EQ(ParseRuntimeApiPath(RuntimeApiTarget(c)).call, c);
  }
  for (RuntimeCall c : {RuntimeCall::kResponse, RuntimeCall::kError}) {
    const std::string target = RuntimeApiTarget(c, "8f1c-id");
    auto p = ParseRuntimeApiPath(target);
    EXPECT_EQ(p.call, c) << target;
    EXPECT_EQ(p.request_id, "8f1c-id");
  }
  EXPECT_EQ(RuntimeApiTarget(RuntimeCall::kNext), "/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(RuntimeApiTarget(RuntimeCall::kResponse, "x"),
            "/2018-06-01/runtime/invocation/x/response");
  for (std::string_view bad :
       {"/2018-06-01/runtime/invocation//response", "/2018-06-01/runtime/invocation/x/y/error",
        "/2018-06-01/runtime/invocation/x", "/2018-06-01/runtime/init/errors",
        "/2015-03-31/runtime/invocation/next", "/2018-06-01/runtime/invocation/next/",
        "/2018-06-01/runtime/invocation/x/respond", ""}) {
    EXPECT_EQ(ParseRuntimeApiPath(bad).call, RuntimeCall::kUnknown) << bad;
  }
}

TEST(WorkerContractTest, WorkerFdEntryNamesTheInheritedDescriptor) {
  EXPECT_EQ(WorkerFdEntry(kRuntimeFdEnv), "MLFAAS_RUNTIME_FD=3");
  EXPECT_EQ(WorkerFdEntry(kStemFdEnv), "MLFAAS_STEM_FD=3");
}

TEST(WorkerContractTest, MaxConcurrencyIsADecimalFrom1To1600) {
  EXPECT_EQ(ParseMaxConcurrency("1"), std::optional<int>(1));
  EXPECT_EQ(ParseMaxConcurrency("2"), std::optional<int>(2));
  EXPECT_EQ(ParseMaxConcurrency("10"), std::optional<int>(10));
  EXPECT_EQ(ParseMaxConcurrency("1600"), std::optional<int>(kMaxConcurrencyPerInstance));
  for (std::string_view bad : {"", "0", "00", "05", "+5", "-5", " 5", "5 ", "1601", "9999", "16000",
                               "abc", "1e3", "0x10"}) {
    EXPECT_EQ(ParseMaxConcurrency(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseMaxConcurrency("5\0"s), std::nullopt);
  EXPECT_EQ(std::string(kMaxConcurrencyEnv), "AWS_LAMBDA_MAX_CONCURRENCY");
}

TEST(WorkerContractTest, PipelinedNextCarriesMaxInFlight) {
  for (int n : {1, 2, 64, 1600}) {
    std::string buf;
    AppendPipelinedNext(buf, n);
    Frame f;
    auto used = ParseFrame(buf, &f);
    ASSERT_TRUE(used.ok());
    EXPECT_EQ(*used, buf.size());
    EXPECT_EQ(f.type, FrameType::kPipelinedNext);
    EXPECT_EQ(f.data, std::to_string(n));
    EXPECT_EQ(DecodePipelinedNext(f.data), std::optional<int>(n));
  }
  for (std::string_view bad : {"", "0", "1601", "+2", "02", "two"}) {
    EXPECT_EQ(DecodePipelinedNext(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(DecodePipelinedNext("2\0"s), std::nullopt);
}

}  // namespace
}  // namespace mlfaas::wire
