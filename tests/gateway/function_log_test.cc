#include "gateway/base/function_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "common/json.h"
#include "gateway/base/log_reader.h"
#include "testing/fake_clock.h"

namespace mlfaas::gateway {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

std::vector<std::string> Lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A line as JSON (null when it is not a JSON object).
nlohmann::json Json(const std::string& line) {
  auto j = ParseJson(line, 1);
  return j.ok() && j->is_object() ? *j : nlohmann::json();
}

// The text of a line: its "text" field.
std::string Text(const std::string& line) { return JsonString(Json(line), "text", ""); }

std::vector<std::string> Texts(const fs::path& p) {
  std::vector<std::string> out;
  for (const auto& l : Lines(p)) out.push_back(Text(l));
  return out;
}

// Sum of the real sizes of the regular files below `dir`.
uint64_t DirBytes(const fs::path& dir) {
  uint64_t sum = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) sum += e.file_size();
  }
  return sum;
}

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Descriptors of this process open on files below `dir`.
int OpenFdsUnder(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind(dir.string() + "/", 0) == 0) ++n;
  }
  return n;
}

std::string StreamName(int i) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", i);
  return std::string("2026/11/26/[$LATEST]") + hex;
}

void WriteFile(const fs::path& p, const std::string& bytes, fs::file_time_type mtime) {
  std::ofstream(p, std::ios::binary) << bytes;
  fs::last_write_time(p, mtime);
}

std::unique_ptr<FunctionLog> MustOpen(FunctionLogOptions o) {
  auto log = FunctionLog::Open(std::move(o));
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

// "line 0042 xxxx...": padded so that its JSON line in stream `stream` of `fn` (version "") is
// 200 bytes with its '\n'.
constexpr size_t kLineBytes = 200;
std::string Padded(int i, std::string_view fn = "fn", std::string_view stream = "s") {
  // {"time":"<24>","function":"","version":"","stream":"","text":""}\n
  const size_t overhead = 85 + fn.size() + stream.size();
  char buf[16];
  std::snprintf(buf, sizeof buf, "line %04d ", i);
  return std::string(buf) + std::string(kLineBytes - overhead - 10, 'x');
}

TEST(FunctionLogTest, StreamFileNamesAreLambdaLikeAndStayInTheDir) {
  EXPECT_EQ(LogStreamFileName("2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef"),
            "2026-11-26-[_LATEST]0123456789abcdef0123456789abcdef.log");
  EXPECT_EQ(LogStreamFileName("../../etc/passwd"), "..-..-etc-passwd.log");
  EXPECT_EQ(LogStreamFileName("a b\n*"), "a_b__.log");
  EXPECT_EQ(LogStreamFileName(""), "_.log");
  EXPECT_EQ(LogStreamFileName(std::string(1000, 'a')).size(), 204u);
}

TEST(FunctionLogTest, LinesFromManyThreadsArriveWholeAndInOrderPerStream) {
  TempDir tmp("mlfaas-function-log");
  const fs::path dir = tmp.path() / "logs";    // created by Open
  constexpr int kThreads = 4, kLines = 20000;  // > 256 KiB: the writer wakes early
  auto log = MustOpen({.dir = dir});
  ASSERT_TRUE(log);
  std::vector<std::unique_ptr<LogStream>> streams;
  for (int t = 0; t < kThreads; ++t) {
    streams.push_back(log->OpenStream("fn-" + std::to_string(t % 2), StreamName(t)));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) streams[t]->Write("line " + std::to_string(i));
    });
  }
  for (auto& th : threads) th.join();
  log->Flush();
  auto path = [&](int t) {
    return dir / ("fn-" + std::to_string(t % 2)) / LogStreamFileName(StreamName(t));
  };
  const std::regex stamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (int t = 0; t < kThreads; ++t) {
    auto lines = Lines(path(t));
    ASSERT_EQ(lines.size(), size_t{kLines}) << path(t);  // Flush wrote everything
    const nlohmann::json first = Json(lines[0]);
    EXPECT_TRUE(std::regex_match(JsonString(first, "time", ""), stamp)) << lines[0];
    EXPECT_EQ(first["function"], "fn-" + std::to_string(t % 2));
    EXPECT_EQ(first["stream"], StreamName(t));
    for (int i = 0; i < kLines; ++i) {
      ASSERT_EQ(Text(lines[i]), "line " + std::to_string(i)) << "stream " << t << " out of order";
    }
  }
  EXPECT_EQ(Names(dir), (std::vector<std::string>{"fn-0", "fn-1"}));
  EXPECT_EQ(Names(dir / "fn-0").size(), 2u);
  EXPECT_EQ(log->BytesOnDisk("fn-0"), DirBytes(dir / "fn-0"));
  streams[0]->Write("after the flush");
  streams.clear();
  log.reset();  // writes the rest
  EXPECT_EQ(Text(Lines(path(0)).back()), "after the flush");
}

