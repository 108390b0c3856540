#include "registry/usage_store.h"

#include "registry/registry.h"
#include "registry/schema.h"
#include "registry/sqlite_db.h"

namespace mlfaas::registry {
namespace {

// Short: the gateway's maintenance thread writes, and a busy database is retried next tick.

}  // namespace

void UsageRecord::Add(const UsageRecord& o) {
  requests += o.requests;
  duration_mb_ms += o.duration_mb_ms;
  provisioned_duration_mb_ms += o.provisioned_duration_mb_ms;
  provisioned_mb_ms += o.provisioned_mb_ms;
  snapshot_mb_ms += o.snapshot_mb_ms;
}

bool UsageRecord::Empty() const {
  return requests == 0 && duration_mb_ms == 0 && provisioned_duration_mb_ms == 0 &&
         provisioned_mb_ms == 0 && snapshot_mb_ms == 0;
}

int64_t UsageHour(int64_t epoch_ms) {
  int64_t s = epoch_ms / 1000;
  if (epoch_ms < 0 && epoch_ms % 1000 != 0) --s;
  int64_t h = s / 3600;
  if (s < 0 && s % 3600 != 0) --h;
  return h * 3600;
}

UsageStore::UsageStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
UsageStore::~UsageStore() = default;

StatusOr<std::unique_ptr<UsageStore>> UsageStore::Open(const std::filesystem::path& home,
                                                       int busy_timeout_ms) {
  MLFAAS_RETURN_IF_ERROR(PrepareHome(home));
  MLFAAS_ASSIGN_OR_RETURN(auto db, Db::Open(DatabasePath(home), busy_timeout_ms));
  MLFAAS_RETURN_IF_ERROR(Migrate(*db));
  return std::unique_ptr<UsageStore>(new UsageStore(std::move(db)));
}

Status UsageStore::Add(const std::vector<UsageRecord>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : batch) {
    if (r.Empty()) continue;
    if (r.hour % 3600 != 0 || r.requests < 0 || r.duration_mb_ms < 0 ||
        r.provisioned_duration_mb_ms < 0 || r.provisioned_mb_ms < 0 || r.snapshot_mb_ms < 0) {
      return InvalidArgument("usage for " + r.function + ":" + r.version +
                             " has a negative counter or an hour not on the hour");
    }
    auto [it, fresh] = pending_.try_emplace(Key{r.hour, r.function, r.version}, r);
    if (!fresh) it->second.Add(r);
  }
  while (pending_.size() > kMaxPending) {  // the oldest hours go first
    pending_.erase(pending_.begin());
    ++dropped_;
  }
  if (pending_.empty()) return Status::Ok();
  return WritePending();
}

Status UsageStore::WritePending() {
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  for (const auto& [key, r] : pending_) {
    MLFAAS_ASSIGN_OR_RETURN(
        auto st,
        db_->Prepare("INSERT INTO usage (function, version, hour, requests, duration_mb_ms, "
                     "provisioned_duration_mb_ms, provisioned_mb_ms, snapshot_mb_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                     "ON CONFLICT (function, version, hour) DO UPDATE SET "
                     "requests = requests + excluded.requests, "
                     "duration_mb_ms = duration_mb_ms + excluded.duration_mb_ms, "
                     "provisioned_duration_mb_ms = provisioned_duration_mb_ms + "
                     "excluded.provisioned_duration_mb_ms, "
                     "provisioned_mb_ms = provisioned_mb_ms + excluded.provisioned_mb_ms, "
                     "snapshot_mb_ms = snapshot_mb_ms + excluded.snapshot_mb_ms"));
    st->Bind(1, r.function).Bind(2, r.version).Bind(3, r.hour).Bind(4, r.requests);
    st->Bind(5, r.duration_mb_ms).Bind(6, r.provisioned_duration_mb_ms);
    st->Bind(7, r.provisioned_mb_ms).Bind(8, r.snapshot_mb_ms);
    MLFAAS_RETURN_IF_ERROR(st->Run());
  }
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  pending_.clear();  // only once committed: a failed write leaves it all for the next Add
  return Status::Ok();
}

StatusOr<std::vector<UsageRecord>> UsageStore::Query(const std::string& function,
                                                     int64_t since_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kDeferred));
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("SELECT function, version, SUM(requests), SUM(duration_mb_ms), "
                            "SUM(provisioned_duration_mb_ms), SUM(provisioned_mb_ms), "
                            "SUM(snapshot_mb_ms) FROM usage WHERE hour >= ?1 AND "
                            "(?2 = '' OR function = ?2) GROUP BY function, version "
                            "ORDER BY function, version"));
  st->Bind(1, since_ms > 0 ? UsageHour(since_ms) : int64_t{0}).Bind(2, function);
  std::vector<UsageRecord> out;
  for (;;) {
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    UsageRecord r;
    r.function = st->Text(0);
    r.version = st->Text(1);
    r.requests = st->Int(2);
    r.duration_mb_ms = st->Int(3);
    r.provisioned_duration_mb_ms = st->Int(4);
    r.provisioned_mb_ms = st->Int(5);
    r.snapshot_mb_ms = st->Int(6);
    out.push_back(std::move(r));
  }
  return out;
}

size_t UsageStore::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

uint64_t UsageStore::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace mlfaas::registry
