// The function log (<home>/logs/functions.log): worker output and START/END/REPORT lines, one
// line each, "<UTC time> <function:version> <log stream> <text>", like CloudWatch Logs.
//
// Three lines per invocation sit on the hot path, so this is a plain buffered appender rather
// than an spdlog logger: the time prefix is formatted once per millisecond and a line is
// appended to a buffer under a mutex. The file is written by the log's own thread (every 200 ms,
// or sooner once 256 KiB are waiting), never by the io threads: a write that stalls on the disk
// (dirty-page throttling) must not stall request handling. If the disk falls behind by more than
// 32 MiB, further lines are dropped and counted, and the count is logged when writing resumes.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"

namespace mlfaas::gateway {

class FunctionLog {
 public:
  // Opens `path` for appending (creating its directory) and starts the writer thread.
  static StatusOr<std::unique_ptr<FunctionLog>> Open(const std::filesystem::path& path);
  // Writes what is buffered, then stops the writer.
  ~FunctionLog();
  FunctionLog(const FunctionLog&) = delete;
  FunctionLog& operator=(const FunctionLog&) = delete;

  void Write(std::string_view key, std::string_view stream, std::string_view line);
  // Writes everything appended so far before returning.
  void Flush();

 private:
  explicit FunctionLog(std::FILE* file);
  void Run();

  std::FILE* const file_;
  std::mutex write_mu_;  // held while a swapped-out buffer is written: keeps chunks in order
  std::mutex mu_;        // guards everything below
  std::condition_variable cv_;
  std::string buffer_;
  uint64_t dropped_ = 0;
  bool wake_pending_ = false;
  bool stop_ = false;
  int64_t stamp_ms_ = -1;  // the millisecond `stamp_` was formatted for
  char stamp_[32] = {};    // "2026-11-25T17:36:34.123Z "
  size_t stamp_len_ = 0;
  std::thread writer_;
};

}  // namespace mlfaas::gateway