TEST(FunctionLogTest, RotatesAtTheSegmentSize) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path(), .retention_bytes = 1 << 20, .segment_bytes = 4096});
  ASSERT_TRUE(log);
  auto stream = log->OpenStream("fn", "s");
  constexpr int kLines = 500;  // 100 KB: 24 full segments and the current file
  for (int i = 0; i < kLines; ++i) stream->Write(Padded(i));
  log->Flush();
  const fs::path fn = tmp.path() / "fn";
  const auto names = Names(fn);
  ASSERT_EQ(names.size(), 25u);
  std::vector<std::string> texts;
  for (size_t n = 1; n < names.size(); ++n) {
    const fs::path segment = fn / ("s.log." + std::to_string(n));
    ASSERT_TRUE(fs::exists(segment)) << segment;
    EXPECT_EQ(fs::file_size(segment), 4000u);  // 20 whole lines of 200 bytes
    for (auto& t : Texts(segment)) texts.push_back(t);
  }
  for (auto& t : Texts(fn / "s.log")) texts.push_back(t);
  ASSERT_EQ(texts.size(), size_t{kLines});
  for (int i = 0; i < kLines; ++i) EXPECT_EQ(texts[i], Padded(i));
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
}

TEST(FunctionLogTest, RetentionKeepsTheNewestLinesWithinTheLimit) {
  TempDir tmp("mlfaas-function-log");
  constexpr uint64_t kRetention = 64 << 10;
  auto log = MustOpen({.dir = tmp.path(), .retention_bytes = kRetention, .segment_bytes = 8192});
  ASSERT_TRUE(log);
  auto small = log->OpenStream("small", "s");
  for (int i = 0; i < 10; ++i) small->Write(Padded(i, "small"));
  log->Flush();
  const auto small_before = Lines(tmp.path() / "small" / "s.log");
  auto big = log->OpenStream("big", "b");
  constexpr int kLines = 10 * kRetention / kLineBytes;  // 10x the retention
  for (int i = 0; i < kLines; ++i) {
    big->Write(Padded(i, "big", "b"));
    if (i % 1000 == 999) {
      log->Flush();
      ASSERT_LE(DirBytes(tmp.path() / "big"), kRetention) << "after line " << i;
    }
  }
  log->Flush();
  const fs::path dir = tmp.path() / "big";
  EXPECT_LE(DirBytes(dir), kRetention);
  EXPECT_GE(DirBytes(dir), kRetention - 8192 - kLineBytes);  // only whole old segments went
  EXPECT_EQ(log->BytesOnDisk("big"), DirBytes(dir));
  // What is left is the newest lines: the oldest kept segment, ..., the current file.
  std::vector<std::string> names = Names(dir);
  std::vector<std::pair<int, std::string>> order;
  for (auto& n : names) order.emplace_back(n == "b.log" ? 1 << 30 : std::stoi(n.substr(6)), n);
  std::sort(order.begin(), order.end());
  std::vector<std::string> texts;
  for (auto& [n, name] : order) {
    for (auto& t : Texts(dir / name)) texts.push_back(t);
  }
  ASSERT_FALSE(texts.empty());
  for (size_t k = 0; k < texts.size(); ++k) {
    ASSERT_EQ(texts[k],
              Padded(kLines - static_cast<int>(texts.size()) + static_cast<int>(k), "big", "b"));
  }
  EXPECT_EQ(Lines(tmp.path() / "small" / "s.log"), small_before);
  EXPECT_EQ(Names(tmp.path() / "small"), std::vector<std::string>{"s.log"});
}

