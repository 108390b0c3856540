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

// The text of a line: what follows "<UTC time> ".
std::string Text(const std::string& line) { return line.size() < 25 ? "" : line.substr(25); }

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

// "line 0042 xxxx..." padded to 74 characters: 100 bytes with the time prefix and '\n'.
std::string Padded(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "line %04d ", i);
  return std::string(buf) + std::string(74 - 10, 'x');
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
  const std::regex stamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )");
  for (int t = 0; t < kThreads; ++t) {
    auto lines = Lines(path(t));
    ASSERT_EQ(lines.size(), size_t{kLines}) << path(t);  // Flush wrote everything
    EXPECT_TRUE(std::regex_match(lines[0].substr(0, 25), stamp)) << lines[0];
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
  constexpr int kLines = 1000;  // 100 KB: 24 full segments and the current file
  for (int i = 0; i < kLines; ++i) stream->Write(Padded(i));
  log->Flush();
  const fs::path fn = tmp.path() / "fn";
  const auto names = Names(fn);
  ASSERT_EQ(names.size(), 25u);
  std::vector<std::string> texts;
  for (size_t n = 1; n < names.size(); ++n) {
    const fs::path segment = fn / ("s.log." + std::to_string(n));
    ASSERT_TRUE(fs::exists(segment)) << segment;
    EXPECT_EQ(fs::file_size(segment), 4000u);  // 40 whole lines of 100 bytes
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
  for (int i = 0; i < 10; ++i) small->Write(Padded(i));
  log->Flush();
  const auto small_before = Lines(tmp.path() / "small" / "s.log");
  auto big = log->OpenStream("big", "b");
  constexpr int kLines = 10 * kRetention / 100;  // 10x the retention
  for (int i = 0; i < kLines; ++i) {
    big->Write(Padded(i));
    if (i % 1000 == 999) {
      log->Flush();
      ASSERT_LE(DirBytes(tmp.path() / "big"), kRetention) << "after line " << i;
    }
  }
  log->Flush();
  const fs::path dir = tmp.path() / "big";
  EXPECT_LE(DirBytes(dir), kRetention);
  EXPECT_GE(DirBytes(dir), kRetention - 8192 - 100);  // only whole old segments were deleted
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
    ASSERT_EQ(texts[k], Padded(kLines - static_cast<int>(texts.size()) + static_cast<int>(k)));
  }
  EXPECT_EQ(Lines(tmp.path() / "small" / "s.log"), small_before);
  EXPECT_EQ(Names(tmp.path() / "small"), std::vector<std::string>{"s.log"});
}

TEST(FunctionLogTest, RetentionDeletesTheLargestOpenFileWhenNothingIsClosed) {
  TempDir tmp("mlfaas-function-log");
  auto log = MustOpen({.dir = tmp.path(), .retention_bytes = 64 << 10, .segment_bytes = 64 << 10});
  ASSERT_TRUE(log);
  auto a = log->OpenStream("fn", "a"), b = log->OpenStream("fn", "b");
  for (int i = 0; i < 400; ++i) a->Write(Padded(i));  // 40 KB
  for (int i = 0; i < 200; ++i) b->Write(Padded(i));  // 20 KB
  log->Flush();
  for (int i = 0; i < 60; ++i) b->Write(Padded(i));  // 66 KB in all: a.log, the largest, goes
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
  for (int i = 0; i < 100; ++i) s->Write(Padded(i));  // 90009 + 10000 bytes: b.log.1 goes
  log->Flush();
  EXPECT_EQ(Names(fn), (std::vector<std::string>{"a.log", "b.log.2", "s.log"}));
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
  for (int i = 0; i < 300; ++i) s->Write(Padded(i));  // b.log.2 goes
  log->Flush();
  EXPECT_EQ(Names(fn), (std::vector<std::string>{"a.log", "s.log"}));
  EXPECT_EQ(log->BytesOnDisk("fn"), DirBytes(fn));
  const auto lines = Lines(fn / "s.log");
  ASSERT_EQ(lines.size(), 401u);
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

}  // namespace
}  // namespace mlfaas::gateway
