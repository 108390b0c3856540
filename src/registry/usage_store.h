// Metered usage, the bill's raw data: requests and MB-milliseconds per function version and UTC
// hour, kept in the registry's database (<home>/registry.db, table `usage`:
// docs/registry_schema.md). Integer units only, so sums over any range are exact:
//   GB-seconds = MB-ms / 1024 / 1000.
// The gateway accumulates usage in memory and adds it here in batches from its maintenance
// thread (never on the request path); `mlfaas cost` reads it (usage_prices.h prices it).
//
// Thread-safety: a UsageStore is thread-safe (one mutex around its connection); several
// processes may use the same home at once (the CLI reads while a gateway writes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "common/status.h"

namespace mlfaas::registry {

class Db;

// What one function version used; as a batch entry, in one UTC hour.
struct UsageRecord {
  std::string function;
  std::string version;         // "$LATEST", "1", ...
  int64_t hour = 0;            // epoch seconds of the start of the UTC hour (multiple of 3600)
  int64_t requests = 0;        // invocations that ran on an instance (each has a REPORT line)
  int64_t duration_mb_ms = 0;  // sum of Memory Size (MB) x Billed Duration (ms)
  int64_t provisioned_duration_mb_ms = 0;  // the part of duration_mb_ms run on provisioned
                                           // instances (billed at the lower duration price)
  int64_t provisioned_mb_ms = 0;           // provisioned instances alive: memory (MB) x time (ms)
  int64_t snapshot_mb_ms = 0;  // snapshot templates cached: peak memory (MB) x time (ms)

  // Adds `o`'s counters (not its key) to this one's.
  void Add(const UsageRecord& o);
  bool Empty() const;
};

// The start of the UTC hour holding `epoch_ms`, in epoch seconds.
int64_t UsageHour(int64_t epoch_ms);

class UsageStore {
 public:
  // At most this many (function, version, hour) entries wait in memory when the database cannot
  // be written; beyond that the oldest hours are dropped (and counted in dropped()).
  static constexpr size_t kMaxPending = 100'000;

  // Opens <home>/registry.db (creating the home and applying migrations).
  // `busy_timeout_ms`: how long a write waits for another connection's lock (a test seam).
  static StatusOr<std::unique_ptr<UsageStore>> Open(const std::filesystem::path& home,
                                                    int busy_timeout_ms = 2000);
  ~UsageStore();
  UsageStore(const UsageStore&) = delete;
  UsageStore& operator=(const UsageStore&) = delete;

  // Adds `batch` (and whatever an earlier failed Add left pending) to the table in one
  // transaction: counters of an existing (function, version, hour) row grow. On failure the
  // usage stays pending in memory and the next Add retries it; nothing is added twice.
  Status Add(const std::vector<UsageRecord>& batch);

  // Usage per function version summed over hours >= UsageHour(since_ms) (0: all), for one
  // function or ("") all, ordered by function and version (hour = 0 in the results).
  StatusOr<std::vector<UsageRecord>> Query(const std::string& function, int64_t since_ms);

  // Usage waiting for a successful Add, and usage given up (kMaxPending exceeded).
  size_t pending() const;
  uint64_t dropped() const;

 private:
  explicit UsageStore(std::unique_ptr<Db> db);
  Status WritePending();  // requires mu_

  using Key = std::tuple<int64_t, std::string, std::string>;  // hour, function, version
  mutable std::mutex mu_;
  std::unique_ptr<Db> db_;              // guarded by mu_
  std::map<Key, UsageRecord> pending_;  // guarded by mu_
  uint64_t dropped_ = 0;                // guarded by mu_
};

}  // namespace mlfaas::registry
