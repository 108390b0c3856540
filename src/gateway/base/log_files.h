// The function log's files (function_log.h), as its writer thread sees them: one directory per
// function (a log group), the current file of each live stream, rotation into segments, and
// retention by deleting the oldest closed files first. Sizes are tracked in memory; a dir is
// listed when first written (and again after a reopen). Only the writer thread calls LogFiles,
// except Published().
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/base/function_log.h"

namespace mlfaas::gateway::log_files {

namespace fs = std::filesystem;

// Every stored event starts with this key (the file's lines are sorted by it).
inline constexpr std::string_view kTimeKey = R"({"time":")";

// Formats "2026-11-25T17:36:34.123Z " into `buf`; returns its length.
size_t FormatStamp(int64_t ms, char (&buf)[32]);
// Parses "2026-11-25T17:36:34.123Z" (exactly that shape, 24 characters) into epoch ms.
bool ParseStamp(std::string_view s, int64_t& ms);
// Appends `in` as the inside of a JSON string: '"', '\\' and control characters escaped, valid
// UTF-8 copied, every byte of an invalid UTF-8 sequence replaced by \ufffd. One pass, no
// recursion: the output is at most 6 bytes per input byte.
void AppendJsonEscaped(std::string& out, std::string_view in);
// Lambda's function-name rule: [A-Za-z0-9_-]{1,64}.
bool ValidFunctionName(std::string_view f);
// LogStreamFileName without ".log".
std::string StreamStem(std::string_view name);
uint64_t CountLines(std::string_view data);
// The segment size `o` asks for (clamp(retention / 8, 64 KiB, 64 MiB) when 0).
uint64_t SegmentBytes(const FunctionLogOptions& o);

struct Group;

// A file of a group that is not being written: rotated, ended, or left by a previous run.
struct ClosedFile {
  std::string name;
  uint64_t bytes = 0;
};

// The current file `<stem>.log` of the live streams with that file name (normally one).
struct LiveFile {
  Group* group = nullptr;
  std::string stem;
  int fd = -1;
  uint64_t bytes = 0;                  // tracked size
  uint64_t next_segment = 1;           // n of the next "<stem>.log.<n>"
  int users = 0;                       // live streams writing here
  bool partial_line = false;           // a failed write left a line without its '\n'
  std::list<LiveFile*>::iterator lru;  // in Files::lru_ while fd >= 0
};

// One function dir (log group). `bytes` is the sum of the closed and the live files' sizes.
struct Group {
  std::string function;
  fs::path dir;
  uint64_t bytes = 0;
  bool scanned = false;           // the dir has been listed since the last Reopen
  std::deque<ClosedFile> closed;  // oldest first
  std::map<std::string, std::unique_ptr<LiveFile>, std::less<>> live;  // by stem
};

class LogFiles {
 public:
  explicit LogFiles(const FunctionLogOptions& o)
      : root_(o.dir),
        retention_(o.retention_bytes),
        segment_(SegmentBytes(o)),
        max_open_(std::max<size_t>(o.max_open_files, 1)) {}
  ~LogFiles() { CloseAll(); }

  // The file a new stream writes to; listing the function dir if it was not listed yet.
  LiveFile* Attach(const std::string& function, const std::string& stem);
  // Appends whole lines, rotating and applying retention. Returns the number of lines lost.
  uint64_t Write(LiveFile& f, std::string_view data);
  // A stream of `f` ended: the last one closes the file, which becomes a closed file.
  void Detach(LiveFile& f);
  // Closes every descriptor; each group is listed again before its next write.
  void CloseAll();
  // Thread-safe: the group's size as of its last write.
  uint64_t Published(std::string_view function) const;

 private:
  void Scan(Group& g);
  void Adopt(Group& g, LiveFile& f);
  bool OpenFd(LiveFile& f);
  void Close(LiveFile& f);
  size_t Append(LiveFile& f, std::string_view data);
  void Grow(LiveFile& f, size_t n);
  void Rotate(LiveFile& f);
  void Enforce(Group& g);
  void Publish(const Group& g);
  fs::path PathOf(const LiveFile& f) const { return f.group->dir / (f.stem + ".log"); }

  const fs::path root_;
  const uint64_t retention_;
  const uint64_t segment_;
  const size_t max_open_;
  std::map<std::string, std::unique_ptr<Group>, std::less<>> groups_;
  std::list<LiveFile*> lru_;  // files with a descriptor, least recently written first
  mutable std::mutex stats_mu_;
  std::map<std::string, uint64_t, std::less<>> published_;  // guarded by stats_mu_
};

}  // namespace mlfaas::gateway::log_files
