// SHA-256 digests (OpenSSL EVP), rendered as 64 lowercase hex characters.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mlfaas {

// Incremental hasher. Not thread-safe; one per thread of use.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Finishes the digest; the hasher must not be used afterwards.
  std::string HexDigest();

 private:
  void* ctx_;  // EVP_MD_CTX*
};

std::string Sha256Hex(std::string_view bytes);
StatusOr<std::string> Sha256File(const std::filesystem::path& path);

// True if `s` looks like a digest: 64 lowercase hex characters.
bool IsSha256Hex(std::string_view s);

}  // namespace mlfaas
