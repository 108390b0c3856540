#include "gateway/base/log_reader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <tuple>
#include <utility>

#include "common/json.h"
#include "gateway/base/log_files.h"

namespace mlfaas::gateway {
namespace fs = std::filesystem;
namespace {

using log_files::AppendJsonEscaped;
using log_files::kTimeKey;
using log_files::ParseStamp;

constexpr size_t kMaxLine = 1u << 20;

// A file of the function dir: "<stem>.log" (n = max) or "<stem>.log.<n>".
struct LogFile {
  std::string stem;
  uint64_t n = 0;
  fs::path path;
};

bool SplitLogName(const std::string& name, std::string& stem, uint64_t& n) {
  if (name.size() > 4 && name.ends_with(".log")) {
    stem = name.substr(0, name.size() - 4);
    n = UINT64_MAX;
    return true;
  }
  const size_t at = name.rfind(".log.");
  if (at == std::string::npos || at == 0) return false;
  const char* begin = name.data() + at + 5;
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || ptr != end || begin == end) return false;
  stem = name.substr(0, at);
  return true;
}

int64_t MtimeMillis(fs::file_time_type t) {
  const auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

// True when `needle` appears in JSON the same as in raw text (so a raw search can rule a line out).
bool EscapesToItself(std::string_view needle) {
  return std::all_of(needle.begin(), needle.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '/';
  });
}

struct Candidate {
  LogEvent event;
  uint64_t seq = 0;  // read order: file order, then line order
  size_t bytes = 0;
};

bool Older(const Candidate& a, const Candidate& b) {
  return std::tie(a.event.time_ms, a.seq) < std::tie(b.event.time_ms, b.seq);
}

class Collector {
 public:
  Collector(const LogQuery& q, std::string_view function) : q_(q), function_(function) {}

  // One line of the file of `stream_stem`.
  void Line(std::string_view line, const std::string& stream_stem) {
    LogEvent e;
    if (line.starts_with(kTimeKey)) {
      if (line.size() < kTimeKey.size() + 25 ||
          !ParseStamp(line.substr(kTimeKey.size(), 24), e.time_ms)) {
        return;
      }
      if (!InRange(e.time_ms)) return;
      if (!q_.request_id.empty() && EscapesToItself(q_.request_id) &&
          line.find(q_.request_id) == std::string_view::npos) {
        return;
      }
      if (!q_.filter.empty() && EscapesToItself(q_.filter) &&
          line.find(q_.filter) == std::string_view::npos) {
        return;
      }
      auto j = ParseJson(line, 1);
      if (!j.ok() || !LogEventFromJson(*j, e)) return;
    } else {
      // The older form: "<UTC time> <text>".
      if (line.size() < 25 || line[24] != ' ' || !ParseStamp(line.substr(0, 24), e.time_ms)) return;
      if (!InRange(e.time_ms)) return;
      e.time = std::string(line.substr(0, 24));
      e.function = std::string(function_);
      e.stream = stream_stem;
      e.text = std::string(line.substr(25));
    }
    if (!q_.request_id.empty() && e.request_id != q_.request_id) return;
    if (!q_.filter.empty() && e.text.find(q_.filter) == std::string::npos) return;
    if (e.time_ms == q_.since_ms && skipped_ < q_.skip) {
      ++skipped_;  // read order is the page order among equal times
      return;
    }
    const size_t bytes = line.size();
    kept_bytes_ += bytes;
    kept_.push_back({std::move(e), seq_++, bytes});
    if (kept_.size() >= 2 * (q_.limit + 1) || kept_bytes_ >= 2 * q_.max_bytes + 2 * kMaxLine) {
      Trim();
    }
  }

