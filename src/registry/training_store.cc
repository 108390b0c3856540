#include "registry/training_store.h"

#include <cmath>
#include <system_error>

#include "common/fs.h"
#include "common/json.h"
#include "registry/fs_blob_store.h"
#include "registry/registry.h"
#include "registry/schema.h"
#include "registry/sqlite_db.h"

namespace mlfaas::registry {

namespace fs = std::filesystem;
using nlohmann::json;

bool IsValidDatasetName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

TrainingStore::TrainingStore(std::unique_ptr<Db> db, std::unique_ptr<BlobStore> blobs,
                             const Clock& clock)
    : db_(std::move(db)), blobs_(std::move(blobs)), clock_(clock) {}
TrainingStore::~TrainingStore() = default;

StatusOr<std::unique_ptr<TrainingStore>> TrainingStore::Open(const fs::path& home,
                                                             const Clock& clock) {
  MLFAAS_RETURN_IF_ERROR(PrepareHome(home));
  std::error_code ec;
  fs::create_directories(home / "blobs", ec);
  if (ec) return Internal("cannot create " + (home / "blobs").string() + ": " + ec.message());
  MLFAAS_ASSIGN_OR_RETURN(auto db, Db::Open(DatabasePath(home), 5000));
  MLFAAS_RETURN_IF_ERROR(Migrate(*db));
  return std::unique_ptr<TrainingStore>(
      new TrainingStore(std::move(db), std::make_unique<FsBlobStore>(home / "blobs"), clock));
}

std::string TrainingStore::Now() const { return Rfc3339Millis(clock_.EpochMillis()); }

// ---- datasets ----

StatusOr<DatasetInfo> TrainingStore::AddDataset(const std::string& name, const fs::path& file) {
  if (!IsValidDatasetName(name)) {
    return InvalidArgument("dataset name '" + name + "' must be 1-64 of [A-Za-z0-9_.-]");
  }
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return InvalidArgument("dataset file " + file.string() + " is not a readable regular file");
  }
  const auto size = fs::file_size(file, ec);
  if (ec) return InvalidArgument("cannot read " + file.string() + ": " + ec.message());
  if (size > static_cast<uintmax_t>(kMaxDatasetBytes)) {
    return InvalidArgument("dataset file " + file.string() + " is larger than " +
                           std::to_string(kMaxDatasetBytes) + " bytes");
  }
  auto bytes = ReadFile(file);
  if (!bytes.ok()) return InvalidArgument(bytes.status().message());
  if (bytes->size() > static_cast<size_t>(kMaxDatasetBytes)) {
    return InvalidArgument("dataset file " + file.string() + " grew past the limit while read");
  }
  // The blob first: a name never points at bytes that are not stored.
  MLFAAS_ASSIGN_OR_RETURN(std::string digest, blobs_->Put(*bytes));
  DatasetInfo info{name, digest, static_cast<int64_t>(bytes->size()), Now()};
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto st,
                          db_->Prepare("INSERT INTO datasets (name, sha256, bytes, added_at) "
                                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                                       "sha256 = excluded.sha256, bytes = excluded.bytes, "
                                       "added_at = excluded.added_at"));
  MLFAAS_RETURN_IF_ERROR(
      st->Bind(1, info.name).Bind(2, info.sha256).Bind(3, info.bytes).Bind(4, info.added_at).Run());
  return info;
}

namespace {
DatasetInfo DatasetFrom(const Stmt& st) {
  return DatasetInfo{st.Text(0), st.Text(1), st.Int(2), st.Text(3)};
}
}  // namespace

StatusOr<DatasetInfo> TrainingStore::GetDataset(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("SELECT name, sha256, bytes, added_at FROM datasets WHERE name = ?1"));
  st->Bind(1, name);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return NotFound("dataset '" + name + "' not found (mlfaas dataset list)");
  return DatasetFrom(*st);
}

