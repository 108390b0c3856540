// A load-test plan: the Taurus-style YAML subset of DESIGN §3 after parsing and validation.
//
// Plain value types; no behaviour beyond small helpers. Durations are in scenario time: the
// runner divides schedule durations (ramp-up, hold-for, delay, at, think-time) by the time-scale.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loadtest/criteria.h"
#include "loadtest/duration.h"

namespace mlfaas::loadtest {

// An http:// URL split for the client. https is rejected by the parser.
struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";  // path + query
};

StatusOr<Url> ParseUrl(const std::string& text);

// `assert-jsonpath`: the JSON field at `path` ($.a.b[0]) must equal `expected` (compared as
// JSON when it parses as JSON, else as a string); `invert` negates.
struct JsonAssertion {
  std::string path;
  std::optional<std::string> expected;  // absent: the field only has to exist
  bool invert = false;
};

// `assert`: `contains` strings must all be found in the subject (body or http-code).
struct ContainsAssertion {
  enum class Subject { kBody, kHttpCode };
  Subject subject = Subject::kBody;
  std::vector<std::string> contains;
  bool invert = false;
};

struct RequestSpec {
  std::string url_text;
  Url url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration think_time{0};
  Duration timeout = std::chrono::seconds(30);
  std::vector<ContainsAssertion> asserts;
  std::vector<JsonAssertion> json_asserts;
};

struct Scenario {
  std::string name;
  std::vector<RequestSpec> requests;  // non-empty; each user cycles through them in order
};

// One `execution` item. Stages run one after the other (each after its own `delay`).
struct Stage {
  std::string scenario;
  int concurrency = 1;
  Duration ramp_up{0};
  Duration hold_for{0};
  int steps = 0;             // 0: a new user every ramp_up/concurrency; else that many steps
  int64_t iterations = 0;    // per user; 0 = unlimited (until ramp-up + hold-for ends)
  double throughput = 0;     // closed loop: cap on requests/s for the stage (0 = none)
  double rate = 0;           // > 0: open loop, arrivals/s; latency from the intended send time
  Duration delay{0};         // pause before the stage starts
  std::vector<Duration> at;  // timeline mode: one request at each offset (one user)

  bool timeline() const { return !at.empty(); }
  bool open_loop() const { return rate > 0; }
};

struct Plan {
  std::vector<Stage> stages;
  std::map<std::string, Scenario> scenarios;
  std::vector<Criterion> criteria;
};

}  // namespace mlfaas::loadtest
