// The model package `mlfaas train --data <the shipped data> --json` makes, for tests that need a
// trained model: trained once per ctest run by the fixture KddPackage.Train
// (tests/testing/kdd_package.sh; a test target gets it with mlfaas_add_test's KDD_PACKAGE), not
// by each test (0.4 s each). Only for targets built with it (MLFAAS_BIN, MLFAAS_KDD_PACKAGE_DIR).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>

#include "testing/subprocess.h"

namespace mlfaas::testing {

struct TrainedKdd {
  bool ok = false;             // train exited 0
  int exit_code = -1;          // its exit code
  std::string report;          // its stdout: the --json report
  std::string err;             // its stderr
  std::filesystem::path path;  // where it wrote the package (its --out)
};

// Copies the trained package to `dest` (a zip path). When the fixture's package is missing or
// older than MLFAAS_BIN (a test binary run by hand, outside ctest), trains it into `dest` here,
// as the fixture does.
inline TrainedKdd CopyTrainedKddPackage(const std::filesystem::path& dest) {
  namespace fs = std::filesystem;
  const fs::path dir = MLFAAS_KDD_PACKAGE_DIR;
  TrainedKdd t;
  std::error_code ec, ec2;
  const auto made = fs::last_write_time(dir / "done", ec);
  const auto built = fs::last_write_time(MLFAAS_BIN, ec2);
  if (!ec && !ec2 && made >= built &&
      fs::copy_file(dir / "kdd.zip", dest, fs::copy_options::overwrite_existing, ec) && !ec) {
    t.ok = true;
    t.exit_code = 0;
    t.report = Slurp((dir / "train.json").string());
    t.err = Slurp((dir / "train.err").string());
    t.path = dir / "kdd.zip";
    return t;
  }
  const CommandResult r = RunCommand(
      {MLFAAS_BIN, "train", "--data", MLFAAS_DATA_FILE, "--out", dest.string(), "--json"}, {},
      std::chrono::seconds(120));
  t.ok = r.exit_code == 0;
  t.exit_code = r.exit_code;
  t.report = r.out;
  t.err = r.err;
  t.path = dest;
  return t;
}

}  // namespace mlfaas::testing
