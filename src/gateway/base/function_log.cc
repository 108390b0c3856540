#include "gateway/base/function_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <tuple>
#include <utility>

#include "gateway/base/log_files.h"

namespace mlfaas::gateway {
namespace fs = std::filesystem;
namespace {

constexpr size_t kWakeAt = 256 * 1024;
constexpr size_t kMaxBacklog = 32u << 20;

using log_files::AppendJsonEscaped;
using log_files::CountLines;
using log_files::FormatStamp;
using log_files::kTimeKey;
using log_files::LiveFile;
using log_files::StreamStem;

}  // namespace

std::string LogStreamFileName(std::string_view stream_name) {
  return StreamStem(stream_name) + ".log";
}

namespace {

// `","function":"<f>","version":"<v>","stream":"<s>"`: what follows the time in each line.
std::string LineHead(std::string_view function, std::string_view version, std::string_view stream) {
  std::string head = R"(","function":")";
  AppendJsonEscaped(head, function);
  head += R"(","version":")";
  AppendJsonEscaped(head, version);
  head += R"(","stream":")";
  AppendJsonEscaped(head, stream);
  head += '"';
  return head;
}

// The line for `text`: `{"time":"` + stamp + `tail`, where tail is head + request id + text.
void AppendTail(std::string& out, const std::string& head, std::string_view request_id,
                std::string_view text) {
  out += head;
  if (!request_id.empty()) {
    out += R"(,"request_id":")";
    AppendJsonEscaped(out, request_id);
    out += '"';
  }
  out += R"(,"text":")";
  AppendJsonEscaped(out, text);
  out += "\"}\n";
}

}  // namespace

struct LogStream::State {
  State(std::string_view f, std::string_view n, std::string_view v)
      : function(f),
        name(n),
        stem(StreamStem(n)),
        head(LineHead(f, v, n)),
        refused(!log_files::ValidFunctionName(f)) {}

  const std::string function;
  const std::string name;
  const std::string stem;
  const std::string head;  // LineHead
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

void LogStream::Write(std::string_view line, std::string_view request_id) noexcept {
  try {
    log_->Append(state_, line, request_id);
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
    : clock_(options.clock ? *options.clock : SystemClock::Get()),
      interval_(options.interval),
      files_(std::make_unique<log_files::LogFiles>(options)) {
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
                                                   std::string_view stream_name,
                                                   std::string_view version) {
  try {
    auto state = std::make_shared<LogStream::State>(function, stream_name, version);
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

void FunctionLog::Append(const std::shared_ptr<LogStream::State>& s, std::string_view line,
                         std::string_view request_id) {
  if (s->refused) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t now_ms = clock_.EpochMillis();
  // Escaping is the only per-byte work: done before the lock, into a buffer reused by the thread
  // (given back when a huge line has grown it).
  thread_local std::string tail;
  tail.clear();
  struct Shrink {
    ~Shrink() {
      if (tail.capacity() > (1u << 20)) std::string().swap(tail);
    }
  } shrink;
  AppendTail(tail, s->head, request_id, line);
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
    s->pending.append(kTimeKey).append(stamp_, stamp_len_ - 1).append(tail);
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
    std::string note(kTimeKey);
    note.append(stamp, FormatStamp(clock_.EpochMillis(), stamp) - 1);
    AppendTail(note, s.head, {},
               "mlfaas: " + std::to_string(s.unreported) +
                   " log lines dropped (the disk fell behind or a write failed)");
    if (files_->Write(*s.file, note) == 0) s.unreported = 0;
  }
  dropped_.fetch_add(lost, std::memory_order_relaxed);
  s.unreported += lost;
}

}  // namespace mlfaas::gateway