#include "gateway/base/log_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <tuple>
#include <utility>

#include "common/utf8.h"

namespace mlfaas::gateway::log_files {
namespace {

constexpr size_t kMaxStreamName = 200;

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
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

}  // namespace

uint64_t SegmentBytes(const FunctionLogOptions& o) {
  if (o.segment_bytes != 0) return o.segment_bytes;
  if (o.retention_bytes == 0) return 64ull << 20;
  return std::clamp<uint64_t>(o.retention_bytes / 8, 64ull << 10, 64ull << 20);
}

size_t FormatStamp(int64_t ms, char (&buf)[32]) {
  const std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  n += static_cast<size_t>(
      std::snprintf(buf + n, sizeof buf - n, ".%03dZ ", static_cast<int>(ms % 1000)));
  return n;
}

bool ParseStamp(std::string_view s, int64_t& ms) {
  // 2026-11-25T17:36:34.123Z
  // 0123456789012345678901234
  if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != '.' || s[23] != 'Z') {
    return false;
  }
  auto num = [&](size_t at, size_t n, int& v) {
    v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec, milli;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
      !num(17, 2, sec) || !num(20, 3, milli) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
      mi > 59 || sec > 60) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  ms = static_cast<int64_t>(timegm(&tm)) * 1000 + milli;
  return true;
}

void AppendJsonEscaped(std::string& out, std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0, run = 0;  // [run, i): bytes to copy as they are
  auto flush = [&] {
    if (i > run) out.append(in.data() + run, i - run);
  };
  while (i < n) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const size_t len = Utf8SequenceLength(p, i, n); len > 0) {  // well-formed: kept
        i += len;
        continue;
      }
      flush();
      out.append("\\ufffd");
      run = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
    run = ++i;
  }
  flush();
}

bool ValidFunctionName(std::string_view f) {
  return !f.empty() && f.size() <= 64 && std::all_of(f.begin(), f.end(), [](char c) {
    return IsAsciiAlnum(c) || c == '_' || c == '-';
  });
}

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

LiveFile* LogFiles::Attach(const std::string& function, const std::string& stem) {
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

uint64_t LogFiles::Write(LiveFile& f, std::string_view data) {
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

void LogFiles::Detach(LiveFile& f) {
  if (--f.users > 0) return;
  Group& g = *f.group;
  Close(f);
  if (f.bytes > 0) g.closed.push_back({f.stem + ".log", f.bytes});
  g.live.erase(g.live.find(f.stem));  // destroys f
  Publish(g);
}

void LogFiles::CloseAll() {
  while (!lru_.empty()) Close(*lru_.front());
  for (auto& [name, g] : groups_) g->scanned = false;
}

uint64_t LogFiles::Published(std::string_view function) const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  auto it = published_.find(function);
  return it == published_.end() ? 0 : it->second;
}

// Rebuilds the group's sizes from a listing of its dir; files not live are closed files, oldest
// (by mtime, then by segment number) first.
void LogFiles::Scan(Group& g) {
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
void LogFiles::Adopt(Group& g, LiveFile& f) {
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

bool LogFiles::OpenFd(LiveFile& f) {
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

void LogFiles::Close(LiveFile& f) {
  if (f.fd < 0) return;
  ::close(f.fd);
  f.fd = -1;
  lru_.erase(f.lru);
}

// Writes `data` to f's current file; returns the bytes written. A failure closes the file: the
// next write opens it again.
size_t LogFiles::Append(LiveFile& f, std::string_view data) {
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

void LogFiles::Grow(LiveFile& f, size_t n) {
  f.bytes += n;
  f.group->bytes += n;
}

// Renames the current file to "<stem>.log.<n>", a closed file; the next write starts a new one.
void LogFiles::Rotate(LiveFile& f) {
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
void LogFiles::Enforce(Group& g) {
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

void LogFiles::Publish(const Group& g) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  auto it = published_.find(g.function);
  if (it == published_.end()) {
    published_.emplace(g.function, g.bytes);
  } else {
    it->second = g.bytes;
  }
}

// ---- Streams and the writer thread ----

}  // namespace mlfaas::gateway::log_files
