#include "auth/scope.h"

#include <cctype>

namespace mlfaas::auth {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kInvoke:
      return "invoke";
    case Action::kDeploy:
      return "deploy";
    case Action::kRead:
      return "read";
    case Action::kAdmin:
      return "admin";
  }
  return "?";
}

std::string Scope::ToString() const {
  return std::string(every_action ? "*" : ActionName(action)) + ":" + pattern;
}

StatusOr<Scope> ParseScope(std::string_view text) {
  constexpr size_t kMaxPattern = 128;
  Scope s;
  const auto colon = text.find(':');
  std::string_view cls = text.substr(0, colon);
  std::string_view pattern = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (cls == "*") {
    s.every_action = true;
  } else if (cls == "invoke") {
    s.action = Action::kInvoke;
  } else if (cls == "deploy") {
    s.action = Action::kDeploy;
  } else if (cls == "read") {
    s.action = Action::kRead;
  } else if (cls == "admin") {
    s.action = Action::kAdmin;
    if (colon == std::string_view::npos) pattern = "*";
    if (pattern != "*") {
      return InvalidArgument("scope '" + std::string(text) +
                             "': admin covers keys and the audit log, not functions: use admin:*");
    }
  } else {
    return InvalidArgument("scope '" + std::string(text) +
                           "': the class must be invoke, deploy, read, admin or *");
  }
  if (pattern.empty()) {
    return InvalidArgument("scope '" + std::string(text) +
                           "' has no pattern: use CLASS:PATTERN, e.g. invoke:* or read:fraud-*");
  }
  if (pattern.size() > kMaxPattern) {
    return InvalidArgument("scope pattern longer than " + std::to_string(kMaxPattern) +
                           " characters");
  }
  for (char c : pattern) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '*' && c != '?') {
      return InvalidArgument("scope '" + std::string(text) +
                             "': a pattern is made of letters, digits, '-', '_', '*' and '?'");
    }
  }
  s.pattern = std::string(pattern);
  return s;
}

// The classic greedy matcher: on a mismatch after a '*', retry with the '*' taking one more
// character. No recursion; each name position is revisited at most once per '*'.
bool GlobMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

ScopeSet ScopeSet::Everything() {
  Scope all;
  all.every_action = true;
  all.pattern = "*";
  return ScopeSet({all});
}

StatusOr<ScopeSet> ScopeSet::Parse(const std::vector<std::string>& texts) {
  std::vector<Scope> scopes;
  for (const auto& t : texts) {
    MLFAAS_ASSIGN_OR_RETURN(Scope s, ParseScope(t));
    scopes.push_back(std::move(s));
  }
  return ScopeSet(std::move(scopes));
}

bool ScopeSet::Allows(Action action, std::string_view function) const {
  for (const auto& s : scopes_) {
    if ((s.every_action || s.action == action) && GlobMatch(s.pattern, function)) return true;
  }
  return false;
}

bool ScopeSet::AllowsAll(Action action) const {
  for (const auto& s : scopes_) {
    if ((s.every_action || s.action == action) && s.pattern == "*") return true;
  }
  return false;
}

std::vector<std::string> ScopeSet::Strings() const {
  std::vector<std::string> out;
  for (const auto& s : scopes_) out.push_back(s.ToString());
  return out;
}

}  // namespace mlfaas::auth