StatusOr<std::vector<DatasetInfo>> TrainingStore::ListDatasets() {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("SELECT name, sha256, bytes, added_at FROM datasets ORDER BY name"));
  return CollectRows<DatasetInfo>(*st, DatasetFrom);
}

StatusOr<fs::path> TrainingStore::DatasetPath(const std::string& sha256) {
  auto path = blobs_->VerifiedPath(sha256);
  if (!path.ok() && path.status().code() == StatusCode::kNotFound) {
    return NotFound("dataset " + sha256 + " is not in this registry (mlfaas dataset add)");
  }
  return path;
}

// ---- feedback ----

StatusOr<FeedbackCounts> TrainingStore::AddFeedback(const std::string& function,
                                                    const std::vector<FeedbackRow>& rows) {
  const std::string now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  FeedbackCounts counts;
  for (const FeedbackRow& r : rows) {
    if (r.label != 0 && r.label != 1) return InvalidArgument("feedback label must be 0 or 1");
    json features = json::object();
    for (const auto& [k, v] : r.features) {
      if (!std::isfinite(v)) return InvalidArgument("feedback values must be finite");
      features[k] = v;
    }
    MLFAAS_ASSIGN_OR_RETURN(auto exists,
                            db_->Prepare("SELECT 1 FROM feedback WHERE function = ?1 AND id = ?2"));
    exists->Bind(1, function).Bind(2, r.id);
    MLFAAS_ASSIGN_OR_RETURN(bool seen, exists->Step());
    (seen ? counts.replaced : counts.added) += 1;
    MLFAAS_ASSIGN_OR_RETURN(
        auto put, db_->Prepare("INSERT INTO feedback (function, id, label, features, received_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (function, id) DO UPDATE "
                               "SET label = excluded.label, features = excluded.features, "
                               "received_at = excluded.received_at"));
    MLFAAS_RETURN_IF_ERROR(put->Bind(1, function)
                               .Bind(2, r.id)
                               .Bind(3, int64_t{r.label})
                               .Bind(4, DumpJson(features))
                               .Bind(5, now)
                               .Run());
  }
  MLFAAS_ASSIGN_OR_RETURN(counts.total, CountFeedbackLocked(function));
  if (counts.total > kMaxFeedbackRows) {
    return ResourceExhausted("function " + function + " would have " +
                             std::to_string(counts.total) + " feedback rows, more than " +
                             std::to_string(kMaxFeedbackRows) + " (nothing was added)");
  }
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return counts;
}

StatusOr<std::vector<FeedbackRow>> TrainingStore::Feedback(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT id, label, features, received_at FROM "
                                                "feedback WHERE function = ?1 ORDER BY id"));
  st->Bind(1, function);
  return CollectRows<FeedbackRow>(*st, [&function](const Stmt& row) -> StatusOr<FeedbackRow> {
    FeedbackRow r;
    r.id = row.Text(0);
    r.label = static_cast<int>(row.Int(1));
    r.received_at = row.Text(3);
    auto features = ParseJson(row.Text(2), 2);
    if (!features.ok() || !features->is_object()) {
      return DataLoss("feedback row " + r.id + " of " + function + " has unreadable features");
    }
    for (const auto& [k, v] : features->items()) {
      if (!v.is_number()) return DataLoss("feedback row " + r.id + " has a non-numeric " + k);
      r.features[k] = v.get<double>();
    }
    return r;
  });
}

StatusOr<int64_t> TrainingStore::FeedbackCount(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  return CountFeedbackLocked(function);
}

StatusOr<int64_t> TrainingStore::CountFeedbackLocked(const std::string& function) {
  MLFAAS_ASSIGN_OR_RETURN(auto st,
                          db_->Prepare("SELECT count(*) FROM feedback WHERE function = ?1"));
  st->Bind(1, function);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->Int(0) : 0;
}

// ---- retrain runs ----

