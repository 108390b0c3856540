#include "auth/guard.h"

#include <spdlog/spdlog.h>

#include <cctype>

namespace mlfaas::auth {
namespace {

constexpr std::string_view kLocalPrefix = "mlfaas-local:";

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The first field named `name` (case-insensitive); found tells an empty one from none.
std::string_view Header(const HttpRequestView& req, std::string_view name, bool* found = nullptr) {
  for (const auto& [k, v] : req.headers) {
    if (IEquals(k, name)) {
      if (found) *found = true;
      return v;
    }
  }
  if (found) *found = false;
  return {};
}

Denial Unrecognized() {
  return {403, "UnrecognizedClientException",
          "The security token included in the request is invalid.", ""};
}

Denial BadSecret() {
  return {403, "InvalidSignatureException",
          "The secret access key does not match the access key id. Check your AWS Secret Access "
          "Key.",
          ""};
}

}  // namespace

std::string Principal::Describe() const {
  switch (kind) {
    case Kind::kAnonymous:
      return "anonymous";
    case Kind::kLocal:
      return "local";
    case Kind::kKey:
      return "key:" + access_key_id + "/" + name;
  }
  return "?";
}

StatusOr<std::unique_ptr<Guard>> Guard::Create(KeySource& keys, Clock& clock,
                                               GuardOptions options) {
  std::unique_ptr<Guard> g(new Guard(keys, clock, std::move(options)));
  MLFAAS_RETURN_IF_ERROR(g->Refresh());
  return g;
}

Status Guard::Refresh() {
  std::lock_guard<std::mutex> one(refresh_mu_);
  auto loaded = keys_.LoadKeys();
  const auto now = clock_.Now();
  if (!loaded.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    loaded_at_ = now;  // a failing source is not retried on every unknown key
    return loaded.status();
  }
  auto snap = std::make_shared<Snapshot>();
  std::map<std::string, double> rates;
  for (auto& k : *loaded) {
    auto scopes = ScopeSet::Parse(k.key.scopes);
    // A scope this build cannot read grants nothing (never more than it says).
    snap->scopes.emplace(k.key.access_key_id, scopes.ok() ? std::move(scopes).value() : ScopeSet());
    rates.emplace(k.key.access_key_id, k.key.rate);
    snap->keys.emplace(k.key.access_key_id, std::move(k));
  }
  snap->local_token = keys_.LocalToken();
  limiter_.Retain(rates);
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(snap);
  loaded_at_ = now;
  return Status::Ok();
}

std::shared_ptr<const Guard::Snapshot> Guard::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

bool Guard::Enforced(const Snapshot& s) const {
  switch (options_.mode) {
    case AuthMode::kDisabled:
      return false;
    case AuthMode::kRequired:
      return true;
    case AuthMode::kAuto:
      return !s.keys.empty();
  }
  return true;
}

bool Guard::enforced() const {
  auto s = Current();
  return s ? Enforced(*s) : options_.mode != AuthMode::kDisabled;
}

size_t Guard::key_count() const {
  auto s = Current();
  return s ? s->keys.size() : 0;
}

const KeyWithSecret* Guard::FindKey(std::shared_ptr<const Snapshot>& snap, std::string_view id) {
  if (auto it = snap->keys.find(id); it != snap->keys.end()) return &it->second;
  bool stale;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stale = clock_.Now() - loaded_at_ >= options_.unknown_key_refresh;
  }
  if (!stale) return nullptr;
  if (Status st = Refresh(); !st.ok()) {
    spdlog::error("authentication: cannot reload the keys: {}", st.message());
  }
  snap = Current();
  auto it = snap->keys.find(id);
  return it == snap->keys.end() ? nullptr : &it->second;
}

std::variant<Principal, Denial> Guard::KeyPrincipal(const Snapshot& snap, const KeyWithSecret& key,
                                                    std::string region) {
  if (!limiter_.Admit(key.key.access_key_id, key.key.rate)) {
    return Denial{429, "TooManyRequestsException",
                  "Rate exceeded: key " + key.key.access_key_id + " may send " +
                      std::to_string(static_cast<long long>(key.key.rate)) +
                      " requests per second (bursts of twice that)",
                  "CallerRateLimitExceeded"};
  }
  Principal p;
  p.kind = Principal::Kind::kKey;
  p.access_key_id = key.key.access_key_id;
  p.name = key.key.name;
  p.region = std::move(region);
  if (auto it = snap.scopes.find(key.key.access_key_id); it != snap.scopes.end()) {
    p.scopes = it->second;
  }
  return p;
}

