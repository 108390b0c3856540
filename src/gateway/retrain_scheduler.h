// Automatic retraining (docs/retraining.md): a function whose $LATEST config sets
// retrain_every_s or retrain_after_labels is retrained by the gateway, on its clock, by starting
// `mlfaas retrain FUNCTION --trigger schedule|labels` as a separate process in a cgroup of its
// own (1 vCPU, 1769 MB): training never runs on the io threads, and never takes more than its
// share of the machine from serving.
//
// The decision (DueRetrain) is a pure function of the policy, the recorded state, the time and
// the function's feedback count; the scheduler applies it on the maintenance thread's ticks and
// records the state in the registry (TrainingStore::SetRetrainState) before starting a run, so a
// restarted gateway neither forgets a schedule nor starts the same run twice.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "gateway/base/error_once.h"
#include "registry/registry.h"
#include "registry/training_store.h"
#include "sandbox/cgroups.h"
#include "sandbox/process_launcher.h"

namespace mlfaas::gateway {

// "schedule" when retrain_every_s > 0 and that long has passed since the last run; else
// "labels" when retrain_after_labels > 0 and at least that many rows arrived since (the count
// grew by that much); else "" (nothing due). A count that shrank (rows of a deleted function)
// never triggers.
std::string DueRetrain(const registry::FunctionConfig& policy, const registry::RetrainState& state,
                       int64_t now_ms, int64_t labels_now);

// Starts and watches retrain runs: the OS seam of the scheduler.
class RetrainRunner {
 public:
  virtual ~RetrainRunner() = default;
  // Starts a run of `function`; `trigger` is schedule or labels.
  virtual Status Start(const std::string& function, const std::string& trigger) = 0;
  // Whether a run of `function` is still going (reaps the finished ones).
  virtual bool Running(const std::string& function) = 0;
  // Kills and reaps every run (gateway shutdown).
  virtual void StopAll() = 0;
};

// `<exe> --home <home> retrain FUNCTION --trigger T --json`, each run in its own process group
// and cgroup, its output (bounded) logged when it ends. The gateway's registry location (a shared
// PostgreSQL registry, a blob directory) goes to the run as MLFAAS_REGISTRY / MLFAAS_BLOB_DIR,
// in the environment rather than argv so that a password in the URL is not in /proc/*/cmdline.
class ProcessRetrainRunner final : public RetrainRunner {
 public:
  ProcessRetrainRunner(std::filesystem::path exe, std::filesystem::path home,
                       const sandbox::Cgroups& cgroups, registry::RegistryLocation where = {});
  ~ProcessRetrainRunner() override;
  Status Start(const std::string& function, const std::string& trigger) override;
  bool Running(const std::string& function) override;
  void StopAll() override;

  static constexpr int kMemoryMb = 1769;               // one vCPU's worth (Lambda's ratio)
  static constexpr size_t kMaxOutputBytes = 64 << 10;  // kept per run for the log

 private:
  struct Run {
    pid_t pid = -1;
    int output_fd = -1;
    int pidfd = -1;
    std::string cgroup;
    std::string output;
  };
  void Drain(Run& run);
  void Finish(const std::string& function, Run& run, bool killed);

  std::filesystem::path exe_, home_;
  const sandbox::Cgroups& cgroups_;
  const registry::RegistryLocation where_;
  sandbox::ForkExecLauncher launcher_;
  std::map<std::string, Run> runs_;  // by function; the maintenance thread only
};

class RetrainScheduler {
 public:
  // All must outlive the scheduler.
  RetrainScheduler(registry::Registry& registry, registry::TrainingStore& store, const Clock& clock,
                   RetrainRunner& runner);
  // Starts the runs that are due. Called from the maintenance thread only.
  void Tick();
  // Runs started so far (for /v1/status and tests).
  int64_t started() const { return started_; }

 private:
  Status TickFunction(const registry::FunctionInfo& f);

  registry::Registry& registry_;
  registry::TrainingStore& store_;
  const Clock& clock_;
  RetrainRunner& runner_;
  int64_t started_ = 0;
  ErrorOnce errors_{"retrain scheduler", "working again"};
};

}  // namespace mlfaas::gateway