TEST(FunctionLogTest, RetentionDeletesTheLargestOpenFileWhenNothingIsClosed) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path(), .retention_bytes = 64 << 10, .segment_bytes = 64 << 10});
  ASSERT_TRUE(log);
  auto a = log->OpenStream("fn", "a"), b = log->OpenStream("fn", "b");
  for (int i = 0; i < 200; ++i) a->Write(Padded(i, "fn", "a"));  // 40 KB
  for (int i = 0; i < 100; ++i) b->Write(Padded(i, "fn", "b"));  // 20 KB
  log->Flush();
  for (int i = 0; i < 30; ++i) b->Write(Padded(i, "fn", "b"));  // 66 KB in all: a.log goes
  log->Flush();
  const fs::path fn = tmp.path() / "fn";
  EXPECT_EQ(Names(fn), std::vector<std::string>{"b.log"});
  EXPECT_EQ(log->BytesOnDisk("fn"), 26000u);
  a->Write("again");
  log->Flush();
  EXPECT_EQ(Texts(fn / "a.log"), std::vector<std::string>{"again"});
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
}

TEST(FunctionLogTest, FilesOfAPreviousRunAreCountedAndDeletedOldestFirst) {
  TempDir tmp("mlfaas-function-log");
  const fs::path fn = tmp.path() / "fn";
  fs::create_directories(fn);
  const auto now = fs::file_time_type::clock::now();
  const std::string kb30(30000, 'x');
  WriteFile(fn / "s.log", "old line\n", now - hours(4));  // the stream's own file: appended to
  WriteFile(fn / "b.log.1", kb30, now - hours(3));
  WriteFile(fn / "b.log.2", kb30, now - hours(3));  // same time: the higher segment is newer
  WriteFile(fn / "a.log", kb30, now - hours(1));
  auto log = MustOpen({.dir = tmp.path(), .retention_bytes = 100000, .segment_bytes = 64 << 10});
  ASSERT_TRUE(log);
  auto s = log->OpenStream("fn", "s");
  for (int i = 0; i < 50; ++i) s->Write(Padded(i));  // 90009 + 10000 bytes: b.log.1 goes
  log->Flush();
  EXPECT_EQ(Names(fn), (std::vector<std::string>{"a.log", "b.log.2", "s.log"}));
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
  for (int i = 0; i < 150; ++i) s->Write(Padded(i));  // b.log.2 goes
  log->Flush();
  EXPECT_EQ(Names(fn), (std::vector<std::string>{"a.log", "s.log"}));
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
  const auto lines = Lines(fn / "s.log");
  ASSERT_EQ(lines.size(), 201u);
  EXPECT_EQ(lines[0], "old line");
}

