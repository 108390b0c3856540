#include "auth/auth_store.h"

#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "auth/scope.h"
#include "common/json.h"
#include "registry/registry.h"
#include "registry/schema.h"
#include "registry/sqlite_db.h"

namespace mlfaas::auth {
namespace {

namespace fs = std::filesystem;
using registry::Db;
using registry::Txn;

constexpr int kBusyTimeoutMs = 5000;
constexpr const char* kKeyColumns =
    "access_key_id, name, scopes, rate, created_at, COALESCE(revoked_at, '')";

// "AKIA" + 16 characters of the base32 alphabet, as AWS access key ids look.
StatusOr<std::string> NewAccessKeyId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  MLFAAS_ASSIGN_OR_RETURN(std::string raw, RandomBytes(16));
  std::string id = "AKIA";
  for (unsigned char c : raw) id += kAlphabet[c & 31];
  return id;
}

// 40 characters of the base64 alphabet (30 random bytes), as AWS secret keys look.
StatusOr<std::string> NewSecret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  MLFAAS_ASSIGN_OR_RETURN(std::string raw, RandomBytes(30));
  std::string out;
  for (size_t i = 0; i < raw.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(raw[i]) << 16) |
                       (static_cast<unsigned char>(raw[i + 1]) << 8) |
                       static_cast<unsigned char>(raw[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  return out;
}

bool ValidKeyName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@') {
      return false;
    }
  }
  return true;
}

ApiKey KeyFromRow(const registry::Stmt& s) {
  ApiKey k;
  k.access_key_id = s.Text(0);
  k.name = s.Text(1);
  auto scopes = ParseJson(s.Text(2));
  if (scopes.ok() && scopes->is_array()) {
    for (const auto& v : *scopes) {
      if (v.is_string()) k.scopes.push_back(v.get<std::string>());
    }
  }
  k.rate = s.Real(3);
  k.created_at = s.Text(4);
  k.revoked_at = s.Text(5);
  return k;
}

}  // namespace

nlohmann::json ToJson(const ApiKey& k) {
  return {{"AccessKeyId", k.access_key_id},
          {"Name", k.name},
          {"Scopes", k.scopes},
          {"Rate", k.rate},
          {"CreatedAt", k.created_at},
          {"Status", k.active() ? "Active" : "Revoked"},
          {"RevokedAt", k.revoked_at}};
}

nlohmann::json ToJson(const AuditEntry& e) {
  return {{"id", e.id},         {"at", e.at},         {"principal", e.principal},
          {"source", e.source}, {"action", e.action}, {"resource", e.resource},
          {"result", e.result}, {"detail", e.detail}};
}

std::string LocalPrincipal() {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found) {
    return std::string("local:") + found->pw_name;
  }
  return "local:uid " + std::to_string(::geteuid());
}

AuthStore::AuthStore(fs::path home, std::unique_ptr<Db> db, const Clock& clock)
    : home_(std::move(home)), clock_(clock), db_(std::move(db)) {}

AuthStore::~AuthStore() = default;

StatusOr<std::unique_ptr<AuthStore>> AuthStore::Open(const fs::path& home, const Clock& clock) {
  MLFAAS_RETURN_IF_ERROR(registry::PrepareHome(home));
  MLFAAS_ASSIGN_OR_RETURN(auto db, Db::Open(registry::DatabasePath(home), kBusyTimeoutMs));
  MLFAAS_RETURN_IF_ERROR(registry::Migrate(*db));
  return std::unique_ptr<AuthStore>(new AuthStore(home, std::move(db), clock));
}

StatusOr<const ServerKey*> AuthStore::Key(bool create) {
  if (!server_key_) {
    MLFAAS_ASSIGN_OR_RETURN(ServerKey key, ServerKey::Open(home_ / "server.key", create));
    server_key_ = key;
  }
  return &*server_key_;
}

StatusOr<KeyWithSecret> AuthStore::CreateKey(const std::string& name,
                                             const std::vector<std::string>& scopes, double rate) {
  if (!ValidKeyName(name)) {
    return InvalidArgument("key name '" + name +
                           "': use 1-64 letters, digits, '-', '_', '.' or '@'");
  }
  if (scopes.empty()) {
    return InvalidArgument("a key needs at least one --scope (e.g. invoke:* or read:fraud-*)");
  }
  MLFAAS_ASSIGN_OR_RETURN(ScopeSet parsed, ScopeSet::Parse(scopes));
  if (!(rate > 0 && rate <= 1e6)) {
    return InvalidArgument("--rate must be between 0 and 1000000 requests per second");
  }
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(const ServerKey* server_key, Key(/*create=*/true));
  KeyWithSecret out;
  MLFAAS_ASSIGN_OR_RETURN(out.key.access_key_id, NewAccessKeyId());
  MLFAAS_ASSIGN_OR_RETURN(out.secret, NewSecret());
  out.key.name = name;
  out.key.scopes = parsed.Strings();
  out.key.rate = rate;
  out.key.created_at = Rfc3339Millis(clock_.EpochMillis());
  MLFAAS_ASSIGN_OR_RETURN(std::string sealed, server_key->Seal(out.secret, out.key.access_key_id));
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("INSERT INTO api_keys (access_key_id, name, sealed_secret, scopes, "
                            "rate, created_at) VALUES (?, ?, ?, ?, ?, ?)"));
  st->Bind(1, out.key.access_key_id)
      .Bind(2, name)
      .BindBlob(3, sealed)
      .Bind(4, DumpJson(nlohmann::json(out.key.scopes)))
      .Bind(5, rate)
      .Bind(6, out.key.created_at);
  if (Status s = st->Run(); !s.ok()) {
    if (st->constraint_failed()) return AlreadyExists("a key named '" + name + "' exists");
    return s;
  }
  return out;
}

