#include "registry/schema.h"

#include <array>
#include <string>

namespace mlfaas::registry {
namespace {

// Migration i (1-based) brings user_version from i-1 to i. Append only; never edit a shipped one.
constexpr std::array<const char*, 5> kMigrations = {
    // 1: code blobs, functions ($LATEST), immutable versions, aliases.
    R"sql(
CREATE TABLE code (
  digest        TEXT PRIMARY KEY CHECK (length(digest) = 64),
  size_bytes    INTEGER NOT NULL,
  model_digest  TEXT NOT NULL,
  has_bootstrap INTEGER NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE TABLE functions (
  name          TEXT PRIMARY KEY,
  code_digest   TEXT NOT NULL REFERENCES code(digest),
  model_digest  TEXT NOT NULL,
  config        TEXT NOT NULL,
  next_version  INTEGER NOT NULL DEFAULT 1 CHECK (next_version >= 1),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE TABLE versions (
  function      TEXT NOT NULL REFERENCES functions(name),
  number        INTEGER NOT NULL CHECK (number >= 1),
  code_digest   TEXT NOT NULL REFERENCES code(digest),
  model_digest  TEXT NOT NULL,
  config        TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  created_at    TEXT NOT NULL,
  PRIMARY KEY (function, number)
);
CREATE TABLE aliases (
  function       TEXT NOT NULL REFERENCES functions(name),
  name           TEXT NOT NULL,
  version        INTEGER NOT NULL,
  canary_version INTEGER,
  canary_weight  REAL NOT NULL DEFAULT 0 CHECK (canary_weight >= 0 AND canary_weight <= 1),
  description    TEXT NOT NULL DEFAULT '',
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  PRIMARY KEY (function, name),
  FOREIGN KEY (function, version) REFERENCES versions(function, number),
  FOREIGN KEY (function, canary_version) REFERENCES versions(function, number),
  CHECK (canary_version IS NULL OR canary_version <> version)
);
CREATE INDEX aliases_by_version ON aliases(function, version);
CREATE INDEX aliases_by_canary ON aliases(function, canary_version);
)sql",
    // 2: find what references a blob (for garbage collection of unreferenced code).
    R"sql(
CREATE INDEX functions_by_code ON functions(code_digest);
CREATE INDEX versions_by_code ON versions(code_digest);
)sql",
    // 3: API keys (secrets sealed with the server key, which is not in this database) and the
    // audit log of deploy and admin actions (docs/security.md).
    R"sql(
CREATE TABLE api_keys (
  access_key_id TEXT PRIMARY KEY CHECK (length(access_key_id) = 20),
  name          TEXT NOT NULL UNIQUE,
  sealed_secret BLOB NOT NULL,
  scopes        TEXT NOT NULL,
  rate          REAL NOT NULL CHECK (rate > 0),
  created_at    TEXT NOT NULL,
  revoked_at    TEXT
);
CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        TEXT NOT NULL,
  principal TEXT NOT NULL,
  source    TEXT NOT NULL,
  action    TEXT NOT NULL,
  resource  TEXT NOT NULL,
  result    TEXT NOT NULL,
  detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log(at);
)sql",
    // 4: metered usage per function version and UTC hour, in integer units so sums are exact
    // (registry/usage_store.h, `mlfaas cost`). No foreign key: the bill outlives the function.
    R"sql(
CREATE TABLE usage (
  function                   TEXT NOT NULL,
  version                    TEXT NOT NULL,
  hour                       INTEGER NOT NULL CHECK (hour % 3600 = 0),
  requests                   INTEGER NOT NULL DEFAULT 0 CHECK (requests >= 0),
  duration_mb_ms             INTEGER NOT NULL DEFAULT 0 CHECK (duration_mb_ms >= 0),
  provisioned_duration_mb_ms INTEGER NOT NULL DEFAULT 0
                             CHECK (provisioned_duration_mb_ms BETWEEN 0 AND duration_mb_ms),
  provisioned_mb_ms          INTEGER NOT NULL DEFAULT 0 CHECK (provisioned_mb_ms >= 0),
  snapshot_mb_ms             INTEGER NOT NULL DEFAULT 0 CHECK (snapshot_mb_ms >= 0),
  PRIMARY KEY (function, version, hour)
);
CREATE INDEX usage_by_hour ON usage(hour);
)sql",
    // 5: retraining (registry/training_store.h): datasets (a name -> the digest of a blob in
    // <home>/blobs), labelled feedback per function, and the history of retrain runs. No foreign
    // keys to functions: feedback and history outlive a function deleted and created again.
    R"sql(
CREATE TABLE datasets (
  name     TEXT PRIMARY KEY,
  sha256   TEXT NOT NULL CHECK (length(sha256) = 64),
  bytes    INTEGER NOT NULL CHECK (bytes >= 0),
  added_at TEXT NOT NULL
);
CREATE TABLE feedback (
  function    TEXT NOT NULL,
  id          TEXT NOT NULL,
  label       INTEGER NOT NULL CHECK (label IN (0, 1)),
  features    TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (function, id)
);
CREATE TABLE retrain_runs (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  function          TEXT NOT NULL,
  alias             TEXT NOT NULL,
  trigger_kind      TEXT NOT NULL,
  started_at        TEXT NOT NULL,
  finished_at       TEXT NOT NULL,
  current_version   TEXT NOT NULL,
  candidate_version TEXT NOT NULL,
  current_metrics   TEXT NOT NULL,
  candidate_metrics TEXT NOT NULL,
  gate              TEXT NOT NULL,
  decision          TEXT NOT NULL CHECK (decision IN ('promoted', 'canary', 'rejected', 'failed', 'rolled_back')),
  reason            TEXT NOT NULL,
  train_rows        INTEGER NOT NULL,
  test_rows         INTEGER NOT NULL,
  feedback_rows     INTEGER NOT NULL
);
CREATE INDEX retrain_runs_by_function ON retrain_runs(function, id);
CREATE TABLE canary_deployments (
  function                 TEXT NOT NULL,
  alias                    TEXT NOT NULL,
  canary_version           TEXT NOT NULL,
  weight                   REAL NOT NULL CHECK (weight > 0 AND weight < 1),
  step                     REAL NOT NULL CHECK (step >= 0 AND step < 1),
  bake_ms                  INTEGER NOT NULL CHECK (bake_ms > 0),
  max_error_rate_increase  REAL NOT NULL CHECK (max_error_rate_increase >= 0),
  max_p99_ratio            REAL NOT NULL CHECK (max_p99_ratio >= 1),
  status                   TEXT NOT NULL
                           CHECK (status IN ('baking', 'promoted', 'rolled_back', 'superseded')),
  reason                   TEXT NOT NULL DEFAULT '',
  retrain_run              INTEGER NOT NULL DEFAULT 0,
  created_at               TEXT NOT NULL,
  updated_at               TEXT NOT NULL,
  PRIMARY KEY (function, alias)
);
CREATE TABLE retrain_state (
  function           TEXT PRIMARY KEY,
  last_run_ms        INTEGER NOT NULL,
  labels_at_last_run INTEGER NOT NULL CHECK (labels_at_last_run >= 0)
);
)sql",
};

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

Status Migrate(Db& db) {
  MLFAAS_ASSIGN_OR_RETURN(int64_t seen, db.QueryInt("PRAGMA user_version"));
  if (seen == LatestSchemaVersion()) return Status::Ok();
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(db, Txn::Mode::kImmediate));
  MLFAAS_ASSIGN_OR_RETURN(int64_t current, db.QueryInt("PRAGMA user_version"));
  if (current > LatestSchemaVersion()) {
    return FailedPrecondition("registry.db has schema version " + std::to_string(current) +
                              ", newer than this mlfaas supports (" +
                              std::to_string(LatestSchemaVersion()) + ")");
  }
  for (int64_t v = current; v < LatestSchemaVersion(); ++v) {
    Status st = db.Exec(kMigrations[static_cast<size_t>(v)]);
    if (!st.ok()) return st.WithPrefix("migration " + std::to_string(v + 1));
  }
  MLFAAS_RETURN_IF_ERROR(db.Exec("PRAGMA user_version = " + std::to_string(LatestSchemaVersion())));
  return txn->Commit();
}

}  // namespace mlfaas::registry