StatusOr<int64_t> TrainingStore::AddRetrainRun(const RetrainRun& r) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st,
      db_->Prepare("INSERT INTO retrain_runs (function, alias, trigger_kind, started_at, "
                   "finished_at, current_version, candidate_version, current_metrics, "
                   "candidate_metrics, gate, decision, reason, train_rows, test_rows, "
                   "feedback_rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                   "?13, ?14, ?15)"));
  MLFAAS_RETURN_IF_ERROR(st->Bind(1, r.function)
                             .Bind(2, r.alias)
                             .Bind(3, r.trigger)
                             .Bind(4, r.started_at)
                             .Bind(5, r.finished_at.empty() ? Now() : r.finished_at)
                             .Bind(6, r.current_version)
                             .Bind(7, r.candidate_version)
                             .Bind(8, r.current_metrics)
                             .Bind(9, r.candidate_metrics)
                             .Bind(10, r.gate)
                             .Bind(11, r.decision)
                             .Bind(12, r.reason)
                             .Bind(13, r.train_rows)
                             .Bind(14, r.test_rows)
                             .Bind(15, r.feedback_rows)
                             .Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_->raw()));
}

StatusOr<std::vector<RetrainRun>> TrainingStore::RetrainRuns(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("SELECT id, function, alias, trigger_kind, started_at, finished_at, "
                            "current_version, candidate_version, current_metrics, "
                            "candidate_metrics, gate, decision, reason, train_rows, test_rows, "
                            "feedback_rows FROM retrain_runs WHERE function = ?1 ORDER BY id"));
  st->Bind(1, function);
  return CollectRows<RetrainRun>(*st, [](const Stmt& row) {
    RetrainRun r;
    r.id = row.Int(0);
    r.function = row.Text(1);
    r.alias = row.Text(2);
    r.trigger = row.Text(3);
    r.started_at = row.Text(4);
    r.finished_at = row.Text(5);
    r.current_version = row.Text(6);
    r.candidate_version = row.Text(7);
    r.current_metrics = row.Text(8);
    r.candidate_metrics = row.Text(9);
    r.gate = row.Text(10);
    r.decision = row.Text(11);
    r.reason = row.Text(12);
    r.train_rows = row.Int(13);
    r.test_rows = row.Int(14);
    r.feedback_rows = row.Int(15);
    return r;
  });
}

// ---- the scheduler's state ----

StatusOr<std::optional<RetrainState>> TrainingStore::GetRetrainState(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT last_run_ms, labels_at_last_run FROM "
                                                "retrain_state WHERE function = ?1"));
  st->Bind(1, function);
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<RetrainState>();
  return std::optional<RetrainState>(RetrainState{st->Int(0), st->Int(1)});
}

Status TrainingStore::SetRetrainState(const std::string& function, const RetrainState& s) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("INSERT INTO retrain_state (function, last_run_ms, labels_at_last_run) "
                            "VALUES (?1, ?2, ?3) ON CONFLICT (function) DO UPDATE SET "
                            "last_run_ms = excluded.last_run_ms, "
                            "labels_at_last_run = excluded.labels_at_last_run"));
  return st->Bind(1, function).Bind(2, s.last_run_ms).Bind(3, s.labels_at_last_run).Run();
}

Status TrainingStore::UpdateRetrainRun(int64_t id, const std::string& decision,
                                       const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE retrain_runs SET decision = ?2, reason = "
                                                "reason || '; ' || ?3 WHERE id = ?1"));
  MLFAAS_RETURN_IF_ERROR(st->Bind(1, id).Bind(2, decision).Bind(3, reason).Run());
  if (db_->Changes() == 0) return NotFound("retrain run " + std::to_string(id) + " not found");
  return Status::Ok();
}

// ---- canary deployments ----

