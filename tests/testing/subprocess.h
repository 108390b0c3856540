// Runs child processes for integration tests: captures stdout/stderr, always reaps the child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mlfaas::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with the extra environment `env` added to the current one.
// Kills the child (SIGKILL) after `timeout`. `input` is written to its stdin.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(120),
                         const std::string& input = "");

// A background child (e.g. `mlfaas serve`) whose stdout+stderr go to `log_path`. The
// destructor sends SIGTERM, waits up to 10 s, then SIGKILLs and reaps. Non-copyable.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const std::string& log_path);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `sig` (unless already reaped) and waits up to `timeout` for exit; returns the wait
  // status as from waitpid (also when Running() reaped it earlier), or -1 if it did not exit.
  int StopWith(int sig, std::chrono::milliseconds timeout);
  // False once the child has exited; reaps it and keeps its wait status for StopWith.
  bool Running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = -1;
};

// Reads a file whole ("" if missing).
std::string Slurp(const std::string& path);

// The port a background server announces in its log: the first match of `pattern` (whose group 1
// is the port), polled every 10 ms while `process` runs, at most `timeout`. 0 if it never said.
uint16_t PortFromLog(BackgroundProcess& process, const std::string& log_path,
                     const std::string& pattern, std::chrono::milliseconds timeout);

// Live (non-zombie) children of `parent`, from /proc.
std::set<pid_t> ChildrenOf(pid_t parent);

}  // namespace mlfaas::testing
