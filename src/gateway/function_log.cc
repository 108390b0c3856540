#include "gateway/function_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <deque>
#include <list>
#include <map>
#include <tuple>
#include <utility>

namespace mlfaas::gateway {
namespace fs = std::filesystem;
namespace {

constexpr size_t kWakeAt = 256 * 1024;
constexpr size_t kMaxBacklog = 32u << 20;
constexpr size_t kMaxStreamName = 200;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Formats "2026-11-25T17:36:34.123Z " into `buf`; returns its length.
size_t FormatStamp(int64_t ms, char (&buf)[32]) {
  const std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  n += static_cast<size_t>(
      std::snprintf(buf + n, sizeof buf - n, ".%03dZ ", static_cast<int>(ms % 1000)));
  return n;
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ValidFunctionName(std::string_view f) {
  return !f.empty() && f.size() <= 64 && std::all_of(f.begin(), f.end(), [](char c) {
    return IsAsciiAlnum(c) || c == '_' || c == '-';
  });
}

// LogStreamFileName without ".log".
std::string StreamStem(std::string_view name) {
  std::string stem(name.substr(0, kMaxStreamName));
  for (char& c : stem) {
    if (c == '/') {
      c = '-';
    } else if (!IsAsciiAlnum(c) && c != '.' && c != '_' && c != '-' && c != '[' && c != ']') {
      c = '_';
    }
  }
  return stem.empty() ? "_" : stem;
}

uint64_t CountLines(std::string_view data) {
  return static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
}

// Writes `data` to `fd`; returns the bytes written (fewer than data.size() on an error).
size_t WriteAll(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// The length of the longest run of whole lines at the start of `data` within `room` bytes; if no
// line fits, the first line when `at_least_one`, else 0.
size_t FitLines(std::string_view data, uint64_t room, bool at_least_one) {
  if (data.size() <= room) return data.size();
  const size_t last = room == 0 ? std::string_view::npos : data.rfind('\n', room - 1);
  if (last != std::string_view::npos) return last + 1;
  if (!at_least_one) return 0;
  const size_t first = data.find('\n');
  return first == std::string_view::npos ? data.size() : first + 1;
}

// Splits a file name into (stem, n) for "<stem>.log.<n>", (stem, max) for "<stem>.log",
// (name, 0) otherwise: the order in which a stream's files were written.
std::pair<std::string_view, uint64_t> SegmentKey(std::string_view name) {
  if (name.size() > 4 && name.substr(name.size() - 4) == ".log") {
    return {name.substr(0, name.size() - 4), UINT64_MAX};
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot < 4 || name.substr(dot - 4, 4) != ".log") {
    return {name, 0};
  }
  uint64_t n = 0;
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(name.data() + dot + 1, end, n);
  if (ec != std::errc() || ptr != end || dot + 1 == name.size()) return {name, 0};
  return {name.substr(0, dot - 4), n};
}

uint64_t SegmentBytes(const FunctionLogOptions& o) {
  if (o.segment_bytes != 0) return o.segment_bytes;
  if (o.retention_bytes == 0) return 64ull << 20;
  return std::clamp<uint64_t>(o.retention_bytes / 8, 64ull << 10, 64ull << 20);
}

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

}  // namespace

std::string LogStreamFileName(std::string_view stream_name) {
  return StreamStem(stream_name) + ".log";
}

// The writer thread's view of the files. Every method but Published() runs on the writer thread.
class FunctionLog::Files {
 public:
  explicit Files(const FunctionLogOptions& o)
      : root_(o.dir),
        retention_(o.retention_bytes),
        segment_(SegmentBytes(o)),
        max_open_(std::max<size_t>(o.max_open_files, 1)) {}
  ~Files() { CloseAll(); }

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

LiveFile* FunctionLog::Files::Attach(const std::string& function, const std::string& stem) {
  std::unique_ptr<Group>& g = groups_[function];
  if (!g) {
    g = std::make_unique<Group>();
    g->function = function;
    g->dir = root_ / function;
  }
  if (!g->scanned) Scan(*g);
  std::unique_ptr<LiveFile>& f = g->live[stem];
  if (!f) {
    f = std::make_unique<LiveFile>();
    f->group = g.get();
    f->stem = stem;
    Adopt(*g, *f);
  }
  ++f->users;
  return f.get();
}

uint64_t FunctionLog::Files::Write(LiveFile& f, std::string_view data) {
  Group& g = *f.group;
  if (!g.scanned) Scan(g);
  uint64_t lost = 0;
  while (!data.empty()) {
    if (f.bytes >= segment_) Rotate(f);
    const size_t n = FitLines(data, segment_ - f.bytes, f.bytes == 0);
    if (n == 0) {
      Rotate(f);
      continue;
    }
    const size_t written = Append(f, data.substr(0, n));
    if (written < n) {
      lost = CountLines(data.substr(written));
      break;
    }
    data.remove_prefix(n);
    if (f.bytes >= segment_) Rotate(f);
  }
  Enforce(g);
  Publish(g);
  return lost;
}

void FunctionLog::Files::Detach(LiveFile& f) {
  if (--f.users > 0) return;
  Group& g = *f.group;
  Close(f);
  if (f.bytes > 0) g.closed.push_back({f.stem + ".log", f.bytes});
  g.live.erase(g.live.find(f.stem));  // destroys f
  Publish(g);
}

void FunctionLog::Files::CloseAll() {
  while (!lru_.empty()) Close(*lru_.front());
  for (auto& [name, g] : groups_) g->scanned = false;
}

uint64_t FunctionLog::Files::Published(std::string_view function) const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  auto it = published_.find(function);
  return it == published_.end() ? 0 : it->second;
}

// Rebuilds the group's sizes from a listing of its dir; files not live are closed files, oldest
// (by mtime, then by segment number) first.
void FunctionLog::Files::Scan(Group& g) {
  for (auto& [stem, f] : g.live) {
    Close(*f);
    f->bytes = 0;
  }
  g.closed.clear();
  g.bytes = 0;
  std::vector<std::tuple<fs::file_time_type, std::string, uint64_t>> found;
  std::error_code ec;
  for (fs::directory_iterator it(g.dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    const uint64_t size = it->file_size(fec);
    if (fec) continue;
    const fs::file_time_type mtime = it->last_write_time(fec);
    if (fec) continue;
    g.bytes += size;
    found.emplace_back(mtime, it->path().filename().string(), size);
  }
  auto key = [](const auto& x) {
    const std::string& name = std::get<1>(x);
    return std::tuple(std::get<0>(x), SegmentKey(name), std::string_view(name));
  };
  std::sort(found.begin(), found.end(),
            [&](const auto& a, const auto& b) { return key(a) < key(b); });
  for (auto& [mtime, name, size] : found) g.closed.push_back({std::move(name), size});
  for (auto& [stem, f] : g.live) Adopt(g, *f);
  g.scanned = true;
}

// Takes over `<stem>.log` if it is among the closed files, and numbers segments after the
// existing ones.
void FunctionLog::Files::Adopt(Group& g, LiveFile& f) {
  for (auto it = g.closed.begin(); it != g.closed.end();) {
    const auto [stem, n] = SegmentKey(it->name);
    if (stem != f.stem || n == 0) {
      ++it;
    } else if (n == UINT64_MAX) {
      f.bytes += it->bytes;
      it = g.closed.erase(it);
    } else {
      f.next_segment = std::max(f.next_segment, n + 1);
      ++it;
    }
  }
}

bool FunctionLog::Files::OpenFd(LiveFile& f) {
  if (lru_.size() >= max_open_) Close(*lru_.front());
  constexpr int kFlags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
  int fd = ::open(PathOf(f).c_str(), kFlags, 0644);
  if (fd < 0 && errno == ENOENT) {
    // The function dir (or the log dir) is gone, and whatever was tracked in it.
    std::error_code ec;
    fs::create_directories(f.group->dir, ec);
    Scan(*f.group);
    fd = ::open(PathOf(f).c_str(), kFlags, 0644);
  }
  if (fd < 0) return false;
  f.fd = fd;
  f.lru = lru_.insert(lru_.end(), &f);
  return true;
}

void FunctionLog::Files::Close(LiveFile& f) {
  if (f.fd < 0) return;
  ::close(f.fd);
  f.fd = -1;
  lru_.erase(f.lru);
}

// Writes `data` to f's current file; returns the bytes written. A failure closes the file: the
// next write opens it again.
size_t FunctionLog::Files::Append(LiveFile& f, std::string_view data) {
  if (f.fd < 0 && !OpenFd(f)) return 0;
  lru_.splice(lru_.end(), lru_, f.lru);
  if (f.partial_line) {
    if (WriteAll(f.fd, "\n") != 1) {
      Close(f);
      return 0;
    }
    f.partial_line = false;
    Grow(f, 1);
  }
  const size_t written = WriteAll(f.fd, data);
  Grow(f, written);
  if (written < data.size()) {
    f.partial_line = written > 0 && data[written - 1] != '\n';
    Close(f);
  }
  return written;
}

void FunctionLog::Files::Grow(LiveFile& f, size_t n) {
  f.bytes += n;
  f.group->bytes += n;
}

// Renames the current file to "<stem>.log.<n>", a closed file; the next write starts a new one.
void FunctionLog::Files::Rotate(LiveFile& f) {
  Group& g = *f.group;
  Close(f);
  std::string segment = f.stem + ".log." + std::to_string(f.next_segment++);
  std::error_code ec;
  fs::rename(PathOf(f), g.dir / segment, ec);
  if (!ec) {
    g.closed.push_back({std::move(segment), f.bytes});
  } else {
    g.bytes -= std::min(g.bytes, f.bytes);  // moved away, or not ours to track any more
  }
  f.bytes = 0;
  f.partial_line = false;
  Enforce(g);
}

// Deletes closed files, oldest first, then the largest live file, until g fits the retention.
void FunctionLog::Files::Enforce(Group& g) {
  if (retention_ == 0) return;
  while (g.bytes > retention_) {
    if (!g.closed.empty()) {
      const ClosedFile oldest = std::move(g.closed.front());
      g.closed.pop_front();
      ::unlink((g.dir / oldest.name).c_str());
      g.bytes -= std::min(g.bytes, oldest.bytes);
      continue;
    }
    LiveFile* largest = nullptr;
    for (auto& [stem, f] : g.live) {
      if (!largest || f->bytes > largest->bytes) largest = f.get();
    }
    if (!largest || largest->bytes == 0) {
      g.bytes = 0;  // nothing is tracked any more
      break;
    }
    Close(*largest);
    ::unlink(PathOf(*largest).c_str());
    g.bytes -= std::min(g.bytes, largest->bytes);
    largest->bytes = 0;
    largest->partial_line = false;
  }
}

void FunctionLog::Files::Publish(const Group& g) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  auto it = published_.find(g.function);
  if (it == published_.end()) {
    published_.emplace(g.function, g.bytes);
  } else {
    it->second = g.bytes;
  }
}

// ---- Streams and the writer thread ----

struct LogStream::State {
  State(std::string_view f, std::string_view n)
      : function(f), name(n), stem(StreamStem(n)), refused(!ValidFunctionName(f)) {}

  const std::string function;
  const std::string name;
  const std::string stem;
  const bool refused;
  // Guarded by FunctionLog::mu_.
  std::string pending;          // whole lines not yet taken by the writer
  uint64_t dropped = 0;         // lines dropped for the backlog since the writer last took
  bool queued = false;          // in FunctionLog's dirty list
  bool ended = false;           // the handle is gone
  std::shared_ptr<State> next;  // the next stream in the dirty list
  // Writer thread only.
  LiveFile* file = nullptr;
  uint64_t unreported = 0;  // dropped lines not yet noted in the file
};

struct FunctionLog::Batch {
  std::shared_ptr<LogStream::State> stream;
  std::string chunk;
  uint64_t dropped = 0;
  bool ended = false;
};

LogStream::LogStream(FunctionLog* log, std::shared_ptr<State> state)
    : log_(log), state_(std::move(state)) {}

LogStream::~LogStream() {
  try {
    log_->End(state_);
  } catch (...) {
  }
}

void LogStream::Write(std::string_view line) noexcept {
  try {
    log_->Append(state_, line);
  } catch (...) {
    log_->dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

const std::string& LogStream::name() const { return state_->name; }
const std::string& LogStream::function() const { return state_->function; }

StatusOr<std::unique_ptr<FunctionLog>> FunctionLog::Open(FunctionLogOptions options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (!ec) {
    const fs::file_status st = fs::status(options.dir, ec);
    if (!ec && !fs::is_directory(st)) ec = std::make_error_code(std::errc::not_a_directory);
  }
  if (ec) return Unavailable("cannot create " + options.dir.string() + ": " + ec.message());
  try {
    return std::unique_ptr<FunctionLog>(new FunctionLog(std::move(options)));
  } catch (const std::exception& e) {
    return Internal(std::string("cannot start the function log: ") + e.what());
  }
}

FunctionLog::FunctionLog(FunctionLogOptions options)
    : interval_(options.interval), files_(std::make_unique<Files>(options)) {
  writer_ = std::thread([this] { Run(); });
}

FunctionLog::~FunctionLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  writer_.join();
}

std::unique_ptr<LogStream> FunctionLog::OpenStream(std::string_view function,
                                                   std::string_view stream_name) {
  try {
    auto state = std::make_shared<LogStream::State>(function, stream_name);
    return std::unique_ptr<LogStream>(new LogStream(this, std::move(state)));
  } catch (...) {
    return nullptr;
  }
}

void FunctionLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t ticket = ++flush_wanted_;
  wake_cv_.notify_one();
  flushed_cv_.wait(lock, [&] { return flush_done_ >= ticket; });
}

void FunctionLog::Reopen() noexcept { reopen_.store(true, std::memory_order_relaxed); }

uint64_t FunctionLog::dropped() const { return dropped_.load(std::memory_order_relaxed); }

uint64_t FunctionLog::BytesOnDisk(std::string_view function) const {
  return files_->Published(function);
}

void FunctionLog::Append(const std::shared_ptr<LogStream::State>& s, std::string_view line) {
  if (s->refused) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t now_ms = NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_bytes_ >= kMaxBacklog) {
    ++s->dropped;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    EnqueueLocked(s);
    return;
  }
  if (now_ms != stamp_ms_) {
    stamp_len_ = FormatStamp(now_ms, stamp_);
    stamp_ms_ = now_ms;
  }
  const size_t before = s->pending.size();
  try {
    s->pending.append(stamp_, stamp_len_).append(line).push_back('\n');
  } catch (...) {
    s->pending.resize(before);  // no partial line
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending_bytes_ += s->pending.size() - before;
  EnqueueLocked(s);
  if (pending_bytes_ >= kWakeAt && !wake_) {
    wake_ = true;
    wake_cv_.notify_one();
  }
}

void FunctionLog::End(const std::shared_ptr<LogStream::State>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  s->ended = true;
  if (!s->refused) EnqueueLocked(s);
}

void FunctionLog::EnqueueLocked(const std::shared_ptr<LogStream::State>& s) {
  if (s->queued) return;
  s->queued = true;
  if (dirty_tail_) {
    dirty_tail_->next = s;
  } else {
    dirty_head_ = s;
  }
  dirty_tail_ = s.get();
  ++dirty_count_;
}

std::vector<FunctionLog::Batch> FunctionLog::TakePendingLocked() {
  std::vector<Batch> out;
  out.reserve(dirty_count_);  // the only allocation: the list is not touched if it throws
  for (std::shared_ptr<LogStream::State> s = std::move(dirty_head_); s;) {
    std::shared_ptr<LogStream::State> next = std::move(s->next);
    s->queued = false;
    out.push_back(Batch{s, std::move(s->pending), std::exchange(s->dropped, 0), s->ended});
    s->pending = std::string();
    s = std::move(next);
  }
  dirty_tail_ = nullptr;
  dirty_count_ = 0;
  pending_bytes_ = 0;
  wake_ = false;
  return out;
}

void FunctionLog::Run() {
  for (;;) {
    try {
      if (Pass()) break;
    } catch (...) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // last line: count, and go on
    }
  }
  files_->CloseAll();
}

bool FunctionLog::Pass() {
  std::unique_lock<std::mutex> lock(mu_);
  wake_cv_.wait_for(lock, interval_,
                    [this] { return stop_ || wake_ || flush_wanted_ != flush_done_; });
  const bool stopping = stop_;
  const uint64_t target = flush_wanted_;
  std::vector<Batch> batches = TakePendingLocked();
  lock.unlock();
  WriteBatches(batches);
  batches.clear();
  lock.lock();
  flush_done_ = target;
  flushed_cv_.notify_all();
  return stopping;
}

void FunctionLog::WriteBatches(std::vector<Batch>& batches) noexcept {
  if (reopen_.exchange(false, std::memory_order_relaxed)) files_->CloseAll();
  for (Batch& b : batches) {
    try {
      WriteBatch(b);
    } catch (...) {
      dropped_.fetch_add(CountLines(b.chunk), std::memory_order_relaxed);
    }
    LogStream::State& s = *b.stream;
    if (b.ended && s.file) {
      try {
        files_->Detach(*s.file);
      } catch (...) {
      }
      s.file = nullptr;
    }
  }
}

// Writes one stream's lines, then a note of the lines it lost if there are any.
void FunctionLog::WriteBatch(Batch& b) {
  LogStream::State& s = *b.stream;
  s.unreported += b.dropped;
  if (!s.file && b.chunk.empty() && s.unreported == 0) return;
  if (!s.file) s.file = files_->Attach(s.function, s.stem);
  const uint64_t lost = files_->Write(*s.file, b.chunk);
  if (lost == 0 && s.unreported > 0) {
    char stamp[32];
    std::string note(stamp, FormatStamp(NowMillis(), stamp));
    note += "mlfaas: " + std::to_string(s.unreported) +
            " log lines dropped (the disk fell behind or a write failed)\n";
    if (files_->Write(*s.file, note) == 0) s.unreported = 0;
  }
  dropped_.fetch_add(lost, std::memory_order_relaxed);
  s.unreported += lost;
}

}  // namespace mlfaas::gateway
