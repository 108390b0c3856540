// The server key: 32 random bytes in <home>/server.key (mode 0600, never in the database), with
// which API key secrets are sealed at rest (AES-256-GCM). SigV4 needs a key's secret to verify a
// signature, so secrets cannot be stored as one-way hashes; sealed, a copy of the database alone
// reveals none of them (docs/security.md).
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas::auth {

class ServerKey {
 public:
  // Reads the key at `path`. When it is absent and `create` is set, creates it first (O_EXCL,
  // mode 0600 whatever the umask; a concurrent creator wins and its key is read). Refuses
  // (FailedPrecondition) a file others may read or write, one not owned by this user, or a
  // malformed one. NotFound when absent and not `create`.
  static StatusOr<ServerKey> Open(const std::filesystem::path& path, bool create);

  // A sealed box: version byte 1 | 12-byte random nonce | ciphertext | 16-byte GCM tag. `aad`
  // (the access key id) is authenticated with it: a box moved to another row does not open.
  StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  // DataLoss when the box was not sealed by this key for `aad` or was altered.
  StatusOr<std::string> Unseal(std::string_view box, std::string_view aad) const;

  // HMAC-SHA256(server key, label) as hex: credentials derived from the key, such as the local
  // CLI's token (only who can read the key can compute it).
  std::string Derive(std::string_view label) const;

 private:
  std::array<unsigned char, 32> key_{};
};

// Cryptographically random bytes (OpenSSL RAND_bytes); Internal if the generator fails.
StatusOr<std::string> RandomBytes(size_t n);

}  // namespace mlfaas::auth