TEST(FunctionLogTest, AnEndedStreamIsWrittenAndClosed) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path()});
  ASSERT_TRUE(log);
  auto stream = log->OpenStream("fn", "s");
  stream->Write("one");
  stream->Write("two");
  stream.reset();  // the instance exited
  log->Flush();
  EXPECT_EQ(Texts(tmp.path() / "fn" / "s.log"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(OpenFdsUnder(tmp.path()), 0);
}

TEST(FunctionLogTest, ManyStreamsShareAFewDescriptors) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path(), .max_open_files = 2});
  ASSERT_TRUE(log);
  constexpr int kStreams = 10, kRounds = 5;
  std::vector<std::unique_ptr<LogStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(log->OpenStream(i % 2 ? "odd" : "even", StreamName(i)));
  }
  for (int r = 0; r < kRounds; ++r) {
    for (auto& s : streams) s->Write("round " + std::to_string(r));
    log->Flush();  // each round reopens most files in append mode
    EXPECT_LE(OpenFdsUnder(tmp.path()), 2);
  }
  for (int i = 0; i < kStreams; ++i) {
    const auto texts =
        Texts(tmp.path() / (i % 2 ? "odd" : "even") / LogStreamFileName(StreamName(i)));
    ASSERT_EQ(texts.size(), size_t{kRounds}) << i;
    for (int r = 0; r < kRounds; ++r) EXPECT_EQ(texts[r], "round " + std::to_string(r));
  }
  EXPECT_EQ(log->dropped(), 0u);
}

TEST(FunctionLogTest, ReopenStartsAFreshFileAtTheSamePath) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path()});
  ASSERT_TRUE(log);
  auto stream = log->OpenStream("fn", "s");
  stream->Write("before");
  log->Flush();
  const fs::path path = tmp.path() / "fn" / "s.log", moved = tmp.path() / "s.log.moved";
  fs::rename(path, moved);  // logrotate
  stream->Write("still to the open file");
  log->Flush();
  log->Reopen();
  stream->Write("after");
  log->Flush();
  EXPECT_EQ(Texts(moved), (std::vector<std::string>{"before", "still to the open file"}));
  EXPECT_EQ(Texts(path), std::vector<std::string>{"after"});
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(tmp.path() / "fn"));
}

TEST(FunctionLogTest, ARemovedFunctionDirIsCreatedAgain) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path()});
  ASSERT_TRUE(log);
  auto stream = log->OpenStream("fn", "s");
  stream->Write("before");
  log->Flush();
  fs::remove_all(tmp.path() / "fn");
  log->Reopen();
  stream->Write("after");
  log->Flush();
  EXPECT_EQ(Texts(tmp.path() / "fn" / "s.log"), std::vector<std::string>{"after"});
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(tmp.path() / "fn"));
}

TEST(FunctionLogTest, RefusedFunctionNamesWriteNothing) {
  TempDir tmp("mlfaas-function-log");
  const fs::path dir = tmp.path() / "logs";
  auto log = MustOpen({.dir = dir});
  ASSERT_TRUE(log);
  const std::vector<std::string> bad = {
      "../x", "", "a/b", ".", "..", "/abs", "fn.x", "fn x", std::string(65, 'a')};
  for (const auto& name : bad) {
    auto stream = log->OpenStream(name, "s");
    stream->Write("one");
    stream->Write("two");
  }
  log->Flush();
  EXPECT_EQ(log->dropped(), 2 * bad.size());
  EXPECT_EQ(Names(tmp.path()), std::vector<std::string>{"logs"});
  EXPECT_TRUE(Names(dir).empty());
  const std::string longest = std::string(62, 'a') + "_-";
  log->OpenStream(longest, "s")->Write("fine");
  log->Flush();
  EXPECT_EQ(Texts(dir / longest / "s.log"), std::vector<std::string>{"fine"});
  EXPECT_EQ(log->dropped(), 2 * bad.size());
}

TEST(FunctionLogTest, WriteFailuresAreCountedAndWritingRecovers) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path()});
  ASSERT_TRUE(log);
  const fs::path fn = tmp.path() / "fn";
  std::ofstream(fn) << "a regular file where the function dir should be";
  auto stream = log->OpenStream("fn", "s");
  for (int i = 0; i < 3; ++i) stream->Write("lost");
  log->Flush();
  EXPECT_EQ(log->dropped(), 3u);
  EXPECT_TRUE(fs::is_regular_file(fn));
  fs::remove(fn);  // fixed
  stream->Write("again");
  log->Flush();
  const auto texts = Texts(fn / "s.log");
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0], "again");
  EXPECT_EQ(texts[1], "mlfaas: 3 log lines dropped (the disk fell behind or a write failed)");
  EXPECT_EQ(log->dropped(), 3u);
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
}

