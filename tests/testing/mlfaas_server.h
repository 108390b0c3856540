// Runs the real `mlfaas` binary for end-to-end tests: commands under a given --home, and a
// `mlfaas serve --port 0` in the background whose port is read from its log. Only for tests
// built with mlfaas_add_binary_test (MLFAAS_BIN). The server is stopped and reaped on
// destruction.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/subprocess.h"

namespace mlfaas::testing {

// `mlfaas --home HOME args...`
inline CommandResult RunMlfaas(const std::filesystem::path& home, std::vector<std::string> args,
                               const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), {MLFAAS_BIN, "--home", home.string()});
  return RunCommand(args, env, std::chrono::seconds(120));
}

class MlfaasServer {
 public:
  // Starts `mlfaas --home HOME serve --port 0 <extra>` (strict isolation), logging to `log_path`.
  MlfaasServer(const std::filesystem::path& home, const std::string& log_path,
               const std::vector<std::string>& extra = {})
      : log_(log_path) {
    std::vector<std::string> argv = {MLFAAS_BIN, "--home", home.string(), "serve", "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ =
        std::make_unique<BackgroundProcess>(argv, std::map<std::string, std::string>{}, log_);
    port_ = PortFromLog(*process_, log_, "listening on http://127\\.0\\.0\\.1:(\\d+)",
                        std::chrono::seconds(30));
    if (port_ == 0) ADD_FAILURE() << "mlfaas serve did not start: " << Slurp(log_);
  }

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return Slurp(log_); }
  BackgroundProcess& process() { return *process_; }

 private:
  std::string log_;
  uint16_t port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace mlfaas::testing