Status TrainingStore::PutCanary(const CanaryDeployment& d) {
  const std::string now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st,
      db_->Prepare("INSERT INTO canary_deployments (function, alias, canary_version, weight, step, "
                   "bake_ms, max_error_rate_increase, max_p99_ratio, status, reason, retrain_run, "
                   "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'baking', '', "
                   "?9, ?10, ?10) ON CONFLICT (function, alias) DO UPDATE SET "
                   "canary_version = excluded.canary_version, weight = excluded.weight, "
                   "step = excluded.step, bake_ms = excluded.bake_ms, "
                   "max_error_rate_increase = excluded.max_error_rate_increase, "
                   "max_p99_ratio = excluded.max_p99_ratio, status = 'baking', reason = '', "
                   "retrain_run = excluded.retrain_run, created_at = excluded.created_at, "
                   "updated_at = excluded.updated_at"));
  Status r = st->Bind(1, d.function)
                 .Bind(2, d.alias)
                 .Bind(3, d.canary_version)
                 .Bind(4, d.weight)
                 .Bind(5, d.step)
                 .Bind(6, d.bake_ms)
                 .Bind(7, d.max_error_rate_increase)
                 .Bind(8, d.max_p99_ratio)
                 .Bind(9, d.retrain_run)
                 .Bind(10, now)
                 .Run();
  if (!r.ok() && st->constraint_failed()) {
    return InvalidArgument(
        "canary settings out of range (weight in (0, 1), step in [0, 1), "
        "bake > 0, error-rate increase >= 0, p99 ratio >= 1)");
  }
  return r;
}

StatusOr<std::vector<CanaryDeployment>> TrainingStore::Canaries(bool baking_only) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st,
      db_->Prepare(std::string("SELECT function, alias, canary_version, weight, step, "
                               "bake_ms, max_error_rate_increase, max_p99_ratio, status, "
                               "reason, retrain_run, created_at, updated_at FROM "
                               "canary_deployments") +
                   (baking_only ? " WHERE status = 'baking'" : "") + " ORDER BY function, alias"));
  return CollectRows<CanaryDeployment>(*st, [](const Stmt& row) {
    CanaryDeployment d;
    d.function = row.Text(0);
    d.alias = row.Text(1);
    d.canary_version = row.Text(2);
    d.weight = row.Real(3);
    d.step = row.Real(4);
    d.bake_ms = row.Int(5);
    d.max_error_rate_increase = row.Real(6);
    d.max_p99_ratio = row.Real(7);
    d.status = row.Text(8);
    d.reason = row.Text(9);
    d.retrain_run = row.Int(10);
    d.created_at = row.Text(11);
    d.updated_at = row.Text(12);
    return d;
  });
}

Status TrainingStore::UpdateCanary(const CanaryDeployment& d) {
  const std::string now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("UPDATE canary_deployments SET weight = ?3, status = ?4, reason = ?5, "
                            "updated_at = ?6 WHERE function = ?1 AND alias = ?2"));
  MLFAAS_RETURN_IF_ERROR(st->Bind(1, d.function)
                             .Bind(2, d.alias)
                             .Bind(3, d.weight)
                             .Bind(4, d.status)
                             .Bind(5, d.reason)
                             .Bind(6, now)
                             .Run());
  if (db_->Changes() == 0) {
    return NotFound("no canary deployment for " + d.function + ":" + d.alias);
  }
  return Status::Ok();
}

nlohmann::json RetrainRunJson(const RetrainRun& r) {
  auto metrics = [](const std::string& text) {
    auto j = ParseJson(text);
    return j.ok() && j->is_object() ? *j : nlohmann::json(nullptr);
  };
  return {{"id", r.id},
          {"function", r.function},
          {"alias", r.alias},
          {"trigger", r.trigger},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at},
          {"current_version", r.current_version},
          {"candidate_version", r.candidate_version},
          {"current_metrics", metrics(r.current_metrics)},
          {"candidate_metrics", metrics(r.candidate_metrics)},
          {"gate", r.gate},
          {"decision", r.decision},
          {"reason", r.reason},
          {"rows", {{"train", r.train_rows}, {"test", r.test_rows}}},
          {"feedback_rows", r.feedback_rows}};
}

}  // namespace mlfaas::registry