TEST(FunctionLogTest, ABacklogOver32MiBIsDroppedCountedAndNoted) {
  TempDir tmp("mlfaas-function-log");
  const fs::path fifo = tmp.path() / "stuck" / "s.log";
  fs::create_directories(fifo.parent_path());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto log = MustOpen({.dir = tmp.path(), .interval = hours(1)});  // writes only when woken
  ASSERT_TRUE(log);
  auto stuck = log->OpenStream("stuck", "s"), fast = log->OpenStream("fast", "f");
  stuck->Write("the writer blocks opening this FIFO until it has a reader");
  const std::string text(1000, 'x');     // 1026 bytes a line
  constexpr uint64_t kLines = 70 << 10;  // 72 MB: the writer takes at most 32 MiB before it blocks
  for (uint64_t i = 0; i < kLines; ++i) fast->Write(text);
  const uint64_t dropped = log->dropped();
  EXPECT_GT(dropped, 0u);
  std::string read;
  std::thread reader([&] {
    std::ifstream in(fifo);
    read.assign(std::istreambuf_iterator<char>(in), {});
  });
  log->Flush();
  stuck.reset();  // closes the FIFO: the reader sees its end
  log->Flush();
  reader.join();
  EXPECT_EQ(Text(read.substr(0, read.size() - 1)),
            "the writer blocks opening this FIFO until it has a reader");
  uint64_t lines = 0;
  for (const auto& name : Names(tmp.path() / "fast")) {
    lines += Lines(tmp.path() / "fast" / name).size();
  }
  EXPECT_EQ(lines, kLines - dropped + 1);
  EXPECT_EQ(Text(Lines(tmp.path() / "fast" / "f.log").back()),
            "mlfaas: " + std::to_string(dropped) +
                " log lines dropped (the disk fell behind or a write failed)");
  EXPECT_EQ(log->dropped(), dropped);
}

TEST(FunctionLogTest, OpenFailsWithAClearError) {
  auto log = FunctionLog::Open({.dir = "/proc/no-such-dir/logs"});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(log.status().message().find("cannot create /proc/no-such-dir/logs: "),
            std::string::npos)
      << log.status().message();
}

