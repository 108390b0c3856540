// Fuzz target: bytes as a Taurus-style scenario file for the load tester.
//
// loadtest::ParsePlanText must turn any text into a Plan or an error, never throw or crash, and
// a Plan it returns must be usable by the runner: its schedule (UserStartOffset, StageLength,
// ScheduledUsers, PacedSendOffset) computes without overflow at time-scales 1 and 60, every
// duration formats and parses back to itself, every stage names a scenario, every scenario has
// requests. The first line, when it reads `key=value`, is also tried as a `-o` override.
//
// File reads: `body-file` is resolved against a temp dir holding body.json. An input whose YAML
// names any other body-file (absolute, with '/', "..") is skipped before parsing, so the fuzzer
// never reads /dev/zero or a FIFO of the machine.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "loadtest/duration.h"
#include "loadtest/plan.h"
#include "loadtest/plan_parser.h"
#include "loadtest/schedule.h"

namespace {

using namespace mlfaas;
using namespace mlfaas::loadtest;
namespace fs = std::filesystem;

using fuzz::Fail;

// Holds body.json, the one file a scenario may name. Removed at exit.
const fs::path& BaseDir() {
  static fuzz::TempDir dir("yaml");
  static const bool written = [] {
    std::ofstream(dir.path() / "body.json") << R"({"duration":0,"src_bytes":215})";
    return true;
  }();
  (void)written;
  return dir.path();
}

bool SafeFileName(const std::string& s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 64) return false;
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// False when some map of the document has a key "body-file" whose value is not a plain file
// name. Walks without recursion; a node reached through several aliases is visited once (by its
// position in the text), so alias bombs cost nothing here.
bool BodyFilesAreSafe(const YAML::Node& root) {
  std::vector<YAML::Node> stack{root};
  std::set<int> seen;
  size_t visited = 0;
  while (!stack.empty()) {
    YAML::Node n = stack.back();
    stack.pop_back();
    if (!n.IsDefined() || n.IsNull() || n.IsScalar()) continue;
    const YAML::Mark m = n.Mark();
    if (!m.is_null() && !seen.insert(m.pos).second) continue;
    if (++visited > 200000) return false;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (n.IsMap()) {
        if (it->first.IsScalar() && it->first.Scalar() == "body-file") {
          if (!it->second.IsScalar() || !SafeFileName(it->second.Scalar())) return false;
        }
        stack.push_back(it->first);
        stack.push_back(it->second);
      } else {
        stack.push_back(*it);
      }
    }
  }
  return true;
}

bool SafeToParse(std::string_view text) {
  // Without a backslash escape, a key reads "body-file" only if the text holds it literally
  // (quoting and folding add characters, never remove them): no need to load the YAML twice.
  if (text.find("body-file") == std::string_view::npos &&
      text.find('\\') == std::string_view::npos) {
    return true;
  }
  try {
    return BodyFilesAreSafe(YAML::Load(std::string(text)));
  } catch (const YAML::Exception&) {
    return true;  // the parser refuses it too, before reading any file
  }
}

void CheckDuration(Duration d) {
  if (d.count() < 0) Fail("negative duration in a plan");
  auto back = ParseDuration(FormatDuration(d));
  if (!back.ok() || *back != d) {
    Fail("FormatDuration does not round-trip", FormatDuration(d));
  }
}

void CheckPlan(const Plan& plan) {
  if (plan.stages.empty()) Fail("a plan without stages");
  for (const auto& [name, s] : plan.scenarios) {
    if (s.requests.empty()) Fail("a scenario without requests", name);
    for (const RequestSpec& r : s.requests) {
      CheckDuration(r.think_time);
      CheckDuration(r.timeout);
    }
  }
  for (const Stage& st : plan.stages) {
    if (!plan.scenarios.count(st.scenario)) Fail("a stage names no scenario", st.scenario);
    if (st.concurrency < 1) Fail("concurrency < 1");
    for (Duration d : {st.ramp_up, st.hold_for, st.delay}) CheckDuration(d);
    for (Duration d : st.at) CheckDuration(d);
    for (double scale : {1.0, 60.0}) {
      (void)StageLength(st, scale);
      for (int user : {0, 1, st.concurrency / 2, st.concurrency - 1}) {
        if (user >= 0 && user < st.concurrency) (void)UserStartOffset(st, user, scale);
      }
      if (st.concurrency <= 1000) {
        (void)ScheduledUsers(st, Duration(0), scale);
        (void)ScheduledUsers(st, st.ramp_up, scale);
      }
    }
    for (double per_second : {st.rate, st.throughput}) {
      if (per_second > 0) {
        for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{1000000}}) {
          (void)PacedSendOffset(k, per_second);
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!SafeToParse(text)) return 0;
  auto plan = ParsePlanText(text, "fuzz.yaml", BaseDir());
  if (plan.ok()) CheckPlan(*plan);

  const std::string_view first = text.substr(0, text.find('\n'));
  auto ov = ParseOverride(first);
  if (ov.ok()) {
    // The override's value is YAML too, and its path may itself name a body-file.
    if (ov->path.find("body-file") != std::string::npos || !SafeToParse(ov->value)) return 0;
    auto with = ParsePlanText(text, "fuzz.yaml", BaseDir(), {*ov});
    if (with.ok()) CheckPlan(*with);
  }
  return 0;
}
