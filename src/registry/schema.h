// The registry's SQLite schema as an ordered list of migrations (docs/registry_schema.md).
#pragma once

#include "common/status.h"
#include "registry/sqlite_db.h"

namespace mlfaas::registry {

// Schema version reached after all migrations (stored in PRAGMA user_version).
int LatestSchemaVersion();

// Applies, in order and inside one BEGIN IMMEDIATE transaction, every migration newer than the
// database's user_version, then sets user_version. Safe when several processes open the same
// database at once (the loser of the race sees the migrated version and does nothing).
// FailedPrecondition if the database is newer than this build.
Status Migrate(Db& db);

}  // namespace mlfaas::registry
