// AWS Signature Version 4 (header form, "AWS4-HMAC-SHA256"): parsing the Authorization header,
// canonicalizing a request, signing and verifying it. Pure functions over a request's bytes: no
// I/O, no clock (the caller passes "now"), no exceptions (every input here may be hostile), no
// recursion, every loop bounded by its input.
//
// The canonical form is the one AWS specifies for services other than S3, checked against AWS's
// published SigV4 test suite and against botocore's two signers (its Python SigV4Auth and the
// aws-c-auth signer it uses when awscrt is installed); tests/auth/sigv4_test.cc holds both.
//  - path: dot segments and empty segments removed (botocore's remove_dot_segments), then every
//    byte but the unreserved ones and '/' percent-encoded. The path is taken as it arrived, so an
//    escape on the wire is encoded again ("%3A" -> "%253A"): AWS's double encoding for non-S3.
//  - query: pairs split on '&' (empty pairs dropped) and at the first '=', %XX-decoded ('+' is a
//    plus, not a space), re-encoded, sorted by name then value.
//  - headers: the SignedHeaders, each "name:value" with every field of that name (values trimmed,
//    whitespace runs collapsed to one space) joined with ','.
//  - payload: the lowercase hex SHA-256 of the body; this server always hashes the body itself.
// Not supported: presigned URLs (X-Amz-Signature in the query), SigV4a, streaming (chunked)
// payloads, UNSIGNED-PAYLOAD.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace mlfaas::auth {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kScopeTerminator = "aws4_request";
// The two error types AWS answers a bad signature with (the "__type" of the JSON error body).
inline constexpr std::string_view kIncompleteSignature = "IncompleteSignatureException";
inline constexpr std::string_view kInvalidSignature = "InvalidSignatureException";

// Bounds on what a client may send. An Authorization header longer than this is refused before
// it is looked at; 64 signed headers is far more than any SDK signs (botocore: ~5).
inline constexpr size_t kMaxAuthorizationBytes = 8192;
inline constexpr size_t kMaxSignedHeaders = 64;
inline constexpr size_t kMaxSignedHeaderNameBytes = 256;
inline constexpr size_t kMaxAccessKeyIdBytes = 128;  // IAM's limit
inline constexpr size_t kMaxScopeElementBytes = 64;  // region, service

// A request as the server received it (views into the caller's storage).
struct HttpRequestView {
  std::string_view method;  // "POST"
  std::string_view target;  // raw request-target as on the wire: path, optionally "?" query
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // every field, in order
  std::string_view body;
};

struct Credential {
  std::string access_key_id;  // [A-Z0-9]{1,128}
  std::string date;           // YYYYMMDD
  std::string region;         // [a-z0-9-]{1,64}, recorded, not checked
  std::string service;        // [A-Za-z0-9._-]{1,64}
};

struct Authorization {
  Credential credential;
  std::vector<std::string> signed_headers;  // lowercase, sorted, unique, 1..kMaxSignedHeaders
  std::string signature;                    // 64 lowercase hex characters
};

// A refusal, typed as AWS types it: `type` is kIncompleteSignature or kInvalidSignature, `message`
// worded like AWS's (clients and SDKs print it as is).
struct SigV4Error {
  std::string type;
  std::string message;
};

// True if an Authorization header value claims SigV4 (starts with "AWS4-HMAC-SHA256 ").
bool IsSigV4(std::string_view authorization_value);

// Parses "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=<64 hex>". Malformed or missing parts are
// IncompleteSignatureException; a terminator other than aws4_request is InvalidSignatureException.
std::variant<Authorization, SigV4Error> ParseAuthorization(std::string_view value);

// The canonical URI of a raw path (see the top of this file). Always starts with '/'; contains
// only unreserved characters, '/' and %XX escapes with uppercase hex.
std::string CanonicalUri(std::string_view raw_path);

// The canonical query string of a raw query (without the '?'). nullopt: a malformed %-escape.
std::optional<std::string> CanonicalQuery(std::string_view raw_query);

// "name:value\n" for each of `signed_headers` (lowercase, sorted, unique), from every field of
// `req` with that name.
std::string CanonicalHeaders(const HttpRequestView& req,
                             const std::vector<std::string>& signed_headers);

// The canonical request of `req`: method, CanonicalUri, CanonicalQuery, CanonicalHeaders, the
// signed header list and `payload_sha256_hex`, '\n'-separated. nullopt: the query is malformed.
std::optional<std::string> CanonicalRequest(const HttpRequestView& req,
                                            const std::vector<std::string>& signed_headers,
                                            std::string_view payload_sha256_hex);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>"; scope is
// date/region/service/aws4_request.
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// The signing key (raw 32 bytes): HMAC chain over "AWS4"+secret, date, region, service, terminator.
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

// HMAC-SHA256 of `data` under `key`, 64 lowercase hex characters.
std::string HexHmacSha256(std::string_view key, std::string_view data);

// Equality whose time depends on the lengths only, not on where the contents differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Verifies `req` against `auth` (parsed from its Authorization header) with the caller's
// `secret` for auth.credential.access_key_id. nullopt: the signature is good. Checks, in order:
// the signed header list is well formed and names host; X-Amz-Date (else Date, RFC 1123) is
// present, well formed and signed; every signed header is present (all of those:
// IncompleteSignatureException); the credential's service is `expected_service` and its date is
// the request's; the request time is within `max_skew` of `now` (both directions, inclusive); an
// x-amz-content-sha256 header, if any, is the body's digest (UNSIGNED-PAYLOAD is refused); and
// the signature matches, compared in constant time (all of those: InvalidSignatureException).
// max_skew is clamped to [0, 7 days].
std::optional<SigV4Error> Verify(const HttpRequestView& req, const Authorization& auth,
                                 std::string_view secret, std::string_view expected_service,
                                 std::chrono::system_clock::time_point now,
                                 std::chrono::seconds max_skew = std::chrono::minutes(15));

// Client side, for our own tools and tests: the Authorization header value for `req`, which must
// already carry the X-Amz-Date (= amz_date) and Host headers it signs. Signs every header named
// in `signed_headers` (lowercase; sorted and deduplicated here) and the SHA-256 of the body.
// InvalidArgument if the target's query has a malformed %-escape (no server could check it).
StatusOr<std::string> SignAuthorization(const HttpRequestView& req, std::string_view access_key_id,
                                        std::string_view secret, std::string_view region,
                                        std::string_view service, std::string_view amz_date,
                                        const std::vector<std::string>& signed_headers);

// "YYYYMMDDTHHMMSSZ" (ISO 8601 basic, UTC) of `t`, floored to the second; and back. The parsers
// return nullopt for anything malformed, not a calendar date and time, or outside the years
// kMinDateYear..kMaxDateYear: their result always converts to system_clock::time_point
// (nanoseconds, which end in 2262) without overflow.
inline constexpr int kMinDateYear = 1970;
inline constexpr int kMaxDateYear = 2199;
std::string FormatAmzDate(std::chrono::system_clock::time_point t);
std::optional<std::chrono::sys_seconds> ParseAmzDate(std::string_view s);
// An RFC 1123 Date ("Sun, 30 Aug 2015 12:36:00 GMT"; also UTC, +0000, -0000 as Python's
// email.utils.formatdate writes it). nullopt also if the weekday is wrong.
std::optional<std::chrono::sys_seconds> ParseHttpDate(std::string_view s);

}  // namespace mlfaas::auth
