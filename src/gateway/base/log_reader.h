// Reading a function's log back (function_log.h wrote it): `mlfaas logs` on the home, and
// GET /v1/functions/{name}/logs on a gateway (the CloudWatch Logs analogue of `aws logs tail`).
//
// ReadLogs reads every file of `<dir>/<function>/` (live `<stream>.log` and rotated
// `<stream>.log.<n>`), keeps the events that match the query and returns the oldest (or, for a
// tail, the newest) of them in time order (ties: by file name, then by position in the file), one
// bounded page at a time. Files last written before `since` are not opened. Lines in the older
// "<UTC time> <text>" form are read too (without version and request id); other lines are skipped.
// Nothing here throws, and nothing recurses on the input: a line is parsed as one flat JSON object
// (ParseJson, depth 1) and lines over 1 MiB are skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::gateway {

// One line of the function log.
struct LogEvent {
  int64_t time_ms = 0;
  std::string time;  // "2026-11-25T17:36:34.123Z"
  std::string function;
  std::string version;     // "" for the older lines
  std::string stream;      // the log stream (instance)
  std::string request_id;  // "" when the line belongs to no invocation
  std::string text;
};

// The event as the function log stores it: one JSON object, no newline (function_log.h).
std::string LogEventJson(const LogEvent& e);
// The event from such an object (as the HTTP route returns it); false when a field is missing or
// not a string, or the time is malformed. Never throws.
bool LogEventFromJson(const nlohmann::json& j, LogEvent& out);
// "<time> <stream> <text>", the `mlfaas logs` line.
std::string LogEventText(const LogEvent& e);

struct LogQuery {
  int64_t since_ms = 0;          // events at or after this time
  int64_t until_ms = INT64_MAX;  // and before this one
  uint64_t skip = 0;             // of the matching events at exactly since_ms, skip this many
  std::string request_id;        // exact match, when not empty
  std::string filter;            // a substring of the text, when not empty
  size_t limit = 1000;           // events per page (at least 1)
  size_t max_bytes = 1u << 20;   // LogEventJson bytes per page (at least one event is returned)
  // The newest matching events instead of the oldest (a tail): `truncated` then says older
  // ones were left out, and the page's `next` still continues after its newest event.
  bool newest = false;
};

inline constexpr size_t kMaxLogLimit = 10000;
inline constexpr uint64_t kMaxLogSkip = 100000;

struct LogPage {
  std::vector<LogEvent> events;
  bool truncated = false;  // more events match: ask again from `next`
  // Where the next page (or, when following, the next poll) starts: since_ms + skip.
  int64_t next_ms = 0;
  uint64_t next_skip = 0;
};

// Reads a page of `function`'s log under `dir` (the gateway's log dir, <home>/logs). NotFound
// when the function has no log dir; InvalidArgument for a bad function name or query.
StatusOr<LogPage> ReadLogs(const std::filesystem::path& dir, std::string_view function,
                           const LogQuery& q);

// `since` as the command and the route take it: a duration back from `now_ms` ("90s", "10m",
// "2h", "1d", "1w"), an RFC 3339 UTC time ("2026-11-25T17:36:34Z", ".123" optional), or epoch
// milliseconds. InvalidArgument otherwise.
StatusOr<int64_t> ParseSince(std::string_view since, int64_t now_ms);

// The page cursor as text, "<ms>-<skip>", and back (false when malformed).
std::string LogCursor(int64_t ms, uint64_t skip);
bool ParseLogCursor(std::string_view token, int64_t& ms, uint64_t& skip);

}  // namespace mlfaas::gateway
