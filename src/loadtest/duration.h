// Durations as written in scenario files ("3m", "90s", "500ms", "1h", "1m30s", bare seconds).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas::loadtest {

using Duration = std::chrono::nanoseconds;

// Parses a non-negative duration: a sequence of <number><unit> with units h, m, s, ms, us, ns;
// a bare number means seconds (Taurus' convention). Fractions are allowed ("1.5s").
StatusOr<Duration> ParseDuration(std::string_view text);

// "61m", "1m30s", "500ms", "0s": the shortest exact form using h/m/s/ms units (us or ns when
// finer: "1500ns"). ParseDuration reads every form back.
std::string FormatDuration(Duration d);

// Milliseconds as a double, for reports.
inline double ToMillis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace mlfaas::loadtest
