// Fuzz target: AWS Signature Version 4 (src/auth/sigv4.h), the first thing the gateway runs on
// a signed request, all of it client bytes.
//
// Input: '\n'-separated fields: an Authorization header value, a method, a request-target, then
// header lines "name: value" (split at the first ':') up to an empty line; the rest is the body.
//
//  1. ParseAuthorization on the first field: an accepted value has what the parser promises
//     (signed headers lowercase tokens, sorted, unique, at most 64; a 64-hex signature; a
//     well-formed credential) and writes back and re-parses to itself; a refusal is one of
//     AWS's two types.
//  2. CanonicalUri of the path: starts with '/', only unreserved bytes, '/' and %XX (uppercase
//     hex); no empty, "." or ".." segment; and it is a fixed point: decoding it once and
//     canonicalizing again gives it back.
//  3. CanonicalQuery of the query: refused exactly when some '%' is not followed by two hex
//     digits; otherwise sorted "name=value" pairs of unreserved bytes and %XX, one per non-empty
//     raw pair, and a fixed point.
//  4. Verify with the fuzzed Authorization against a fixed secret and clock: no throw, an error
//     is one of the two types, and if it accepts, the same request under another secret fails.
//  5. Round trip: the request with its date/digest/Authorization fields replaced by an
//     X-Amz-Date at the fixed clock (and a Host if it had none), signed by SignAuthorization over
//     every header whose name can be signed; Verify accepts it, and refuses it with another
//     secret, 15 min + 1 s later, and with one more byte of body. If the query cannot be signed
//     (malformed escape), Verify must refuse that request whatever it carries.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "auth/sigv4.h"
#include "fuzz_util.h"

namespace {

using namespace mlfaas;
using namespace mlfaas::auth;

constexpr std::string_view kSecret = "fuzz-secret/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kOtherSecret = "fuzz-secret/K7MDENG+bPxRfiCYEXAMPLEKEZ";
constexpr std::string_view kAmzDate = "20260101T000000Z";
constexpr std::string_view kService = "lambda";
constexpr size_t kMaxHeaders = 256;

std::chrono::system_clock::time_point Now() {
  static const auto now = std::chrono::system_clock::time_point(*ParseAmzDate(kAmzDate));
  return now;
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}
bool IsUpperHex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
bool IsHex(char c) { return IsUpperHex(c) || (c >= 'a' && c <= 'f'); }
int HexValue(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string LowerString(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

// The encoded form SigV4 produces: unreserved bytes, %XX with uppercase hex, and `extra`.
bool IsEncoded(std::string_view s, std::string_view extra) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsUnreserved(s[i]) || extra.find(s[i]) != std::string_view::npos) continue;
    if (s[i] != '%' || i + 2 >= s.size() || !IsUpperHex(s[i + 1]) || !IsUpperHex(s[i + 2])) {
      return false;
    }
    i += 2;
  }
  return true;
}

// Decodes %XX; the caller has checked the escapes are well formed.
std::string Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool HasMalformedEscape(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && (i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2]))) return true;
  }
  return false;
}

