// The function log: worker output and START/END/REPORT lines, kept like CloudWatch Logs.
//
// Layout: `<dir>/<function>/` is a function's log group; each instance is a log stream with its
// own file `<dir>/<function>/<LogStreamFileName(stream)>`, one JSON object per line and per
// Write:
//   {"time":"2026-11-25T17:36:34.123Z","function":"fn","version":"$LATEST",
//    "stream":"2026/11/25/[$LATEST]0123...ef","request_id":"8d0c...","text":"START RequestId: ..."}
// (on one line; "request_id" only when the line belongs to an invocation; "text" is the line as
// written, invalid UTF-8 replaced by U+FFFD). log_reader.h reads them back. A stream's file is
// renamed to `<name>.log.<n>` (n = 1, 2, ...) when it has reached
// `segment_bytes` or the next line would take it past (a file holds whole lines, at least one),
// and a fresh `<name>.log` is started. The files of a function dir are deleted,
// oldest first, to keep the dir within `retention_bytes`; the sizes are tracked in memory (the
// dir is listed once, when the function is first written, so files of a previous run count too).
//
// Three lines per invocation sit on the hot path, so LogStream::Write only escapes the text
// (a thread-local buffer, no lock) and appends it to the stream's buffer under one mutex, with
// the time formatted once per millisecond. All file I/O is
// done by the log's own writer thread (every `interval`, or sooner once 256 KiB are waiting),
// never by the caller: a write that stalls on the disk must not stall request handling. If more
// than 32 MiB are waiting, further lines are dropped and counted, and the stream's file gets a
// line with the count when writing resumes. A failed write (ENOSPC, EIO, a removed or blocked
// function dir) drops and counts its lines; the next write tries again, recreating the dir. No
// public method throws.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace mlfaas::gateway {

struct FunctionLogOptions {
  std::filesystem::path dir;                // <home>/logs
  uint64_t retention_bytes = 256ull << 20;  // per function dir; 0: unlimited
  uint64_t segment_bytes = 0;               // 0: clamp(retention_bytes / 8, 64 KiB, 64 MiB)
  size_t max_open_files = 128;              // least recently written files are closed beyond it
  std::chrono::milliseconds interval{200};  // writer period
  Clock* clock = nullptr;                   // line timestamps (EpochMillis); null: SystemClock
};

// The file name of a log stream inside its function dir: '/' becomes '-', every other character
// outside [A-Za-z0-9._-] and '[', ']' becomes '_', plus ".log". The name is cut to 200 characters
// first; an empty name becomes "_".
// "2026/11/26/[$LATEST]0123...ef" -> "2026-11-26-[_LATEST]0123...ef.log".
std::string LogStreamFileName(std::string_view stream_name);

class FunctionLog;
namespace log_files {
class LogFiles;
}

// One log stream (one instance) of a FunctionLog. Write() is thread-safe and cheap (a buffer
// append). Destroying the handle ends the stream: its pending lines are still written, then its
// file is closed and becomes eligible for deletion. Must not outlive its FunctionLog.
class LogStream {
 public:
  ~LogStream();
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;

  // Appends the JSON line for `line` (see above), with "request_id" when `request_id` is not
  // empty. `line` should not contain '\n' (it would be escaped). Lines of a refused stream (see
  // FunctionLog::OpenStream) and lines over the backlog limit are dropped and counted.
  void Write(std::string_view line, std::string_view request_id = {}) noexcept;
  const std::string& name() const;      // the stream name as given
  const std::string& function() const;  // the function (log group) name as given

 private:
  friend class FunctionLog;
  struct State;  // shared with the writer thread; defined in function_log.cc
  LogStream(FunctionLog* log, std::shared_ptr<State> state);

  FunctionLog* const log_;
  const std::shared_ptr<State> state_;
};

// Thread-safe. Non-copyable.
class FunctionLog {
 public:
  // Creates `options.dir` if needed (Unavailable "cannot create <dir>: <reason>" if it cannot) and
  // starts the writer thread.
  static StatusOr<std::unique_ptr<FunctionLog>> Open(FunctionLogOptions options);
  // Writes everything pending, closes the files, joins the writer. No LogStream may remain.
  ~FunctionLog();
  FunctionLog(const FunctionLog&) = delete;
  FunctionLog& operator=(const FunctionLog&) = delete;

  // Starts stream `stream_name` of `function`. A function name outside [A-Za-z0-9_-]{1,64} is
  // refused: the stream is returned, but every line written to it is dropped and counted, and
  // nothing is written. `version` is the function version its lines carry. Returns nullptr only
  // when memory is exhausted.
  std::unique_ptr<LogStream> OpenStream(std::string_view function, std::string_view stream_name,
                                        std::string_view version = {});
  // Returns once every line written before the call is in the files (or counted as dropped) and
  // retention has been applied. Blocks while the writer thread is busy.
  void Flush();
  // For SIGHUP (logrotate): the writer closes every open file before its next write, lists the
  // function dirs again when it next writes to them, and reopens files by path (creating them if
  // they were moved away). Only sets a flag: async-signal-safe, callable any time.
  void Reopen() noexcept;
  // Lines dropped so far: backlog over 32 MiB, refused function name, failed write.
  uint64_t dropped() const;
  // Tracked size of the function's dir as of the writer's last write to it; 0 if never written.
  // Does not wait for the writer.
  uint64_t BytesOnDisk(std::string_view function) const;

 private:
  friend class LogStream;

  struct Batch;
  explicit FunctionLog(FunctionLogOptions options);

  void Append(const std::shared_ptr<LogStream::State>& s, std::string_view line,
              std::string_view request_id);
  void End(const std::shared_ptr<LogStream::State>& s);
  void EnqueueLocked(const std::shared_ptr<LogStream::State>& s);  // requires mu_
  std::vector<Batch> TakePendingLocked();                          // requires mu_
  void Run();
  bool Pass();  // one writer pass; returns true once the log is stopping and everything written
  void WriteBatches(std::vector<Batch>& batches) noexcept;
  void WriteBatch(Batch& b);

  Clock& clock_;
  const std::chrono::milliseconds interval_;
  // The writer thread's files: groups, rotation, retention, descriptors (log_files.h). Writer
  // thread only (BytesOnDisk excepted).
  const std::unique_ptr<log_files::LogFiles> files_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> reopen_{false};

  mutable std::mutex mu_;  // guards everything below and every LogStream::State's pending part
  std::condition_variable wake_cv_;               // the writer waits on it
  std::condition_variable flushed_cv_;            // Flush waits on it
  std::shared_ptr<LogStream::State> dirty_head_;  // streams with pending data, linked by `next`
  LogStream::State* dirty_tail_ = nullptr;
  size_t dirty_count_ = 0;
  size_t pending_bytes_ = 0;  // in all streams' pending buffers
  bool wake_ = false;
  bool stop_ = false;
  uint64_t flush_wanted_ = 0;  // Flush tickets handed out
  uint64_t flush_done_ = 0;    // tickets whose lines have been written
  int64_t stamp_ms_ = -1;      // the millisecond `stamp_` was formatted for
  char stamp_[32] = {};        // "2026-11-25T17:36:34.123Z " (the JSON line uses it without ' ')
  size_t stamp_len_ = 0;
  std::thread writer_;
};

}  // namespace mlfaas::gateway
