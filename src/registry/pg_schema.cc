#include "registry/pg_schema.h"

#include <array>
#include <string>

namespace mlfaas::registry {
namespace {

// Migration i (1-based) brings schema_version from i-1 to i. Append only; never edit a shipped
// one. The tables match the SQLite ones of schema.cc (migrations 1-2); API keys, the audit log,
// usage and retraining data stay in each gateway's home (docs/registry_schema.md).
constexpr std::array<const char*, 1> kPgMigrations = {
    // 1: code blobs, functions ($LATEST), immutable versions, aliases, and their indexes.
    R"sql(
CREATE TABLE code (
  digest        TEXT PRIMARY KEY CHECK (length(digest) = 64),
  size_bytes    BIGINT NOT NULL,
  model_digest  TEXT NOT NULL,
  has_bootstrap BOOLEAN NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE TABLE functions (
  name          TEXT PRIMARY KEY,
  code_digest   TEXT NOT NULL REFERENCES code(digest),
  model_digest  TEXT NOT NULL,
  config        TEXT NOT NULL,
  next_version  BIGINT NOT NULL DEFAULT 1 CHECK (next_version >= 1),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE TABLE versions (
  function      TEXT NOT NULL REFERENCES functions(name),
  number        BIGINT NOT NULL CHECK (number >= 1),
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
  version        BIGINT NOT NULL,
  canary_version BIGINT,
  canary_weight  DOUBLE PRECISION NOT NULL DEFAULT 0
                 CHECK (canary_weight >= 0 AND canary_weight <= 1),
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
CREATE INDEX functions_by_code ON functions(code_digest);
CREATE INDEX versions_by_code ON versions(code_digest);
)sql",
};

// Any constant; taken (for the migrating transaction only) by every opener.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7316853928115201)";

}  // namespace

int PgLatestSchemaVersion() { return static_cast<int>(kPgMigrations.size()); }

Status PgMigrate(PgDb& db) {
  return db.InTxn(PgDb::TxnMode::kWrite, [&db]() -> Status {
    MLFAAS_RETURN_IF_ERROR(db.Exec(kMigrationLock).status());
    MLFAAS_RETURN_IF_ERROR(
        db.ExecScript("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    MLFAAS_ASSIGN_OR_RETURN(PgRows rows, db.Exec("SELECT max(version) FROM schema_version"));
    const int64_t current = rows.IsNull(0, 0) ? 0 : rows.Int(0, 0);
    if (current > PgLatestSchemaVersion()) {
      return FailedPrecondition("the registry database has schema version " +
                                std::to_string(current) + ", newer than this mlfaas supports (" +
                                std::to_string(PgLatestSchemaVersion()) + ")");
    }
    for (int64_t v = current; v < PgLatestSchemaVersion(); ++v) {
      Status st = db.ExecScript(kPgMigrations[static_cast<size_t>(v)]);
      if (!st.ok()) return st.WithPrefix("migration " + std::to_string(v + 1));
    }
    if (current == PgLatestSchemaVersion()) return Status::Ok();
    MLFAAS_RETURN_IF_ERROR(db.Exec("DELETE FROM schema_version").status());
    return db
        .Exec("INSERT INTO schema_version(version) VALUES ($1)", {PgInt(PgLatestSchemaVersion())})
        .status();
  });
}

}  // namespace mlfaas::registry