TEST(FunctionLogTest, LinesAreJsonObjectsWithEveryFieldAndAnyBytesEscaped) {
  TempDir tmp("mlfaas-function-log");
  testing::FakeClock clock;
  const std::string stamp = Rfc3339Millis(clock.EpochMillis());
  auto log = MustOpen({.dir = tmp.path(), .clock = &clock});
  ASSERT_TRUE(log);
  const std::string stream_name = StreamName(7);
  auto stream = log->OpenStream("fn", stream_name, "3");
  const std::vector<std::string> texts = {
      "START RequestId: r-1 Version: 3",
      std::string("quote \" backslash \\ tab \t cr \r nl \n nul ") + '\0' + " \x01\x1f\x7f",
      "utf-8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "bad utf-8 \xff \xc3( \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf"
      " end",
      std::string(200000, 'y'),
      "",
  };
  for (const auto& t : texts) stream->Write(t, "r-1");
  stream->Write("outside an invocation");
  log->Flush();
  const auto lines = Lines(tmp.path() / "fn" / LogStreamFileName(stream_name));
  ASSERT_EQ(lines.size(), texts.size() + 1);
  for (size_t i = 0; i < lines.size(); ++i) {
    // Strict parsing: valid JSON, valid UTF-8, one flat object.
    const auto j = nlohmann::json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << lines[i].substr(0, 200);
    EXPECT_EQ(j["time"], stamp);
    EXPECT_EQ(j["function"], "fn");
    EXPECT_EQ(j["version"], "3");
    EXPECT_EQ(j["stream"], stream_name);
    if (i < texts.size()) {
      EXPECT_EQ(j["request_id"], "r-1");
      EXPECT_EQ(j.size(), 6u);
    } else {
      EXPECT_FALSE(j.contains("request_id")) << lines[i];
      EXPECT_EQ(j.size(), 5u);
    }
  }
  EXPECT_EQ(Text(lines[1]), texts[1]);  // control characters survive, escaped
  EXPECT_EQ(Text(lines[2]), texts[2]);  // valid UTF-8 is kept as it is
  EXPECT_NE(lines[2].find("\xc3\xa9"), std::string::npos);
  const std::string r = "\xef\xbf\xbd";  // U+FFFD, once per bad byte
  EXPECT_EQ(Text(lines[3]), "bad utf-8 " + r + " " + r + "( " + r + r + " " + r + r + r + " " + r +
                                r + r + r + " " + r + r + " end");
  EXPECT_EQ(Text(lines[4]), texts[4]);
  EXPECT_EQ(Text(lines[6]), "outside an invocation");
  // The line is written as LogEventJson writes an event.
  LogEvent e;
  ASSERT_TRUE(LogEventFromJson(Json(lines[0]), e));
  EXPECT_EQ(LogEventJson(e), lines[0]);
  EXPECT_EQ(e.time_ms, clock.EpochMillis());
  EXPECT_EQ(LogEventText(e), stamp + " " + stream_name + " " + texts[0]);
}

// Writes `n` lines "<tag> <i>" to `s`, advancing the clock 1 ms before each.
void WriteTicks(LogStream& s, testing::FakeClock& clock, const std::string& tag, int n,
                const std::string& rid = "") {
  for (int i = 0; i < n; ++i) {
    clock.Advance(std::chrono::milliseconds(1));
    s.Write(tag + " " + std::to_string(i), rid);
  }
}

std::vector<std::string> EventTexts(const LogPage& p) {
  std::vector<std::string> out;
  for (const auto& e : p.events) out.push_back(e.text);
  return out;
}

TEST(LogReaderTest, ReadsRotatedFilesOfAllStreamsInTimeOrderAndFilters) {
  TempDir tmp("mlfaas-log-reader");
  testing::FakeClock clock;
  const int64_t t0 = clock.EpochMillis();
  auto log = MustOpen({.dir = tmp.path(), .segment_bytes = 1024, .clock = &clock});
  ASSERT_TRUE(log);
  auto a = log->OpenStream("fn", "a", "1"), b = log->OpenStream("fn", "b", "2");
  for (int round = 0; round < 5; ++round) {  // interleaved in time, each stream rotating
    WriteTicks(*a, clock, "a" + std::to_string(round), 10, "req-a");
    WriteTicks(*b, clock, "b" + std::to_string(round), 10);
  }
  log->Flush();
  ASSERT_GT(Names(tmp.path() / "fn").size(), 4u);  // rotated
  auto all = ReadLogs(tmp.path(), "fn", {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->events.size(), 100u);
  EXPECT_FALSE(all->truncated);
  for (size_t i = 0; i < 100; ++i) {
    const LogEvent& e = all->events[i];
    EXPECT_EQ(e.time_ms, t0 + static_cast<int64_t>(i) + 1);
    const int round = static_cast<int>(i / 20), k = static_cast<int>(i % 20);
    EXPECT_EQ(e.text, (k < 10 ? "a" : "b") + std::to_string(round) + " " + std::to_string(k % 10));
    EXPECT_EQ(e.stream, k < 10 ? "a" : "b");
    EXPECT_EQ(e.version, k < 10 ? "1" : "2");
    EXPECT_EQ(e.request_id, k < 10 ? "req-a" : "");
  }
  LogQuery q;
  q.since_ms = t0 + 91;
  EXPECT_EQ(EventTexts(*ReadLogs(tmp.path(), "fn", q)).size(), 10u);
  q = {};
  q.request_id = "req-a";
  EXPECT_EQ(ReadLogs(tmp.path(), "fn", q)->events.size(), 50u);
  q.filter = "a3 ";
  EXPECT_EQ(ReadLogs(tmp.path(), "fn", q)->events.size(), 10u);
  q = {};
  q.filter = "b4 7";
  EXPECT_EQ(EventTexts(*ReadLogs(tmp.path(), "fn", q)), std::vector<std::string>{"b4 7"});
  // Pages: the oldest first, a cursor to go on, nothing lost or repeated.
  q = {};
  q.limit = 30;
  std::vector<std::string> paged;
  for (int pages = 0; pages < 10; ++pages) {
    auto p = ReadLogs(tmp.path(), "fn", q);
    ASSERT_TRUE(p.ok());
    for (auto& t : EventTexts(*p)) paged.push_back(t);
    q.since_ms = p->next_ms;
    q.skip = p->next_skip;
    if (!p->truncated) break;
  }
  EXPECT_EQ(paged, EventTexts(*all));
  q = {};
  q.max_bytes = 1;  // at least one event a page
  auto one = ReadLogs(tmp.path(), "fn", q);
  EXPECT_EQ(one->events.size(), 1u);
  EXPECT_TRUE(one->truncated);
  EXPECT_EQ(ReadLogs(tmp.path(), "nope", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadLogs(tmp.path(), "../x", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(LogReaderTest, ATailHoldsTheNewestEventsAndPollingGoesOnAfterThem) {
  TempDir tmp("mlfaas-log-reader");
  testing::FakeClock clock;
  auto log = MustOpen({.dir = tmp.path(), .segment_bytes = 1024, .clock = &clock});
  ASSERT_TRUE(log);
  auto a = log->OpenStream("fn", "a", "1"), b = log->OpenStream("fn", "b", "1");
  for (int round = 0; round < 4; ++round) {  // interleaved in time, rotating
    WriteTicks(*a, clock, "a" + std::to_string(round), 10, "req-a");
    WriteTicks(*b, clock, "b" + std::to_string(round), 10);
  }
  log->Flush();
  auto all = ReadLogs(tmp.path(), "fn", {});
  ASSERT_TRUE(all.ok());
  const std::vector<std::string> texts = EventTexts(*all);
  ASSERT_EQ(texts.size(), 80u);
  LogQuery q;
  q.newest = true;
  q.limit = 15;
  auto tail = ReadLogs(tmp.path(), "fn", q);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(EventTexts(*tail), std::vector<std::string>(texts.end() - 15, texts.end()));
  EXPECT_TRUE(tail->truncated);  // older events were left out
  q.request_id = "req-a";
  q.limit = 3;
  EXPECT_EQ(EventTexts(*ReadLogs(tmp.path(), "fn", q)),
            (std::vector<std::string>{"a3 7", "a3 8", "a3 9"}));
  q = {};
  q.newest = true;
  q.limit = 1000;
  auto whole = ReadLogs(tmp.path(), "fn", q);
  EXPECT_EQ(EventTexts(*whole), texts);
  EXPECT_FALSE(whole->truncated);
  q.max_bytes = 1;  // at least one event: the newest
  EXPECT_EQ(EventTexts(*ReadLogs(tmp.path(), "fn", q)), std::vector<std::string>{texts.back()});
  // Polling from the tail's cursor returns only what came after it.
  WriteTicks(*b, clock, "late", 2);
  log->Flush();
  q = {};
  q.since_ms = tail->next_ms;
  q.skip = tail->next_skip;
  EXPECT_EQ(EventTexts(*ReadLogs(tmp.path(), "fn", q)),
            (std::vector<std::string>{"late 0", "late 1"}));
}

TEST(LogReaderTest, PagesSplitEventsOfOneMillisecondExactly) {
  TempDir tmp("mlfaas-log-reader");
  testing::FakeClock clock;
  auto log = MustOpen({.dir = tmp.path(), .clock = &clock});
  ASSERT_TRUE(log);
  auto a = log->OpenStream("fn", "a"), b = log->OpenStream("fn", "b");
  for (int i = 0; i < 7; ++i) a->Write("a " + std::to_string(i));  // all in one millisecond
  for (int i = 0; i < 6; ++i) b->Write("b " + std::to_string(i));
  log->Flush();
  LogQuery q;
  q.limit = 4;
  std::vector<std::string> paged;
  for (int pages = 0; pages < 10; ++pages) {
    auto p = ReadLogs(tmp.path(), "fn", q);
    ASSERT_TRUE(p.ok());
    for (auto& t : EventTexts(*p)) paged.push_back(t);
    int64_t ms;
    uint64_t skip;
    ASSERT_TRUE(ParseLogCursor(LogCursor(p->next_ms, p->next_skip), ms, skip));
    q.since_ms = ms;
    q.skip = skip;
    if (!p->truncated) break;
  }
  ASSERT_EQ(paged.size(), 13u);
  EXPECT_EQ(paged.front(), "a 0");
  EXPECT_EQ(paged[7], "b 0");
  EXPECT_EQ(paged.back(), "b 5");
}

TEST(LogReaderTest, OlderPlainLinesAndJunkAreHandled) {
  TempDir tmp("mlfaas-log-reader");
  fs::create_directories(tmp.path() / "fn");
  std::ofstream(tmp.path() / "fn" / "old.log")
      << "2026-11-25T17:36:34.123Z START RequestId: x Version: $LATEST\n"
      << "not a log line\n"
      << R"({"time":"2026-11-25T17:36:35.000Z","function":"fn","version":"1","stream":"s","text":[[[]]]})"
      << "\n"
      << std::string(2 << 20, '{') << "\n"  // over the line limit: skipped
      << R"({"time":"2026-11-25T17:36:36.000Z","function":"fn","version":"1","stream":"s","text":"ok"})"
      << "\n"
      << R"({"time":"2026-11-25T17:36:37.000Z","function":"fn","version":"1","stream":"s","text":"half)";
  auto p = ReadLogs(tmp.path(), "fn", {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->events.size(), 2u);
  EXPECT_EQ(LogEventText(p->events[0]),
            "2026-11-25T17:36:34.123Z old START RequestId: x Version: $LATEST");
  EXPECT_EQ(p->events[1].text, "ok");
}

TEST(LogReaderTest, SinceTakesDurationsTimesAndEpochMillis) {
  const int64_t now = 1'764'091'794'123;
  EXPECT_EQ(*ParseSince("10m", now), now - 600'000);
  EXPECT_EQ(*ParseSince("30s", now), now - 30'000);
  EXPECT_EQ(*ParseSince("2h", now), now - 7'200'000);
  EXPECT_EQ(*ParseSince("1d", now), now - 86'400'000);
  EXPECT_EQ(*ParseSince("1w", now), now - 7 * 86'400'000ll);
  EXPECT_EQ(*ParseSince("2025-11-25T17:29:54Z", now), now - 123);
  EXPECT_EQ(*ParseSince("2025-11-25T17:29:54.123Z", now), now);
  EXPECT_EQ(*ParseSince("1764091794000", now), 1'764'091'794'000);
  for (const char* bad : {"", "10x", "-5m", "m", "10 m", "yesterday", "2025-13-01T00:00:00Z",
                          "99999999999999999999h"}) {
    auto s = ParseSince(bad, now);
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  int64_t ms;
  uint64_t skip;
  EXPECT_FALSE(ParseLogCursor("12", ms, skip));
  EXPECT_FALSE(ParseLogCursor("-1-2", ms, skip));
  EXPECT_FALSE(ParseLogCursor("1-99999999", ms, skip));
  EXPECT_TRUE(ParseLogCursor("1700000000000-3", ms, skip));
  EXPECT_EQ(skip, 3u);
}

}  // namespace
}  // namespace mlfaas::gateway
