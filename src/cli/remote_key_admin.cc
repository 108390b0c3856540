#include "cli/remote_key_admin.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "common/json.h"

namespace mlfaas::cli {
namespace {

using nlohmann::json;

constexpr const char* kKeys = "/mlfaas/v1/keys";

StatusOr<auth::ApiKey> KeyFromJson(const json& k, const std::string& what) {
  if (!k.is_object()) return NotMlfaas(what, "a key is not a JSON object");
  auth::ApiKey key;
  auto id = JsonString(k, "AccessKeyId");
  auto name = JsonString(k, "Name");
  const json* scopes = JsonField(k, "Scopes");
  if (!id || !name || !scopes || !scopes->is_array()) {
    return NotMlfaas(what, "a key lacks AccessKeyId, Name or Scopes");
  }
  key.access_key_id = std::move(*id);
  key.name = std::move(*name);
  for (const auto& s : *scopes) {
    if (!s.is_string()) return NotMlfaas(what, "a scope is not a string");
    key.scopes.push_back(s.get<std::string>());
  }
  key.rate = JsonNumber(k, "Rate").value_or(auth::kDefaultRate);
  key.created_at = JsonString(k, "CreatedAt", "");
  key.revoked_at = JsonString(k, "RevokedAt", "");
  // ApiKey::active() is "no revocation time": a revoked key whose time is missing stays revoked.
  if (key.revoked_at.empty() && JsonString(k, "Status", "Active") == "Revoked") {
    key.revoked_at = "?";
  }
  return key;
}

}  // namespace

StatusOr<auth::KeyWithSecret> RemoteKeyAdmin::CreateKey(const std::string& name,
                                                        const std::vector<std::string>& scopes,
                                                        double rate) {
  const std::string what = std::string("POST ") + kKeys;
  MLFAAS_ASSIGN_OR_RETURN(
      json answer,
      gateway_.Call("POST", kKeys, json{{"Name", name}, {"Scopes", scopes}, {"Rate", rate}}));
  auth::KeyWithSecret out;
  const json* key = JsonField(answer, "Key");
  auto secret = JsonString(answer, "SecretAccessKey");
  if (!key || !secret) return NotMlfaas(what, "no Key or SecretAccessKey");
  MLFAAS_ASSIGN_OR_RETURN(out.key, KeyFromJson(*key, what));
  out.secret = std::move(*secret);
  return out;
}

StatusOr<std::vector<auth::ApiKey>> RemoteKeyAdmin::ListKeys() {
  const std::string what = std::string("GET ") + kKeys;
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("GET", kKeys));
  const json* keys = JsonField(answer, "Keys");
  if (!keys || !keys->is_array()) return NotMlfaas(what, "no \"Keys\" array");
  std::vector<auth::ApiKey> out;
  for (const auto& k : *keys) {
    MLFAAS_ASSIGN_OR_RETURN(auth::ApiKey key, KeyFromJson(k, what));
    out.push_back(std::move(key));
  }
  return out;
}

StatusOr<auth::ApiKey> RemoteKeyAdmin::RevokeKey(const std::string& id_or_name) {
  // An empty one would address the collection; the local store says the same of it.
  if (id_or_name.empty()) return NotFound("no key with id or name ''");
  const std::string target = std::string(kKeys) + "/" + UriEncode(id_or_name);
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("DELETE", target));
  const json* key = JsonField(answer, "Key");
  if (!key) return NotMlfaas("DELETE " + target, "no \"Key\"");
  return KeyFromJson(*key, "DELETE " + target);
}

StatusOr<std::vector<auth::AuditEntry>> RemoteKeyAdmin::ListAudit(const auth::AuditQuery& q) {
  std::string target = "/mlfaas/v1/audit?";
  if (!q.since.empty()) target += "since=" + UriEncode(q.since) + "&";
  target += "limit=" + std::to_string(q.limit);
  MLFAAS_ASSIGN_OR_RETURN(json answer, gateway_.Call("GET", target));
  const json* entries = JsonField(answer, "Entries");
  if (!entries || !entries->is_array()) return NotMlfaas("GET " + target, "no \"Entries\" array");
  std::vector<auth::AuditEntry> out;
  for (const auto& e : *entries) {
    if (!e.is_object()) return NotMlfaas("GET " + target, "an entry is not a JSON object");
    auth::AuditEntry entry;
    entry.id = JsonInt(e, "id").value_or(0);
    entry.at = JsonString(e, "at", "");
    entry.principal = JsonString(e, "principal", "");
    entry.source = JsonString(e, "source", "");
    entry.action = JsonString(e, "action", "");
    entry.resource = JsonString(e, "resource", "");
    entry.result = JsonString(e, "result", "");
    entry.detail = JsonString(e, "detail", "");
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace mlfaas::cli
