// The function log (<home>/logs/functions.log): worker output and START/END/REPORT lines, one
// line each, "<UTC time> <function:version> <log stream> <text>", like CloudWatch Logs.
//
// Three lines per invocation sit on the hot path, so this is a plain buffered appender rather
// than an spdlog logger: the time prefix is formatted once per millisecond, lines are appended
// to a buffer under a mutex and written out when it passes 64 KiB, on Flush() (the gateway's
// maintenance tick, every second) and at destruction. Thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas::gateway {

class FunctionLog {
 public:
  // Opens `path` for appending (creating its directory).
  static StatusOr<std::unique_ptr<FunctionLog>> Open(const std::filesystem::path& path);
  ~FunctionLog();
  FunctionLog(const FunctionLog&) = delete;
  FunctionLog& operator=(const FunctionLog&) = delete;

  void Write(std::string_view key, std::string_view stream, std::string_view line);
  void Flush();

 private:
  explicit FunctionLog(std::FILE* file) : file_(file) {}
  void FlushLocked();

  std::mutex mu_;
  std::FILE* file_;
  std::string buffer_;
  int64_t stamp_ms_ = -1;  // the millisecond `stamp_` was formatted for
  char stamp_[32] = {};    // "2026-11-25T17:36:34.123Z "
  size_t stamp_len_ = 0;
};

}  // namespace mlfaas::gateway
