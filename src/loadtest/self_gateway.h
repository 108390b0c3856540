// For `mlfaas bench study` without --endpoint: trains the KDD99 model, creates and publishes
// function `kdd99-anomaly` and runs `mlfaas serve --port 0` on a temporary home, all through the
// same mlfaas binary (child processes). For `--matrix`, StartWith creates one function per cell
// instead (built-in runtime, the Python and Java example bundles, the CPU fixture), still from
// one training. Non-copyable; the destructor stops the gateway (SIGTERM, then SIGKILL after
// 10 s) and reaps it; the home is removed with it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace mlfaas::loadtest {

// One function to create before the gateway serves.
struct GatewayFunction {
  enum class Code {
    kModel,         // the trained package, built-in runtime
    kPythonBundle,  // examples/python/make_bundle.sh, runtime provided
    kJavaBundle,    // examples/java/make_bundle.sh, runtime provided
    kCpuFixture,    // bench/fixtures/cpu_burn/bootstrap, runtime provided
  };
  std::string name;
  Code code = Code::kModel;
  int memory_mb = 512;
  std::string model_loading;  // empty: the default (init)
  int timeout_s = 0;          // 0: the default
};

class SelfGateway {
 public:
  // `idle_timeout_s` is passed to `serve --idle-timeout`. Logs go to <home>/serve.log.
  static StatusOr<std::unique_ptr<SelfGateway>> Start(const std::filesystem::path& mlfaas_exe,
                                                      const std::filesystem::path& data_file,
                                                      int idle_timeout_s, std::ostream& progress);
  // Trains once, builds the bundles `functions` need (from the source tree holding `data_file`),
  // creates every function ($LATEST, unpublished), then serves.
  static StatusOr<std::unique_ptr<SelfGateway>> StartWith(
      const std::filesystem::path& mlfaas_exe, const std::filesystem::path& data_file,
      const std::vector<GatewayFunction>& functions, int idle_timeout_s, std::ostream& progress);
  ~SelfGateway();
  SelfGateway(const SelfGateway&) = delete;
  SelfGateway& operator=(const SelfGateway&) = delete;

  // http://127.0.0.1:PORT/2015-03-31/functions/kdd99-anomaly/invocations
  const std::string& invoke_url() const { return invoke_url_; }
  // http://127.0.0.1:PORT
  const std::string& base_url() const { return base_url_; }
  std::string InvokeUrl(const std::string& function) const {
    return base_url_ + "/2015-03-31/functions/" + function + "/invocations";
  }

 private:
  SelfGateway() : home_("mlfaas-study") {}
  Status Serve(const std::filesystem::path& exe, int idle_timeout_s, std::ostream& progress);
  TempDir home_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string invoke_url_;
  std::string base_url_;
};

// The shipped data file: ./data/kdd99-http.csv.gz or <exe>/../../data/... (build/bin layout).
StatusOr<std::filesystem::path> FindStudyData(const std::filesystem::path& mlfaas_exe);

}  // namespace mlfaas::loadtest