  LogPage Finish() {
    Trim();
    LogPage page;
    const size_t n = PageSize();
    page.truncated = dropped_ || kept_.size() > n;
    if (q_.newest) {
      kept_.erase(kept_.begin(), kept_.end() - static_cast<std::ptrdiff_t>(n));
    } else {
      kept_.resize(n);
    }
    page.events.reserve(n);
    for (auto& c : kept_) page.events.push_back(std::move(c.event));
    page.next_ms = q_.since_ms;
    page.next_skip = q_.skip;
    if (!page.events.empty()) {
      const int64_t last = page.events.back().time_ms;
      uint64_t at_last = 0;
      for (const auto& e : page.events) at_last += e.time_ms == last;
      page.next_ms = last;
      page.next_skip = at_last + (last == q_.since_ms ? q_.skip : 0);
    }
    return page;
  }

 private:
  bool InRange(int64_t t) const { return t >= q_.since_ms && t < q_.until_ms; }

  // How many of the (sorted) kept events fit in a page: the oldest, or the newest for a tail.
  size_t PageSize() const {
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < kept_.size(); ++i) {
      const Candidate& c = q_.newest ? kept_[kept_.size() - 1 - i] : kept_[i];
      if (n >= q_.limit || (n > 0 && bytes + c.bytes > q_.max_bytes)) break;
      bytes += c.bytes;
      ++n;
    }
    return n;
  }

  // Sorts, and keeps a page and one more (which says there is more), at the page's end.
  void Trim() {
    std::sort(kept_.begin(), kept_.end(), Older);
    const size_t keep = PageSize() + 1;
    if (kept_.size() > keep) {
      dropped_ = true;
      if (q_.newest) {
        kept_.erase(kept_.begin(), kept_.end() - static_cast<std::ptrdiff_t>(keep));
      } else {
        kept_.resize(keep);
      }
    }
    kept_bytes_ = 0;
    for (const auto& c : kept_) kept_bytes_ += c.bytes;
  }

  const LogQuery& q_;
  const std::string_view function_;
  std::vector<Candidate> kept_;
  size_t kept_bytes_ = 0;
  uint64_t seq_ = 0;
  uint64_t skipped_ = 0;
  bool dropped_ = false;
};

// Feeds each line of `path` (at most kMaxLine bytes; longer ones are skipped) to `c`.
void ReadFile(const fs::path& path, const std::string& stem, Collector& c) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (!f) return;  // rotated or deleted meanwhile
  std::string line;
  bool too_long = false;
  char buf[64 * 1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    std::string_view chunk(buf, n);
    while (!chunk.empty()) {
      const size_t nl = chunk.find('\n');
      const std::string_view part = chunk.substr(0, nl);
      if (!too_long) {
        if (line.size() + part.size() > kMaxLine) {
          too_long = true;
          line.clear();
        } else {
          line.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      if (!too_long) c.Line(line, stem);
      line.clear();
      too_long = false;
      chunk.remove_prefix(nl + 1);
    }
  }
  // A last line without its '\n' is still being written: left for the next read.
}

}  // namespace

std::string LogEventJson(const LogEvent& e) {
  std::string out(kTimeKey);
  AppendJsonEscaped(out, e.time);
  out += R"(","function":")";
  AppendJsonEscaped(out, e.function);
  out += R"(","version":")";
  AppendJsonEscaped(out, e.version);
  out += R"(","stream":")";
  AppendJsonEscaped(out, e.stream);
  out += '"';
  if (!e.request_id.empty()) {
    out += R"(,"request_id":")";
    AppendJsonEscaped(out, e.request_id);
    out += '"';
  }
  out += R"(,"text":")";
  AppendJsonEscaped(out, e.text);
  out += "\"}";
  return out;
}

bool LogEventFromJson(const nlohmann::json& j, LogEvent& out) {
  auto time = JsonString(j, "time");
  auto function = JsonString(j, "function");
  auto version = JsonString(j, "version");
  auto stream = JsonString(j, "stream");
  auto text = JsonString(j, "text");
  if (!time || !function || !version || !stream || !text) return false;
  if (!ParseStamp(*time, out.time_ms)) return false;
  const nlohmann::json* rid = JsonField(j, "request_id");
  if (rid && !rid->is_string()) return false;
  out.time = std::move(*time);
  out.function = std::move(*function);
  out.version = std::move(*version);
  out.stream = std::move(*stream);
  out.request_id = rid ? rid->get_ref<const std::string&>() : std::string();
  out.text = std::move(*text);
  return true;
}

