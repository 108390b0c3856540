#include "auth/sigv4.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>

namespace mlfaas::auth {
namespace {

using std::chrono::sys_seconds;

constexpr std::string_view kHexUpper = "0123456789ABCDEF";
constexpr std::string_view kHexLower = "0123456789abcdef";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
// The longest clock skew Verify allows, whatever the caller asks: keeps the time arithmetic far
// from overflow and a misconfiguration from accepting week-old replays.
constexpr std::chrono::seconds kMaxSkewLimit = std::chrono::hours(24 * 7);

SigV4Error Incomplete(std::string message) {
  return SigV4Error{std::string(kIncompleteSignature), std::move(message)};
}
SigV4Error Invalid(std::string message) {
  return SigV4Error{std::string(kInvalidSignature), std::move(message)};
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpperAlpha(char c) { return c >= 'A' && c <= 'Z'; }
char AsciiLower(char c) { return IsUpperAlpha(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return IsLowerAlpha(c) ? static_cast<char>(c - 'a' + 'A') : c; }

// RFC 3986 unreserved: the only bytes SigV4 leaves unencoded (besides '/' in paths).
bool IsUnreserved(char c) {
  return IsDigit(c) || IsLowerAlpha(c) || IsUpperAlpha(c) || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

// What "trim" and "collapse" mean for header values: the ASCII whitespace Python's str.split()
// splits on (botocore's _header_value), restricted to the bytes an HTTP field can carry.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// RFC 9110 token characters, lowercase only: what a SignedHeaders name may contain.
bool IsLowerTchar(char c) {
  return IsDigit(c) || IsLowerAlpha(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// SigV4's UriEncode: every byte but the unreserved ones (and '/' when `keep_slash`) as %XX.
void UriEncode(std::string_view in, bool keep_slash, std::string& out) {
  for (char c : in) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHexUpper[b >> 4]);
      out.push_back(kHexUpper[b & 0xf]);
    }
  }
}

// %XX-decodes `in` into `out`. '+' is a plus (SigV4 is not form encoding). False on a '%' not
// followed by two hex digits, as aws-c-auth refuses it (AWS_ERROR_MALFORMED_INPUT_STRING).
bool PercentDecode(std::string_view in, std::string& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// For messages that quote client input: printable ASCII only, bounded.
std::string Printable(std::string_view s, size_t max = 256) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const char c = s[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (s.size() > max) out += "...";
  return out;
}

// Splits `s` on `sep` into at most `max_parts` pieces; false if there are more.
bool Split(std::string_view s, char sep, size_t max_parts, std::vector<std::string_view>& out) {
  size_t start = 0;
  while (true) {
    if (out.size() == max_parts) return false;
    const size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return true;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

template <typename Pred>
bool AllOf(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return pred(c); });
}

// Why `names` is not a valid SignedHeaders list, or nullopt.
std::optional<std::string> SignedHeadersProblem(const std::vector<std::string>& names) {
  if (names.empty()) return "SignedHeaders must name at least one header.";
  if (names.size() > kMaxSignedHeaders) {
    return fmt::format("SignedHeaders names {} headers; at most {} are accepted.", names.size(),
                       kMaxSignedHeaders);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n.empty() || n.size() > kMaxSignedHeaderNameBytes || !AllOf(n, IsLowerTchar)) {
      return fmt::format("SignedHeaders must be lowercase header names separated by ';'; got '{}'.",
                         Printable(n));
    }
    if (i > 0 && !(names[i - 1] < n)) {
      return fmt::format("SignedHeaders must be sorted and unique; '{}' comes after '{}'.",
                         Printable(n), Printable(names[i - 1]));
    }
  }
  return std::nullopt;
}

std::optional<sys_seconds> MakeTime(int y, int mo, int d, int h, int mi, int s) {
  using namespace std::chrono;
  // A 4-digit year can be 9999; converted to system_clock's nanoseconds, anything after 2262
  // overflows (sigv4_fuzz: regress_amz_date_year_5026).
  if (y < kMinDateYear || y > kMaxDateYear) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

// `n` decimal digits of `s` at `pos`, or -1.
int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::string FormatSeconds(sys_seconds t) {
  using namespace std::chrono;
  const auto day_point = floor<days>(t);
  const year_month_day ymd{day_point};
  const hh_mm_ss hms{t - day_point};
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string FormatSkew(std::chrono::seconds skew) {
  if (skew.count() % 60 == 0) return fmt::format("{} min.", skew.count() / 60);
  return fmt::format("{} sec.", skew.count());
}

// SHA-256 through one EVP_MD fetched once and one digest context per thread: OpenSSL 3's
// one-shot calls (EVP_Digest, HMAC) look the algorithm up in the provider tables on every call,
// which cost more than the hashing of a small request (auth_bench: verifying a small signed
// invoke went from 9.5 to 4.7 us of CPU).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // kept for the process
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// The SHA-256 of the concatenation of `parts` into out[32]; false on an OpenSSL failure.
bool Sha256Of(std::initializer_list<std::string_view> parts, unsigned char* out) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = Sha256Md();
  if (!ctx || !md || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) return false;
  for (std::string_view p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) return false;
  }
  unsigned int len = 0;
  return EVP_DigestFinal_ex(ctx.get(), out, &len) == 1 && len == 32;
}

std::string RawSha256(std::string_view data) {
  unsigned char md[32];
  if (!Sha256Of({data}, md)) return {};
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

// HMAC-SHA256 (RFC 2104) over Sha256Of, raw. Empty on an OpenSSL failure (then no signature can
// match: fails closed). Checked against RFC 4231's vectors in sigv4_test.
std::string RawHmacSha256(std::string_view key, std::string_view data) {
  constexpr size_t kBlock = 64;
  unsigned char k[kBlock] = {0};
  if (key.size() > kBlock) {
    if (!Sha256Of({key}, k)) return {};
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  char ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  unsigned char inner[32], outer[32];
  if (!Sha256Of({std::string_view(ipad, kBlock), data}, inner) ||
      !Sha256Of({std::string_view(opad, kBlock),
                 std::string_view(reinterpret_cast<const char*>(inner), sizeof inner)},
                outer)) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(outer), sizeof outer);
}

std::string Hex(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHexLower[b >> 4]);
    out.push_back(kHexLower[b & 0xf]);
  }
  return out;
}

// The values of every field named `name` (case-insensitive), in order.
std::vector<std::string_view> FieldValues(const HttpRequestView& req, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : req.headers) {
    if (EqualsIgnoreCase(n, name)) out.push_back(v);
  }
  return out;
}

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::string Scope(std::string_view date, std::string_view region, std::string_view service) {
  return fmt::format("{}/{}/{}/{}", date, region, service, kScopeTerminator);
}

std::string JoinSigned(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out.push_back(';');
    out += n;
  }
  return out;
}

std::optional<SigV4Error> ParseCredential(std::string_view value, Credential& cred) {
  std::vector<std::string_view> parts;
  if (!Split(value, '/', 5, parts) || parts.size() != 5) {
    return Incomplete(
        fmt::format("Credential must have exactly 5 slash-delimited elements, e.g. "
                    "keyid/date/region/service/term, got '{}'",
                    Printable(value)));
  }
  // IAM issues access key ids of 16 to 128 characters; any length from 1 is accepted so that
  // AWS's own test suite (AKIDEXAMPLE) verifies. The key id only selects the secret.
  if (parts[0].empty() || parts[0].size() > kMaxAccessKeyIdBytes ||
      !AllOf(parts[0], [](char c) { return IsUpperAlpha(c) || IsDigit(c); })) {
    return Incomplete(fmt::format(
        "The access key id in the Credential must be 1 to {} characters A-Z and 0-9; got '{}'.",
        kMaxAccessKeyIdBytes, Printable(parts[0])));
  }
  if (parts[1].size() != 8 || !AllOf(parts[1], IsDigit)) {
    return Incomplete(
        fmt::format("The date in the Credential must be YYYYMMDD; got '{}'.", Printable(parts[1])));
  }
  if (parts[2].empty() || parts[2].size() > kMaxScopeElementBytes ||
      !AllOf(parts[2], [](char c) { return IsLowerAlpha(c) || IsDigit(c) || c == '-'; })) {
    return Incomplete(fmt::format("Credential should be scoped to a valid region, not '{}'.",
                                  Printable(parts[2])));
  }
  if (parts[3].empty() || parts[3].size() > kMaxScopeElementBytes || !AllOf(parts[3], [](char c) {
        return IsLowerAlpha(c) || IsUpperAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.';
      })) {
    return Incomplete(fmt::format("Credential should be scoped to a valid service, not '{}'.",
                                  Printable(parts[3])));
  }
  cred.access_key_id = std::string(parts[0]);
  cred.date = std::string(parts[1]);
  cred.region = std::string(parts[2]);
  cred.service = std::string(parts[3]);
  if (parts[4] != kScopeTerminator) {
    return Invalid(
        fmt::format("Credential should be scoped with a valid terminator: '{}', not '{}'.",
                    kScopeTerminator, Printable(parts[4])));
  }
  return std::nullopt;
}

}  // namespace

