// For `mlfaas bench study` without --endpoint: trains the KDD99 model, creates and publishes
// function `kdd99-anomaly` and runs `mlfaas serve --port 0` on a temporary home, all through the
// same mlfaas binary (child processes). Non-copyable; the destructor stops the gateway
// (SIGTERM, then SIGKILL after 10 s) and reaps it; the home is removed with it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/fs.h"
#include "common/status.h"

namespace mlfaas::loadtest {

class SelfGateway {
 public:
  // `idle_timeout_s` is passed to `serve --idle-timeout`. Logs go to <home>/serve.log.
  static StatusOr<std::unique_ptr<SelfGateway>> Start(const std::filesystem::path& mlfaas_exe,
                                                      const std::filesystem::path& data_file,
                                                      int idle_timeout_s, std::ostream& progress);
  ~SelfGateway();
  SelfGateway(const SelfGateway&) = delete;
  SelfGateway& operator=(const SelfGateway&) = delete;

  // http://127.0.0.1:PORT/2015-03-31/functions/kdd99-anomaly/invocations
  const std::string& invoke_url() const { return invoke_url_; }

 private:
  SelfGateway() : home_("mlfaas-study") {}
  TempDir home_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string invoke_url_;
};

// The shipped data file: ./data/kdd99-http.csv.gz or <exe>/../../data/... (build/bin layout).
StatusOr<std::filesystem::path> FindStudyData(const std::filesystem::path& mlfaas_exe);

}  // namespace mlfaas::loadtest