bool IsSignableName(std::string_view lower) {
  if (lower.empty() || lower.size() > kMaxSignedHeaderNameBytes) return false;
  return std::all_of(lower.begin(), lower.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

void CheckError(const SigV4Error& e, std::string_view what) {
  if (e.type != kIncompleteSignature && e.type != kInvalidSignature) {
    fuzz::Fail("an error of an unknown type", std::string(what) + ": " + e.type);
  }
  if (e.message.empty()) fuzz::Fail("an error without a message", what);
}

void CheckAuthorization(std::string_view value, const Authorization& a) {
  if (!IsSigV4(value)) fuzz::Fail("ParseAuthorization accepted a non-SigV4 value", value);
  const auto& names = a.signed_headers;
  if (names.empty() || names.size() > kMaxSignedHeaders) {
    fuzz::Fail("accepted SignedHeaders of a bad size", value);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (!IsSignableName(names[i])) fuzz::Fail("accepted a SignedHeaders name", names[i]);
    if (i > 0 && !(names[i - 1] < names[i])) fuzz::Fail("SignedHeaders not sorted/unique", value);
  }
  if (a.signature.size() != 64 || !std::all_of(a.signature.begin(), a.signature.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    fuzz::Fail("accepted a signature that is not 64 lowercase hex", value);
  }
  const Credential& c = a.credential;
  if (c.access_key_id.empty() || c.access_key_id.size() > kMaxAccessKeyIdBytes ||
      c.date.size() != 8 || c.region.empty() || c.service.empty() ||
      (c.access_key_id + c.date + c.region + c.service).find('/') != std::string::npos) {
    fuzz::Fail("accepted a malformed credential", value);
  }
  // Written back in the canonical layout, it parses to the same thing.
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ";") + n;
  const std::string again = std::string(kSigV4Algorithm) + " Credential=" + c.access_key_id + "/" +
                            c.date + "/" + c.region + "/" + c.service + "/" +
                            std::string(kScopeTerminator) + ", SignedHeaders=" + joined +
                            ", Signature=" + a.signature;
  auto reparsed = ParseAuthorization(again);
  const auto* b = std::get_if<Authorization>(&reparsed);
  if (b == nullptr || b->signed_headers != names || b->signature != a.signature ||
      b->credential.access_key_id != c.access_key_id || b->credential.date != c.date ||
      b->credential.region != c.region || b->credential.service != c.service) {
    fuzz::Fail("an accepted Authorization does not re-parse to itself", again);
  }
}

void CheckUri(std::string_view path) {
  const std::string uri = CanonicalUri(path);
  if (uri.empty() || uri[0] != '/') fuzz::Fail("CanonicalUri does not start with '/'", path);
  if (!IsEncoded(uri, "/")) fuzz::Fail("CanonicalUri left a byte unencoded", uri);
  const std::string decoded = Decode(uri);
  if (decoded.find("//") != std::string::npos) fuzz::Fail("CanonicalUri kept '//'", uri);
  for (std::string_view seg : {"/./", "/../"}) {
    if ((decoded + "/").find(seg) != std::string::npos) fuzz::Fail("kept a dot segment", uri);
  }
  if (CanonicalUri(decoded) != uri) fuzz::Fail("CanonicalUri is not a fixed point", uri);
}

void CheckQuery(std::string_view query) {
  const std::optional<std::string> q = CanonicalQuery(query);
  if (!q) {
    if (!HasMalformedEscape(query)) fuzz::Fail("CanonicalQuery refused a valid query", query);
    return;
  }
  if (HasMalformedEscape(query)) fuzz::Fail("CanonicalQuery accepted a malformed escape", query);
  size_t raw_pairs = 0;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = std::min(query.find('&', start), query.size());
    raw_pairs += end > start;
    start = end + 1;
  }
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  start = 0;
  while (!q->empty() && start <= q->size()) {
    const size_t end = std::min(q->find('&', start), q->size());
    const std::string_view pair = std::string_view(*q).substr(start, end - start);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) fuzz::Fail("a canonical pair without '='", *q);
    pairs.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    if (!IsEncoded(pairs.back().first, "") || !IsEncoded(pairs.back().second, "")) {
      fuzz::Fail("CanonicalQuery left a byte unencoded", *q);
    }
    start = end + 1;
  }
  if (pairs.size() != raw_pairs) fuzz::Fail("CanonicalQuery lost or invented a pair", query);
  if (!std::is_sorted(pairs.begin(), pairs.end())) fuzz::Fail("CanonicalQuery not sorted", *q);
  if (CanonicalQuery(*q) != q) fuzz::Fail("CanonicalQuery is not a fixed point", *q);
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }
std::string_view QueryOf(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

struct Input {
  std::string_view authorization, method, target, body;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

Input Split(std::string_view in) {
  Input out;
  auto next_line = [&in]() {
    const size_t nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
  };
  out.authorization = next_line();
  out.method = next_line();
  out.target = next_line();
  while (!in.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) break;
    if (out.headers.size() == kMaxHeaders) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      out.headers.emplace_back(line, std::string_view());
    } else {
      out.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
  }
  out.body = in;
  return out;
}

void RoundTrip(const Input& in) {
  HttpRequestView req{in.method, in.target, {}, in.body};
  std::set<std::string> names;
  bool has_host = false;
  for (const auto& [n, v] : in.headers) {
    const std::string lower = LowerString(n);
    if (lower == "x-amz-date" || lower == "date" || lower == "x-amz-content-sha256" ||
        lower == "authorization") {
      continue;
    }
    req.headers.emplace_back(n, v);
    has_host |= lower == "host";
    if (IsSignableName(lower)) names.insert(lower);
  }
  req.headers.emplace_back("X-Amz-Date", kAmzDate);
  if (!has_host) req.headers.emplace_back("Host", "fuzz.example.com");
  names.insert("host");
  names.insert("x-amz-date");
  // At most kMaxSignedHeaders, host and x-amz-date among them.
  std::vector<std::string> signed_headers = {"host", "x-amz-date"};
  for (const auto& n : names) {
    if (signed_headers.size() == kMaxSignedHeaders) break;
    if (n != "host" && n != "x-amz-date") signed_headers.push_back(n);
  }
  std::sort(signed_headers.begin(), signed_headers.end());

  const StatusOr<std::string> authz =
      SignAuthorization(req, "AKIDFUZZ", kSecret, "us-east-1", kService, kAmzDate, signed_headers);
  if (!authz.ok()) {
    if (CanonicalQuery(QueryOf(in.target)).has_value()) {
      fuzz::Fail("SignAuthorization refused a request with a valid query", in.target);
    }
    Authorization forged;
    forged.credential = {"AKIDFUZZ", std::string(kAmzDate.substr(0, 8)), "us-east-1",
                         std::string(kService)};
    forged.signed_headers = signed_headers;
    forged.signature = std::string(64, '0');
    const auto e = Verify(req, forged, kSecret, kService, Now());
    if (!e) fuzz::Fail("Verify accepted a request whose query cannot be canonicalized", in.target);
    CheckError(*e, "unsignable");
    return;
  }
  auto parsed = ParseAuthorization(*authz);
  const auto* auth = std::get_if<Authorization>(&parsed);
  if (auth == nullptr) {
    fuzz::Fail("SignAuthorization wrote what ParseAuthorization refuses", *authz);
  }
  if (auth->signed_headers != signed_headers) fuzz::Fail("signed headers changed", *authz);
  CheckAuthorization(*authz, *auth);

  if (const auto e = Verify(req, *auth, kSecret, kService, Now())) {
    fuzz::Fail("Verify refused what SignAuthorization signed", e->type + ": " + e->message);
  }
  const auto other = Verify(req, *auth, kOtherSecret, kService, Now());
  if (!other || other->type != kInvalidSignature) {
    fuzz::Fail("Verify accepted the signature under another secret", *authz);
  }
  const auto late = Verify(req, *auth, kSecret, kService,
                           Now() + std::chrono::minutes(15) + std::chrono::seconds(1));
  if (!late || late->message.rfind("Signature expired", 0) != 0) {
    fuzz::Fail("Verify accepted an expired signature", *authz);
  }
  std::string longer(in.body);
  longer.push_back('!');
  HttpRequestView tampered = req;
  tampered.body = longer;
  const auto changed = Verify(tampered, *auth, kSecret, kService, Now());
  if (!changed || changed->type != kInvalidSignature) {
    fuzz::Fail("Verify accepted a changed body", *authz);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Input in = Split(std::string_view(reinterpret_cast<const char*>(data), size));

  // 1. The Authorization header.
  (void)IsSigV4(in.authorization);
  auto parsed = ParseAuthorization(in.authorization);
  if (const auto* e = std::get_if<SigV4Error>(&parsed)) {
    CheckError(*e, in.authorization);
  } else {
    CheckAuthorization(in.authorization, std::get<Authorization>(parsed));
  }

  // 2, 3. Canonical path and query.
  CheckUri(PathOf(in.target));
  CheckQuery(QueryOf(in.target));

  // Dates in any header value: what parses formats back to itself.
  for (const auto& [n, v] : in.headers) {
    if (const auto t = ParseAmzDate(v);
        t && FormatAmzDate(std::chrono::system_clock::time_point(*t)) != v) {
      fuzz::Fail("ParseAmzDate/FormatAmzDate do not round-trip", v);
    }
    (void)ParseHttpDate(v);
  }

  // 4. Verify with what the client sent.
  const HttpRequestView req{in.method, in.target, in.headers, in.body};
  if (const auto* auth = std::get_if<Authorization>(&parsed)) {
    (void)CanonicalRequest(req, auth->signed_headers, "UNSIGNED-PAYLOAD");
    if (const auto e = Verify(req, *auth, kSecret, kService, Now())) {
      CheckError(*e, in.authorization);
    } else if (!Verify(req, *auth, kOtherSecret, kService, Now())) {
      fuzz::Fail("a request verifies under two secrets", in.authorization);
    }
  }

  // 5. Round trip.
  RoundTrip(in);
  return 0;
}