bool IsSigV4(std::string_view authorization_value) {
  return authorization_value.size() > kSigV4Algorithm.size() &&
         authorization_value.substr(0, kSigV4Algorithm.size()) == kSigV4Algorithm &&
         authorization_value[kSigV4Algorithm.size()] == ' ';
}

std::variant<Authorization, SigV4Error> ParseAuthorization(std::string_view value) {
  if (value.size() > kMaxAuthorizationBytes) {
    return Incomplete(
        fmt::format("The Authorization header is {} bytes long; at most {} are "
                    "accepted.",
                    value.size(), kMaxAuthorizationBytes));
  }
  if (!IsSigV4(value)) {
    return Incomplete(fmt::format("Authorization header must use '{}'. Authorization={}",
                                  kSigV4Algorithm, Printable(value)));
  }
  // "Credential=..., SignedHeaders=..., Signature=...": components separated by ',' with
  // optional whitespace, in any order, each exactly once, nothing else.
  std::vector<std::string_view> parts;
  const std::string_view params = value.substr(kSigV4Algorithm.size() + 1);
  if (!TrimOws(params).empty()) Split(params, ',', kMaxAuthorizationBytes, parts);
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view raw : parts) {
    const std::string_view part = TrimOws(raw);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Incomplete(
          fmt::format("Invalid key=value pair (missing equal-sign) in Authorization header: '{}'.",
                      Printable(part)));
    }
    const std::string_view key = part.substr(0, eq);
    std::optional<std::string_view>* slot = key == "Credential"      ? &credential
                                            : key == "SignedHeaders" ? &signed_headers
                                            : key == "Signature"     ? &signature
                                                                     : nullptr;
    if (slot == nullptr) {
      return Incomplete(
          fmt::format("Unknown component '{}' in the Authorization header.", Printable(key)));
    }
    if (slot->has_value()) {
      return Incomplete(fmt::format("The Authorization header names '{}' twice.", key));
    }
    *slot = part.substr(eq + 1);
  }
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!missing.empty()) return Incomplete(missing + "Authorization=" + Printable(value));

  Authorization auth;
  // The terminator check comes last: every malformed part is reported as incomplete first.
  std::optional<SigV4Error> credential_error = ParseCredential(*credential, auth.credential);
  if (credential_error && credential_error->type == kIncompleteSignature) {
    return *std::move(credential_error);
  }
  std::vector<std::string_view> names;
  if (!Split(*signed_headers, ';', kMaxSignedHeaders, names)) {
    return Incomplete(fmt::format("SignedHeaders names more than {} headers.", kMaxSignedHeaders));
  }
  auth.signed_headers.assign(names.begin(), names.end());
  if (auto problem = SignedHeadersProblem(auth.signed_headers)) return Incomplete(*problem);
  if (signature->size() != 64 ||
      !AllOf(*signature, [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); })) {
    return Incomplete(fmt::format(
        "Signature must be 64 lowercase hexadecimal characters; got '{}'.", Printable(*signature)));
  }
  auth.signature = std::string(*signature);
  if (credential_error) return *std::move(credential_error);
  return auth;
}

