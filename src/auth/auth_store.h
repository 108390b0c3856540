// API keys and the audit log, kept in the registry's SQLite database (<home>/registry.db,
// tables api_keys and audit_log: docs/registry_schema.md). Key secrets are sealed with the
// server key (<home>/server.key, server_key.h), which is not in the database.
//
// Thread-safety: an AuthStore is thread-safe (one mutex around its connection); several
// processes may use the same home at once (the CLI while a gateway serves).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/server_key.h"
#include "common/clock.h"
#include "common/status.h"

namespace mlfaas::registry {
class Db;
}

namespace mlfaas::auth {

inline constexpr double kDefaultRate = 1000;  // requests per second; the burst is twice that

struct ApiKey {
  std::string access_key_id;  // "AKIA" + 16 of [A-Z2-7]
  std::string name;
  std::vector<std::string> scopes;  // as given: "invoke:fraud-*", ...
  double rate = kDefaultRate;
  std::string created_at;
  std::string revoked_at;  // empty while active
  bool active() const { return revoked_at.empty(); }
};

struct KeyWithSecret {
  ApiKey key;
  std::string secret;  // empty for a revoked key
};

// Where a verifier gets the keys from (the store; fakes in unit tests).
class KeySource {
 public:
  virtual ~KeySource() = default;
  // Every key, revoked ones included (their existence keeps authentication on).
  virtual StatusOr<std::vector<KeyWithSecret>> LoadKeys() = 0;
  // The local CLI's token (ServerKey::Derive), or nullopt when there is no server key yet.
  virtual std::optional<std::string> LocalToken() = 0;
};

// One deploy or admin action: who did what to what, when, and how it ended.
struct AuditEntry {
  int64_t id = 0;
  std::string at;         // RFC 3339 UTC; filled in by Record when empty
  std::string principal;  // "key:<AccessKeyId>/<name>", "local:<unix user>", "anonymous"
  std::string source;     // "cli" | "http <remote address>"
  std::string action;     // "CreateFunction", "CreateKey", ...
  std::string resource;   // "function:fraud", "key:AKIA...", ...
  std::string result;     // "ok" | "error"
  std::string detail;     // the error message, or what changed
};

struct AuditQuery {
  std::string since;  // RFC 3339 lower bound (inclusive), "" = from the start
  size_t limit = 100;
};

// Administration of keys and reading the audit log: what `mlfaas key` and `mlfaas audit` do,
// wherever the keys live. Implemented by AuthStore (the home directory) and by the CLI's client
// of a gateway's HTTP API (cli/remote_key_admin.h, `mlfaas --remote`), so each command is written
// once. Writes are not audited here: the CLI records its own in the audit log (cmd_key.cc), a
// gateway the ones it is asked for.
class KeyAdmin {
 public:
  virtual ~KeyAdmin() = default;
  // Creates a key; returns it with its secret, which is not retrievable afterwards. Names are
  // unique; scopes are checked (scope.h); rate in (0, 1e6].
  virtual StatusOr<KeyWithSecret> CreateKey(const std::string& name,
                                            const std::vector<std::string>& scopes,
                                            double rate) = 0;
  virtual StatusOr<std::vector<ApiKey>> ListKeys() = 0;
  // By access key id or name. NotFound if neither; FailedPrecondition if already revoked.
  virtual StatusOr<ApiKey> RevokeKey(const std::string& id_or_name) = 0;
  // Entries at or after query.since, oldest first, at most query.limit (the newest ones).
  virtual StatusOr<std::vector<AuditEntry>> ListAudit(const AuditQuery& query) = 0;
};

class AuthStore final : public KeySource, public KeyAdmin {
 public:
  // Opens the database under `home` (created 0700, database 0600, migrated) and, when it
  // exists, the server key.
  static StatusOr<std::unique_ptr<AuthStore>> Open(const std::filesystem::path& home,
                                                   const Clock& clock = SystemClock::Get());
  ~AuthStore() override;

  // KeyAdmin. CreateKey also creates the server key on first use.
  StatusOr<KeyWithSecret> CreateKey(const std::string& name, const std::vector<std::string>& scopes,
                                    double rate) override;
  StatusOr<std::vector<ApiKey>> ListKeys() override;
  StatusOr<ApiKey> RevokeKey(const std::string& id_or_name) override;
  StatusOr<std::vector<AuditEntry>> ListAudit(const AuditQuery& query) override;

  StatusOr<std::vector<KeyWithSecret>> LoadKeys() override;
  std::optional<std::string> LocalToken() override;

  // Appends an entry (the oldest are dropped beyond kAuditRetention entries).
  Status Record(AuditEntry entry);

  static constexpr int64_t kAuditRetention = 100'000;

 private:
  AuthStore(std::filesystem::path home, std::unique_ptr<registry::Db> db, const Clock& clock);
  StatusOr<const ServerKey*> Key(bool create);

  const std::filesystem::path home_;
  const Clock& clock_;
  std::mutex mu_;
  std::unique_ptr<registry::Db> db_;
  std::optional<ServerKey> server_key_;
};

// The JSON forms the CLI's --json output and the admin API share:
// {"AccessKeyId","Name","Scopes","Rate","CreatedAt","Status":"Active"|"Revoked","RevokedAt"} and
// {"id","at","principal","source","action","resource","result","detail"}.
nlohmann::json ToJson(const ApiKey& k);
nlohmann::json ToJson(const AuditEntry& e);

// The principal the local CLI acts as: "local:<unix user name>".
std::string LocalPrincipal();

}  // namespace mlfaas::auth
