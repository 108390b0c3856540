#include "gateway/function_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace mlfaas::gateway {
namespace {
constexpr size_t kWakeAt = 256 * 1024;
constexpr size_t kMaxBuffered = 32u << 20;
constexpr auto kInterval = std::chrono::milliseconds(200);
}  // namespace

StatusOr<std::unique_ptr<FunctionLog>> FunctionLog::Open(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) return Unavailable("cannot open " + path.string() + ": " + std::strerror(errno));
  return std::unique_ptr<FunctionLog>(new FunctionLog(f));
}

FunctionLog::FunctionLog(std::FILE* file) : file_(file) {
  writer_ = std::thread([this] { Run(); });
}

FunctionLog::~FunctionLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
  Flush();
  std::fclose(file_);
}

void FunctionLog::Write(std::string_view key, std::string_view stream, std::string_view line) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::lock_guard<std::mutex> lock(mu_);
  if (buffer_.size() >= kMaxBuffered) {
    ++dropped_;
    return;
  }
  if (now_ms != stamp_ms_) {
    std::time_t secs = now_ms / 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    size_t n = std::strftime(stamp_, sizeof stamp_, "%Y-%m-%dT%H:%M:%S", &tm);
    n += static_cast<size_t>(
        std::snprintf(stamp_ + n, sizeof stamp_ - n, ".%03dZ ", static_cast<int>(now_ms % 1000)));
    stamp_len_ = n;
    stamp_ms_ = now_ms;
  }
  buffer_.append(stamp_, stamp_len_);
  buffer_.append(key);
  buffer_.push_back(' ');
  buffer_.append(stream);
  buffer_.push_back(' ');
  buffer_.append(line);
  buffer_.push_back('\n');
  if (buffer_.size() >= kWakeAt && !wake_pending_) {
    wake_pending_ = true;
    cv_.notify_one();
  }
}

void FunctionLog::Flush() {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::string chunk;
  uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    chunk.swap(buffer_);
    std::swap(dropped, dropped_);
    wake_pending_ = false;
  }
  if (!chunk.empty()) std::fwrite(chunk.data(), 1, chunk.size(), file_);
  if (dropped) {
    std::fprintf(file_, "mlfaas: %llu function log lines dropped (the disk fell behind)\n",
                 static_cast<unsigned long long>(dropped));
  }
  std::fflush(file_);
}

void FunctionLog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kInterval, [this] { return stop_ || wake_pending_; });
    lock.unlock();
    Flush();
    lock.lock();
  }
}

}  // namespace mlfaas::gateway