std::string LogEventText(const LogEvent& e) { return e.time + " " + e.stream + " " + e.text; }

StatusOr<LogPage> ReadLogs(const fs::path& dir, std::string_view function, const LogQuery& q) {
  if (!log_files::ValidFunctionName(function)) {
    return InvalidArgument("invalid function name '" + std::string(function.substr(0, 64)) + "'");
  }
  if (q.skip > kMaxLogSkip) return InvalidArgument("invalid next token (skip too large)");
  LogQuery query = q;
  query.limit = std::clamp<size_t>(q.limit, 1, kMaxLogLimit);
  query.max_bytes = std::max<size_t>(q.max_bytes, 1);
  try {
    const fs::path group = dir / std::string(function);
    std::error_code ec;
    if (!fs::is_directory(group, ec)) {
      return NotFound("function '" + std::string(function) + "' has no log");
    }
    std::vector<LogFile> files;
    for (fs::directory_iterator it(group, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code fec;
      if (!it->is_regular_file(fec)) continue;
      LogFile f;
      if (!SplitLogName(it->path().filename().string(), f.stem, f.n)) continue;
      const auto mtime = it->last_write_time(fec);
      // A file last written before `since` holds nothing as new (lines are stamped before they
      // are written).
      if (!fec && MtimeMillis(mtime) < query.since_ms) continue;
      f.path = it->path();
      files.push_back(std::move(f));
    }
    std::sort(files.begin(), files.end(), [](const LogFile& a, const LogFile& b) {
      return std::tie(a.stem, a.n) < std::tie(b.stem, b.n);
    });
    Collector c(query, function);
    for (const auto& f : files) ReadFile(f.path, f.stem, c);
    return c.Finish();
  } catch (const std::exception& e) {
    return Internal(std::string("cannot read the log: ") + e.what());
  }
}

StatusOr<int64_t> ParseSince(std::string_view s, int64_t now_ms) {
  auto bad = [&] {
    return InvalidArgument("invalid since '" + std::string(s.substr(0, 64)) +
                           "': give a duration (30s, 10m, 2h, 1d, 1w), an RFC 3339 UTC time "
                           "(2026-11-25T17:36:34Z) or epoch milliseconds");
  };
  if (s.empty() || s.size() > 40) return bad();
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (ec == std::errc() && ptr != begin && n >= 0) {
    const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
    if (unit.empty()) return n;  // epoch ms
    int64_t unit_ms = 0;
    if (unit == "s") {
      unit_ms = 1000;
    } else if (unit == "m") {
      unit_ms = 60'000;
    } else if (unit == "h") {
      unit_ms = 3'600'000;
    } else if (unit == "d") {
      unit_ms = 86'400'000;
    } else if (unit == "w") {
      unit_ms = 7 * 86'400'000ll;
    }
    if (unit_ms > 0) {
      if (n > 100'000'000'000'000ll / unit_ms) return bad();
      return std::max<int64_t>(0, now_ms - n * unit_ms);
    }
  }
  std::string stamp(s);
  if (stamp.size() == 20 && stamp.back() == 'Z') stamp.insert(19, ".000");
  int64_t ms = 0;
  if (ParseStamp(stamp, ms) && ms >= 0) return ms;
  return bad();
}

std::string LogCursor(int64_t ms, uint64_t skip) {
  return std::to_string(ms) + "-" + std::to_string(skip);
}

bool ParseLogCursor(std::string_view token, int64_t& ms, uint64_t& skip) {
  const size_t dash = token.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == token.size()) return false;
  const char* end = token.data() + dash;
  auto [p1, e1] = std::from_chars(token.data(), end, ms);
  if (e1 != std::errc() || p1 != end || ms < 0) return false;
  const char* begin = token.data() + dash + 1;
  end = token.data() + token.size();
  auto [p2, e2] = std::from_chars(begin, end, skip);
  return e2 == std::errc() && p2 == end && skip <= kMaxLogSkip;
}

}  // namespace mlfaas::gateway
