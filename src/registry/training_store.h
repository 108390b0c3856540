// What retraining needs from the registry (docs/retraining.md): datasets as content-addressed
// blobs, the labelled feedback of each function, and the history of retrain runs. Kept in the
// registry's database (<home>/registry.db, tables `datasets`, `feedback`, `retrain_runs`:
// docs/registry_schema.md) and blob store (<home>/blobs).
//
// Thread-safety: a TrainingStore is thread-safe (one mutex around its connection); several
// processes may use the same home at once (a gateway stores feedback while the CLI retrains).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "registry/feedback.h"

namespace mlfaas::registry {

class Db;
class BlobStore;

struct DatasetInfo {
  std::string name;    // [A-Za-z0-9_.-]{1,64}
  std::string sha256;  // of the file's bytes (the blob key)
  int64_t bytes = 0;
  std::string added_at;  // RFC 3339 UTC
};

struct FeedbackCounts {
  int64_t added = 0;     // new ids
  int64_t replaced = 0;  // ids seen before (their label and features are replaced)
  int64_t total = 0;     // rows the function now has
};

// One `mlfaas retrain` run, whatever its outcome.
struct RetrainRun {
  int64_t id = 0;  // assigned when stored
  std::string function;
  std::string alias;
  std::string trigger = "manual";  // manual | schedule | labels
  std::string started_at;          // RFC 3339 UTC
  std::string finished_at;
  std::string current_version;    // what the alias pointed at
  std::string candidate_version;  // published candidate; empty if training failed
  std::string current_metrics;    // JSON object (metrics on the shared held-out set)
  std::string candidate_metrics;  // JSON object
  std::string gate;               // as given, or the default
  // promoted: the alias moved | canary: the candidate got --canary-weight | rejected: the gate
  // failed, alias unchanged | failed: the run stopped on an error, alias unchanged
  std::string decision;
  std::string reason;
  int64_t train_rows = 0;
  int64_t test_rows = 0;
  int64_t feedback_rows = 0;  // feedback rows used (train + held out)
};

// A run as `mlfaas retrain history --json` prints it and the dashboard shows it: every field,
// the metrics as objects (null when not stored), rows as {"train", "test"}.
nlohmann::json RetrainRunJson(const RetrainRun& r);

// Where the automatic retraining of a function stands (the gateway's scheduler).
struct RetrainState {
  int64_t last_run_ms = 0;         // when the last automatic run started (epoch ms)
  int64_t labels_at_last_run = 0;  // the function's feedback count then
};

// A canary step that decides by itself (docs/retraining.md, "Canaries that decide"): the alias
// routes `weight` to `canary_version`; the gateway's canary controller rolls it back when it does
// worse than the primary, steps the weight up by `step` (linear) or promotes it after each
// `bake_ms` it stays healthy. One per alias; a new one replaces the old.
struct CanaryDeployment {
  std::string function;
  std::string alias;
  std::string canary_version;
  double weight = 0.1;  // the share routed now
  double step = 0;      // linear: added after each healthy bake (0: promote after one bake)
  int64_t bake_ms = 600'000;
  double max_error_rate_increase = 0.01;
  double max_p99_ratio = 1.5;
  std::string status = "baking";  // baking | promoted | rolled_back | superseded
  std::string reason;
  int64_t retrain_run = 0;  // the retrain run that started it (0: `alias update`)
  std::string created_at;
  std::string updated_at;
};

class TrainingStore {
 public:
  // Largest dataset file accepted (it is read whole to store it).
  static constexpr int64_t kMaxDatasetBytes = int64_t{1} << 30;
  // Feedback rows kept per function; beyond, AddFeedback is ResourceExhausted.
  static constexpr int64_t kMaxFeedbackRows = 1'000'000;

  // Opens <home>/registry.db (creating the home, applying migrations) and <home>/blobs.
  // `clock` stamps added_at / received_at and must outlive the store.
  static StatusOr<std::unique_ptr<TrainingStore>> Open(const std::filesystem::path& home,
                                                       const Clock& clock);
  ~TrainingStore();
  TrainingStore(const TrainingStore&) = delete;
  TrainingStore& operator=(const TrainingStore&) = delete;

  // Stores the file's bytes as a blob and points `name` at them (a name added again moves to
  // the new bytes; the old blob stays for the manifests that name its digest).
  StatusOr<DatasetInfo> AddDataset(const std::string& name, const std::filesystem::path& file);
  StatusOr<DatasetInfo> GetDataset(const std::string& name);
  StatusOr<std::vector<DatasetInfo>> ListDatasets();
  // A verified path to the stored bytes of a dataset digest (NotFound when absent).
  StatusOr<std::filesystem::path> DatasetPath(const std::string& sha256);

  // Adds rows to a function's feedback in one transaction (an id seen before is replaced).
  StatusOr<FeedbackCounts> AddFeedback(const std::string& function,
                                       const std::vector<FeedbackRow>& rows);
  // Every row of a function, ordered by id.
  StatusOr<std::vector<FeedbackRow>> Feedback(const std::string& function);
  StatusOr<int64_t> FeedbackCount(const std::string& function);

  // Stores a run and returns its id.
  StatusOr<int64_t> AddRetrainRun(const RetrainRun& run);
  // A function's runs, oldest first.
  StatusOr<std::vector<RetrainRun>> RetrainRuns(const std::string& function);

  // Sets a run's decision and appends to its reason (a canary's outcome).
  Status UpdateRetrainRun(int64_t id, const std::string& decision, const std::string& reason);

  // Creates or replaces the alias's deployment (status baking).
  Status PutCanary(const CanaryDeployment& d);
  // Every deployment, or only those still baking.
  StatusOr<std::vector<CanaryDeployment>> Canaries(bool baking_only);
  // Updates weight, status and reason of the alias's deployment.
  Status UpdateCanary(const CanaryDeployment& d);

  // The scheduler's record of a function (nullopt: never recorded).
  StatusOr<std::optional<RetrainState>> GetRetrainState(const std::string& function);
  Status SetRetrainState(const std::string& function, const RetrainState& state);

 private:
  TrainingStore(std::unique_ptr<Db> db, std::unique_ptr<BlobStore> blobs, const Clock& clock);
  std::string Now() const;
  StatusOr<int64_t> CountFeedbackLocked(const std::string& function);  // requires mu_

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
  std::unique_ptr<BlobStore> blobs_;
  const Clock& clock_;
};

bool IsValidDatasetName(const std::string& name);

}  // namespace mlfaas::registry
