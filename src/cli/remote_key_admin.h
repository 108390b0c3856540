// auth::KeyAdmin over a gateway's key API (`mlfaas --remote URL key ...|audit`):
//   POST /mlfaas/v1/keys {"Name","Scopes","Rate"}   201 {"AccessKeyId","SecretAccessKey","Key"}
//   GET /mlfaas/v1/keys                             {"Keys": [Key...]}
//   DELETE /mlfaas/v1/keys/{id or name}             {"Key": Key}
//   GET /mlfaas/v1/audit?since=RFC3339&limit=N      {"Entries": [{"id","at","principal",...}]}
// with Key = {"AccessKeyId","Name","Scopes","Rate","CreatedAt","Status":"Active"|"Revoked",
// "RevokedAt"} (the JSON of `mlfaas key list --json`). Every call needs an admin key once the
// gateway enforces authentication; the gateway audits the writes.
#pragma once

#include <string>
#include <vector>

#include "auth/auth_store.h"
#include "cli/gateway_client.h"

namespace mlfaas::cli {

class RemoteKeyAdmin final : public auth::KeyAdmin {
 public:
  // `gateway` must outlive this.
  explicit RemoteKeyAdmin(const GatewayClient& gateway) : gateway_(gateway) {}

  StatusOr<auth::KeyWithSecret> CreateKey(const std::string& name,
                                          const std::vector<std::string>& scopes,
                                          double rate) override;
  StatusOr<std::vector<auth::ApiKey>> ListKeys() override;
  StatusOr<auth::ApiKey> RevokeKey(const std::string& id_or_name) override;
  StatusOr<std::vector<auth::AuditEntry>> ListAudit(const auth::AuditQuery& query) override;

 private:
  const GatewayClient& gateway_;
};

}  // namespace mlfaas::cli