std::string CanonicalUri(std::string_view raw_path) {
  // botocore's remove_dot_segments: drop empty and "." segments, ".." pops (never above the
  // root), keep a trailing '/' if anything is left. A path without its leading '/' (not
  // origin-form) is read as if it had one.
  std::vector<std::string_view> kept;
  size_t start = 0;
  while (start <= raw_path.size()) {
    size_t end = raw_path.find('/', start);
    if (end == std::string_view::npos) end = raw_path.size();
    const std::string_view seg = raw_path.substr(start, end - start);
    if (seg == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!seg.empty() && seg != ".") {
      kept.push_back(seg);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out.push_back('/');
    UriEncode(kept[i], /*keep_slash=*/false, out);
  }
  if (!kept.empty() && !raw_path.empty() && raw_path.back() == '/') out.push_back('/');
  return out;
}

std::optional<std::string> CanonicalQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= raw_query.size()) {
    size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) end = raw_query.size();
    const std::string_view part = raw_query.substr(start, end - start);
    start = end + 1;
    // Empty pairs ("a=1&&b=2", a trailing '&') are dropped, as aws-c-auth drops them.
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::string decoded_name, decoded_value;
    if (!PercentDecode(name, decoded_name) || !PercentDecode(value, decoded_value)) {
      return std::nullopt;
    }
    auto& [n, v] = pairs.emplace_back();
    UriEncode(decoded_name, /*keep_slash=*/false, n);
    UriEncode(decoded_value, /*keep_slash=*/false, v);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [n, v] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += n;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string CanonicalHeaders(const HttpRequestView& req,
                             const std::vector<std::string>& signed_headers) {
  std::string out;
  for (const std::string& name : signed_headers) {
    out += name;
    out.push_back(':');
    bool first_field = true;
    for (const auto& [n, v] : req.headers) {
      if (!EqualsIgnoreCase(n, name)) continue;
      if (!first_field) out.push_back(',');
      first_field = false;
      // Trimall: no leading or trailing whitespace, inner runs as one space.
      bool pending_space = false;
      for (char c : TrimOws(v)) {
        if (IsSpace(c)) {
          pending_space = true;
          continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(c);
      }
    }
    out.push_back('\n');
  }
  return out;
}

std::optional<std::string> CanonicalRequest(const HttpRequestView& req,
                                            const std::vector<std::string>& signed_headers,
                                            std::string_view payload_sha256_hex) {
  const auto [path, query] = SplitTarget(req.target);
  std::optional<std::string> canonical_query = CanonicalQuery(query);
  if (!canonical_query) return std::nullopt;
  std::string out;
  // botocore upper-cases the method it signs; methods are case-sensitive on the wire, so this
  // only matters for a client that sent a lowercase one.
  for (char c : req.method) out.push_back(AsciiUpper(c));
  out.push_back('\n');
  out += CanonicalUri(path);
  out.push_back('\n');
  out += *canonical_query;
  out.push_back('\n');
  out += CanonicalHeaders(req, signed_headers);
  out.push_back('\n');
  out += JoinSigned(signed_headers);
  out.push_back('\n');
  out += payload_sha256_hex;
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return fmt::format("{}\n{}\n{}\n{}", kSigV4Algorithm, amz_date, scope,
                     Hex(RawSha256(canonical_request)));
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  const std::string k_date = RawHmacSha256("AWS4" + std::string(secret), date);
  const std::string k_region = RawHmacSha256(k_date, region);
  const std::string k_service = RawHmacSha256(k_region, service);
  return RawHmacSha256(k_service, kScopeTerminator);
}

std::string HexHmacSha256(std::string_view key, std::string_view data) {
  return Hex(RawHmacSha256(key, data));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string FormatAmzDate(std::chrono::system_clock::time_point t) {
  return FormatSeconds(std::chrono::floor<std::chrono::seconds>(t));
}

std::optional<sys_seconds> ParseAmzDate(std::string_view s) {
  // YYYYMMDDTHHMMSSZ
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  const int y = Digits(s, 0, 4), mo = Digits(s, 4, 2), d = Digits(s, 6, 2);
  const int h = Digits(s, 9, 2), mi = Digits(s, 11, 2), sec = Digits(s, 13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  return MakeTime(y, mo, d, h, mi, sec);
}

std::optional<sys_seconds> ParseHttpDate(std::string_view s) {
  // "Sun, 30 Aug 2015 12:36:00 GMT" (IMF-fixdate); Python's formatdate writes "-0000".
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s[25] != ' ') {
    return std::nullopt;
  }
  const std::string_view zone = s.substr(26);
  if (zone != "GMT" && zone != "UTC" && zone != "+0000" && zone != "-0000") return std::nullopt;
  const auto* day_name = std::find(std::begin(kDays), std::end(kDays), s.substr(0, 3));
  const auto* month_name = std::find(std::begin(kMonths), std::end(kMonths), s.substr(8, 3));
  if (day_name == std::end(kDays) || month_name == std::end(kMonths)) return std::nullopt;
  const int d = Digits(s, 5, 2), y = Digits(s, 12, 4);
  const int h = Digits(s, 17, 2), mi = Digits(s, 20, 2), sec = Digits(s, 23, 2);
  if (d < 0 || y < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  const auto t = MakeTime(y, static_cast<int>(month_name - std::begin(kMonths)) + 1, d, h, mi, sec);
  if (!t) return std::nullopt;
  const std::chrono::weekday wd{std::chrono::floor<std::chrono::days>(*t)};
  if (wd.c_encoding() != static_cast<unsigned>(day_name - std::begin(kDays))) return std::nullopt;
  return t;
}

std::optional<SigV4Error> Verify(const HttpRequestView& req, const Authorization& auth,
                                 std::string_view secret, std::string_view expected_service,
                                 std::chrono::system_clock::time_point now,
                                 std::chrono::seconds max_skew) {
  // Malformed: the Authorization does not say enough to check it.
  if (auto problem = SignedHeadersProblem(auth.signed_headers)) return Incomplete(*problem);
  if (!Contains(auth.signed_headers, "host")) {
    return Incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  // X-Amz-Date wins over Date (a client may send both; CRT signs with X-Amz-Date and leaves a
  // caller's Date alone).
  std::optional<sys_seconds> request_time;
  const std::vector<std::string_view> amz_dates = FieldValues(req, "x-amz-date");
  if (!amz_dates.empty()) {
    const std::string_view v = TrimOws(amz_dates.front());
    if (amz_dates.size() > 1 || !(request_time = ParseAmzDate(v))) {
      return Incomplete(fmt::format(
          "Date must be in ISO-8601 'basic format'. Got '{}'. See "
          "http://en.wikipedia.org/wiki/ISO_8601",
          Printable(amz_dates.size() > 1 ? "<" + std::to_string(amz_dates.size()) + " fields>"
                                         : std::string(v))));
    }
    if (!Contains(auth.signed_headers, "x-amz-date")) {
      return Incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
    }
  } else {
    const std::vector<std::string_view> dates = FieldValues(req, "date");
    if (dates.empty()) {
      return Incomplete(
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
          "header.");
    }
    const std::string_view v = TrimOws(dates.front());
    if (dates.size() > 1 || !(request_time = ParseHttpDate(v))) {
      return Incomplete(fmt::format(
          "Date must be an RFC 1123 date such as 'Sun, 30 Aug 2015 12:36:00 GMT'. Got '{}'.",
          Printable(v)));
    }
    if (!Contains(auth.signed_headers, "date")) {
      return Incomplete("'Date' must be a 'SignedHeader' in the AWS Authorization.");
    }
  }
  for (const std::string& name : auth.signed_headers) {
    if (FieldValues(req, name).empty()) {
      return Incomplete(
          fmt::format("The signed header '{}' is not present in the request.", Printable(name)));
    }
  }

  // Well formed but refused.
  const std::string amz_date = FormatSeconds(*request_time);
  if (auth.credential.service != expected_service) {
    return Invalid(fmt::format("Credential should be scoped to correct service: '{}'. ",
                               Printable(expected_service)));
  }
  if (auth.credential.date != std::string_view(amz_date).substr(0, 8)) {
    return Invalid(fmt::format(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '{}' != '{}', from '{}'.",
        Printable(auth.credential.date), amz_date.substr(0, 8), amz_date));
  }
  // Exact to the nanosecond, in whole seconds plus now's fraction: `now` may be anything the
  // caller passes, and seconds arithmetic cannot overflow where nanoseconds could.
  const std::chrono::seconds skew = std::clamp(max_skew, std::chrono::seconds(0), kMaxSkewLimit);
  const sys_seconds now_s = std::chrono::floor<std::chrono::seconds>(now);
  const bool now_has_fraction = now != now_s;
  if (*request_time + skew < now_s || (*request_time + skew == now_s && now_has_fraction)) {
    return Invalid(fmt::format("Signature expired: {} is now earlier than {} ({} - {})", amz_date,
                               FormatSeconds(now_s - skew), FormatSeconds(now_s),
                               FormatSkew(skew)));
  }
  if (*request_time - skew > now_s) {
    return Invalid(fmt::format("Signature not yet current: {} is still later than {} ({} + {})",
                               amz_date, FormatSeconds(now_s + skew), FormatSeconds(now_s),
                               FormatSkew(skew)));
  }
  const std::string payload_hash = Hex(RawSha256(req.body));
  const std::vector<std::string_view> content_sha = FieldValues(req, "x-amz-content-sha256");
  if (!content_sha.empty()) {
    const std::string_view v = TrimOws(content_sha.front());
    if (content_sha.size() == 1 && v == "UNSIGNED-PAYLOAD") {
      return Invalid(
          "UNSIGNED-PAYLOAD is not accepted by this service: sign the SHA-256 of the payload.");
    }
    if (content_sha.size() > 1 || v != payload_hash) {
      return Invalid(
          "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  }
  const std::optional<std::string> canonical_request =
      CanonicalRequest(req, auth.signed_headers, payload_hash);
  if (!canonical_request) {
    return Invalid(
        "The query string has a malformed percent-encoding (a '%' not followed by two hex "
        "digits); the request signature cannot be verified.");
  }
  const std::string expected = HexHmacSha256(
      SigningKey(secret, auth.credential.date, auth.credential.region, auth.credential.service),
      StringToSign(amz_date,
                   Scope(auth.credential.date, auth.credential.region, auth.credential.service),
                   *canonical_request));
  if (expected.size() != 64 || !ConstantTimeEquals(expected, auth.signature)) {
    return Invalid(std::string(kSignatureMismatch));
  }
  return std::nullopt;
}

StatusOr<std::string> SignAuthorization(const HttpRequestView& req, std::string_view access_key_id,
                                        std::string_view secret, std::string_view region,
                                        std::string_view service, std::string_view amz_date,
                                        const std::vector<std::string>& signed_headers) {
  std::vector<std::string> names = signed_headers;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const std::optional<std::string> canonical_request =
      CanonicalRequest(req, names, Hex(RawSha256(req.body)));
  if (!canonical_request) {
    return InvalidArgument("cannot sign: the query string has a malformed percent-encoding");
  }
  const std::string_view date = amz_date.substr(0, 8);
  const std::string signature =
      HexHmacSha256(SigningKey(secret, date, region, service),
                    StringToSign(amz_date, Scope(date, region, service), *canonical_request));
  return fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kSigV4Algorithm,
                     access_key_id, Scope(date, region, service), JoinSigned(names), signature);
}

}  // namespace mlfaas::auth
