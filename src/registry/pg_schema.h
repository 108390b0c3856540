// The registry's PostgreSQL schema as an ordered list of migrations (docs/registry_schema.md).
#pragma once

#include "common/status.h"
#include "registry/pg_db.h"

namespace mlfaas::registry {

// Schema version reached after all migrations (the one row of table schema_version).
int PgLatestSchemaVersion();

// Creates schema_version if needed and applies, in order and inside one transaction holding a
// transaction-scoped advisory lock, every migration newer than its version. Safe when several
// processes open the same database at once (the others wait for the lock, then find the schema
// current). FailedPrecondition if the database is newer than this build.
Status PgMigrate(PgDb& db);

}  // namespace mlfaas::registry
