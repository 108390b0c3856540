// The gateway's door keeper: authenticates a request (AWS Signature V4, a Bearer token, or the
// local CLI's token), applies the key's rate limit, and authorizes actions against the key's
// scopes. docs/security.md has the rules; in short:
//   - mode kAuto (loopback): authentication is on as soon as any key exists (a revoked one
//     counts); before that every caller is anonymous with every scope;
//   - mode kRequired (any other address): always on;
//   - mode kDisabled (--insecure-no-auth): always off.
// Keys come from a KeySource, cached: reloaded by Refresh() (the gateway's maintenance tick,
// every second) and, at most every `unknown_key_refresh`, when a request names a key the cache
// does not know (so a key created a moment ago works at once).
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/auth_store.h"
#include "auth/rate_limiter.h"
#include "auth/scope.h"
#include "auth/sigv4.h"
#include "common/clock.h"

namespace mlfaas::auth {

enum class AuthMode { kAuto, kRequired, kDisabled };

struct Principal {
  enum class Kind { kAnonymous, kLocal, kKey };
  Kind kind = Kind::kAnonymous;
  std::string access_key_id;
  std::string name;
  std::string region;  // the region a SigV4 caller signed for (recorded, not checked)
  ScopeSet scopes;
  // "key:AKIA.../name", "local", "anonymous": for messages and the audit log.
  std::string Describe() const;
};

// A refusal: HTTP status, AWS error type (X-Amzn-ErrorType) and message.
struct Denial {
  int status = 403;
  std::string type;
  std::string message;
  std::string reason;  // 429 only: the body's "Reason"
};

struct GuardOptions {
  AuthMode mode = AuthMode::kAuto;
  std::string service = "lambda";  // the SigV4 service callers must sign for
  Clock::Duration unknown_key_refresh = std::chrono::milliseconds(100);
};

class Guard {
 public:
  // Loads the keys once; fails when they exist but cannot be opened (no or wrong server key).
  static StatusOr<std::unique_ptr<Guard>> Create(KeySource& keys, Clock& clock,
                                                 GuardOptions options);

  // Reloads the keys; on failure keeps the previous ones (and says why).
  Status Refresh();
  bool enforced() const;
  size_t key_count() const;
  AuthMode mode() const { return options_.mode; }

  std::variant<Principal, Denial> Authenticate(const HttpRequestView& req);

  // nullopt when `who` may do `action` on `function`; else a 403 AccessDeniedException naming
  // the operation ("lambda:InvokeFunction") and the missing scope.
  static std::optional<Denial> Authorize(const Principal& who, Action action,
                                         std::string_view function, std::string_view operation);
  // The same for every function at once (a scope whose pattern is "*").
  static std::optional<Denial> AuthorizeAll(const Principal& who, Action action,
                                            std::string_view operation);

 private:
  struct Snapshot {
    std::map<std::string, KeyWithSecret, std::less<>> keys;  // by access key id
    std::map<std::string, ScopeSet, std::less<>> scopes;
    std::optional<std::string> local_token;
  };
  Guard(KeySource& keys, Clock& clock, GuardOptions options)
      : keys_(keys), clock_(clock), options_(std::move(options)), limiter_(clock) {}
  std::shared_ptr<const Snapshot> Current() const;
  bool Enforced(const Snapshot& s) const;
  // The key named by `id`, reloading once if it is unknown (and the last reload is not too
  // recent); null if it does not exist.
  const KeyWithSecret* FindKey(std::shared_ptr<const Snapshot>& snap, std::string_view id);
  std::variant<Principal, Denial> KeyPrincipal(const Snapshot& snap, const KeyWithSecret& key,
                                               std::string region);

  KeySource& keys_;
  Clock& clock_;
  const GuardOptions options_;
  RateLimiter limiter_;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  Clock::TimePoint loaded_at_{};
  std::mutex refresh_mu_;  // one reload at a time
};

}  // namespace mlfaas::auth