std::variant<Principal, Denial> Guard::Authenticate(const HttpRequestView& req) {
  auto snap = Current();
  if (!snap || !Enforced(*snap)) {
    Principal open;
    open.scopes = ScopeSet::Everything();
    return open;
  }
  bool has_auth = false;
  const std::string_view auth = Header(req, "authorization", &has_auth);
  if (!has_auth || auth.empty()) {
    const std::string_view target = req.target;
    if (target.find("X-Amz-Signature=") != std::string_view::npos) {
      return Denial{403, "IncompleteSignatureException",
                    "Presigned URLs are not supported: sign the Authorization header", ""};
    }
    return Denial{401, "MissingAuthenticationTokenException",
                  "Missing Authentication Token: sign the request with AWS Signature V4 (an "
                  "mlfaas key as the access key) or send 'Authorization: Bearer "
                  "<AccessKeyId>:<SecretAccessKey>'",
                  ""};
  }
  bool has_token = false;
  Header(req, "x-amz-security-token", &has_token);
  if (has_token) {
    return Denial{403, "UnrecognizedClientException",
                  "The security token included in the request is invalid: mlfaas keys have no "
                  "session token (unset AWS_SESSION_TOKEN)",
                  ""};
  }
  if (IsSigV4(auth)) {
    auto parsed = ParseAuthorization(auth);
    if (auto* err = std::get_if<SigV4Error>(&parsed)) {
      return Denial{403, err->type, err->message, ""};
    }
    auto& a = std::get<Authorization>(parsed);
    const KeyWithSecret* key = FindKey(snap, a.credential.access_key_id);
    if (!key || !key->key.active()) return Unrecognized();
    const auto now =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(clock_.EpochMillis()));
    if (auto err = Verify(req, a, key->secret, options_.service, now)) {
      return Denial{403, err->type, err->message, ""};
    }
    return KeyPrincipal(*snap, *key, a.credential.region);
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && IEquals(auth.substr(0, kBearer.size()), kBearer)) {
    std::string_view token = auth.substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.starts_with(kLocalPrefix)) {
      if (!snap->local_token ||
          !ConstantTimeEquals(token.substr(kLocalPrefix.size()), *snap->local_token)) {
        return Unrecognized();
      }
      Principal local;
      local.kind = Principal::Kind::kLocal;
      local.name = "local";
      local.scopes = ScopeSet::Everything();
      return local;
    }
    const auto colon = token.find(':');
    if (colon == std::string_view::npos) {
      return Denial{403, "IncompleteSignatureException",
                    "A Bearer token is '<AccessKeyId>:<SecretAccessKey>'", ""};
    }
    const KeyWithSecret* key = FindKey(snap, token.substr(0, colon));
    if (!key || !key->key.active()) return Unrecognized();
    if (!ConstantTimeEquals(token.substr(colon + 1), key->secret)) return BadSecret();
    return KeyPrincipal(*snap, *key, "");
  }
  return Denial{403, "IncompleteSignatureException",
                "Unsupported Authorization header: use AWS4-HMAC-SHA256 (AWS Signature V4) or "
                "Bearer <AccessKeyId>:<SecretAccessKey>",
                ""};
}

std::optional<Denial> Guard::Authorize(const Principal& who, Action action,
                                       std::string_view function, std::string_view operation) {
  if (who.scopes.Allows(action, function)) return std::nullopt;
  return Denial{403, "AccessDeniedException",
                "User: " + who.Describe() +
                    " is not authorized to perform: " + std::string(operation) +
                    " on resource: function " + std::string(function) + " (it needs the scope " +
                    ActionName(action) + ":" + std::string(function) + " or a pattern matching it)",
                ""};
}

std::optional<Denial> Guard::AuthorizeAll(const Principal& who, Action action,
                                          std::string_view operation) {
  if (who.scopes.AllowsAll(action)) return std::nullopt;
  return Denial{403, "AccessDeniedException",
                "User: " + who.Describe() + " is not authorized to perform: " +
                    std::string(operation) + " (it needs the scope " + ActionName(action) + ":*)",
                ""};
}

}  // namespace mlfaas::auth