StatusOr<std::vector<ApiKey>> AuthStore::ListKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(std::string("SELECT ") + kKeyColumns +
                                                " FROM api_keys ORDER BY created_at, name"));
  std::vector<ApiKey> out;
  for (;;) {
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back(KeyFromRow(*st));
  }
  return out;
}

StatusOr<ApiKey> AuthStore::RevokeKey(const std::string& id_or_name) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  ApiKey key;
  {
    MLFAAS_ASSIGN_OR_RETURN(auto st,
                            db_->Prepare(std::string("SELECT ") + kKeyColumns +
                                         " FROM api_keys WHERE access_key_id = ? OR name = ?"));
    st->Bind(1, id_or_name).Bind(2, id_or_name);
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return NotFound("no key with id or name '" + id_or_name + "'");
    key = KeyFromRow(*st);
  }
  if (!key.active()) {
    return FailedPrecondition("key " + key.access_key_id + " (" + key.name + ") was revoked at " +
                              key.revoked_at);
  }
  key.revoked_at = Rfc3339Millis(clock_.EpochMillis());
  // The sealed secret goes with the revocation: a revoked key can never verify again.
  MLFAAS_ASSIGN_OR_RETURN(auto up,
                          db_->Prepare("UPDATE api_keys SET revoked_at = ?, sealed_secret = "
                                       "X'' WHERE access_key_id = ?"));
  up->Bind(1, key.revoked_at).Bind(2, key.access_key_id);
  MLFAAS_RETURN_IF_ERROR(up->Run());
  MLFAAS_RETURN_IF_ERROR(txn->Commit());
  return key;
}

StatusOr<std::vector<KeyWithSecret>> AuthStore::LoadKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto st, db_->Prepare(std::string("SELECT ") + kKeyColumns +
                                                ", sealed_secret FROM api_keys"));
  std::vector<KeyWithSecret> out;
  const ServerKey* server_key = nullptr;
  for (;;) {
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    KeyWithSecret k;
    k.key = KeyFromRow(*st);
    if (k.key.active()) {
      if (!server_key) {
        auto loaded = Key(/*create=*/false);
        if (!loaded.ok()) {
          return loaded.status().WithPrefix("keys exist but their secrets cannot be opened");
        }
        server_key = *loaded;
      }
      auto secret = server_key->Unseal(st->Text(6), k.key.access_key_id);
      if (!secret.ok()) {
        return DataLoss("the secret of key " + k.key.access_key_id +
                        " does not open with the server key: server.key was replaced or the "
                        "database altered");
      }
      k.secret = std::move(secret).value();
    }
    out.push_back(std::move(k));
  }
  return out;
}

std::optional<std::string> AuthStore::LocalToken() {
  std::lock_guard<std::mutex> lock(mu_);
  auto key = Key(/*create=*/false);
  if (!key.ok()) return std::nullopt;
  return (*key)->Derive("mlfaas local CLI token v1");
}

Status AuthStore::Record(AuditEntry e) {
  if (e.at.empty()) e.at = Rfc3339Millis(clock_.EpochMillis());
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(auto txn, Txn::Begin(*db_, Txn::Mode::kImmediate));
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("INSERT INTO audit_log (at, principal, source, action, resource, "
                            "result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  st->Bind(1, e.at)
      .Bind(2, e.principal)
      .Bind(3, e.source)
      .Bind(4, e.action)
      .Bind(5, e.resource)
      .Bind(6, e.result)
      .Bind(7, e.detail.substr(0, 4096));
  MLFAAS_RETURN_IF_ERROR(st->Run());
  MLFAAS_ASSIGN_OR_RETURN(auto trim, db_->Prepare("DELETE FROM audit_log WHERE id <= "
                                                  "last_insert_rowid() - ?"));
  trim->Bind(1, kAuditRetention);
  MLFAAS_RETURN_IF_ERROR(trim->Run());
  return txn->Commit();
}

StatusOr<std::vector<AuditEntry>> AuthStore::ListAudit(const AuditQuery& q) {
  std::lock_guard<std::mutex> lock(mu_);
  MLFAAS_ASSIGN_OR_RETURN(
      auto st, db_->Prepare("SELECT id, at, principal, source, action, resource, result, detail "
                            "FROM (SELECT * FROM audit_log WHERE at >= ? ORDER BY id DESC "
                            "LIMIT ?) ORDER BY id"));
  st->Bind(1, q.since).Bind(2, static_cast<int64_t>(q.limit));
  std::vector<AuditEntry> out;
  for (;;) {
    MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    AuditEntry e;
    e.id = st->Int(0);
    e.at = st->Text(1);
    e.principal = st->Text(2);
    e.source = st->Text(3);
    e.action = st->Text(4);
    e.resource = st->Text(5);
    e.result = st->Text(6);
    e.detail = st->Text(7);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace mlfaas::auth
