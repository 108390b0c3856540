#include "gateway/function_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace mlfaas::gateway {
namespace {
constexpr size_t kFlushAt = 64 * 1024;
}  // namespace

StatusOr<std::unique_ptr<FunctionLog>> FunctionLog::Open(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) return Unavailable("cannot open " + path.string() + ": " + std::strerror(errno));
  return std::unique_ptr<FunctionLog>(new FunctionLog(f));
}

FunctionLog::~FunctionLog() {
  Flush();
  std::fclose(file_);
}

void FunctionLog::Write(std::string_view key, std::string_view stream, std::string_view line) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::lock_guard<std::mutex> lock(mu_);
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
  if (buffer_.size() >= kFlushAt) FlushLocked();
}

void FunctionLog::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked();
}

void FunctionLog::FlushLocked() {
  if (buffer_.empty()) return;
  std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
  std::fflush(file_);
  buffer_.clear();
}

}  // namespace mlfaas::gateway
