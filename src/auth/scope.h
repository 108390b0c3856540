// Scopes: what a key may do, as CLASS:PATTERN (docs/security.md). The classes:
//   invoke  the Lambda Invoke API and the TF-Serving and KServe routes of matching functions
//   deploy  control-plane writes on matching functions
//   read    control-plane reads and logs of matching functions; /metrics and /v1/status need a
//           read scope whose pattern is "*"
//   admin   keys and the audit log (pattern "*"; "admin" alone means "admin:*")
// "*" as the class grants every class ("*:*" is a root key). A pattern is a glob over function
// names: '*' any run of characters, '?' one character, everything else literal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::auth {

enum class Action { kInvoke, kDeploy, kRead, kAdmin };

// "invoke", "deploy", "read", "admin".
const char* ActionName(Action a);

struct Scope {
  bool every_action = false;  // class "*"
  Action action = Action::kInvoke;
  std::string pattern;  // glob over function names, non-empty

  std::string ToString() const;
};

// Parses "CLASS:PATTERN" (or "admin"); InvalidArgument says what is wrong. Patterns are made of
// the characters of function names plus '*' and '?', at most 128 of them.
StatusOr<Scope> ParseScope(std::string_view text);

// Glob match without recursion or backtracking blow-up (linear in |pattern| * |name|).
bool GlobMatch(std::string_view pattern, std::string_view name);

// A key's scopes.
class ScopeSet {
 public:
  ScopeSet() = default;
  explicit ScopeSet(std::vector<Scope> scopes) : scopes_(std::move(scopes)) {}
  // Every scope; the anonymous caller of an open gateway.
  static ScopeSet Everything();
  static StatusOr<ScopeSet> Parse(const std::vector<std::string>& texts);

  // May `action` be done on function `function`?
  bool Allows(Action action, std::string_view function) const;
  // May `action` be done on every function (a scope whose pattern is "*")?
  bool AllowsAll(Action action) const;
  const std::vector<Scope>& scopes() const { return scopes_; }
  std::vector<std::string> Strings() const;

 private:
  std::vector<Scope> scopes_;
};

}  // namespace mlfaas::auth
