// Reference data a test compares with, made at build time by a third-party tool (python3-xgboost,
// scikit-learn) instead of in every test run: mlfaas_reference_data() in tests/CMakeLists.txt,
// which gives the test target MLFAAS_REFERENCE_DATA_DIR. A failed command does not fail the
// build: the test reports it, with the command's stderr.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mlfaas::testing {

struct ReferenceData {
  std::filesystem::path dir;  // the command's output directory
  std::string error;          // empty when the command succeeded
  std::string log;            // its stderr
};

// The data named `name` (mlfaas_reference_data's NAME).
inline ReferenceData LoadReferenceData(const std::string& name) {
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  ReferenceData d;
  d.dir = std::filesystem::path(MLFAAS_REFERENCE_DATA_DIR) / name;
  d.log = slurp(d.dir / "stderr.txt");
  if (std::filesystem::exists(d.dir / "done")) return d;
  if (std::filesystem::exists(d.dir / "failed")) {
    std::string code = slurp(d.dir / "failed");
    code.erase(code.find_last_not_of(" \n") + 1);
    d.error = "the build-time command that makes " + d.dir.string() + " failed (exit " + code +
              "; it runs again at the next build)";
  } else {
    d.error = d.dir.string() + " is missing: build the test target again";
  }
  return d;
}

}  // namespace mlfaas::testing
