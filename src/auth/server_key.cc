#include "auth/server_key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/fs.h"

namespace mlfaas::auth {
namespace {

constexpr std::string_view kMagic = "mlfaas-server-key-v1 ";
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
constexpr unsigned char kBoxVersion = 1;

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Status CreateKeyFile(const std::filesystem::path& path) {
  MLFAAS_ASSIGN_OR_RETURN(std::string raw, RandomBytes(32));
  const std::string text = std::string(kMagic) +
                           Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()) +
                           "\n";
  // Written to a private temp file, then linked into place: the key appears complete or not at
  // all, and of two concurrent creators exactly one wins (link fails with EEXIST).
  const std::string tmp = path.string() + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Internal("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Internal("cannot write " + tmp + ": " + std::strerror(saved));
  }
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && link_errno != EEXIST) {
    return Internal("cannot create " + path.string() + ": " + std::strerror(link_errno));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Internal("the random number generator failed");
  }
  return out;
}

StatusOr<ServerKey> ServerKey::Open(const std::filesystem::path& path, bool create) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT && create) {
    MLFAAS_RETURN_IF_ERROR(CreateKeyFile(path));
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) {
    if (errno == ENOENT) {
      return NotFound("server key " + path.string() + " does not exist");
    }
    return FailedPrecondition("cannot open server key " + path.string() + ": " +
                              std::strerror(errno));
  }
  struct stat st {};
  char buf[128];
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0) n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0) return FailedPrecondition("cannot read server key " + path.string());
  if (!S_ISREG(st.st_mode)) {
    return FailedPrecondition("server key " + path.string() + " is not a regular file");
  }
  if (st.st_uid != ::geteuid()) {
    return FailedPrecondition("server key " + path.string() + " is owned by uid " +
                              std::to_string(st.st_uid) + ", not by this user");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return FailedPrecondition("server key " + path.string() + " has mode " + mode +
                              ": others may read it; chmod 600 it (and treat the keys as "
                              "exposed if others did)");
  }
  std::string_view text(buf, static_cast<size_t>(n));
  if (!text.starts_with(kMagic) || text.size() < kMagic.size() + 64) {
    return FailedPrecondition("server key " + path.string() + " is malformed");
  }
  ServerKey key;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = HexValue(text[kMagic.size() + 2 * i]);
    const int lo = HexValue(text[kMagic.size() + 2 * i + 1]);
    if (hi < 0 || lo < 0)
      return FailedPrecondition("server key " + path.string() + " is malformed");
    key.key_[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return key;
}

StatusOr<std::string> ServerKey::Seal(std::string_view plaintext, std::string_view aad) const {
  MLFAAS_ASSIGN_OR_RETURN(std::string nonce, RandomBytes(kNonce));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(1 + kNonce + plaintext.size() + kTag, '\0');
  out[0] = static_cast<char>(kBoxVersion);
  std::memcpy(out.data() + 1, nonce.data(), kNonce);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), o + 1) == 1;
  ok = ok && EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                               reinterpret_cast<const unsigned char*>(aad.data()),
                               static_cast<int>(aad.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx.get(), o + 1 + kNonce, &len,
                               reinterpret_cast<const unsigned char*>(plaintext.data()),
                               static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), o + 1 + kNonce + len, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                                 o + 1 + kNonce + plaintext.size()) == 1;
  if (!ok) return Internal("sealing a secret failed (OpenSSL)");
  return out;
}

StatusOr<std::string> ServerKey::Unseal(std::string_view box, std::string_view aad) const {
  const Status bad = DataLoss("a sealed secret does not open with this server key");
  if (box.size() < 1 + kNonce + kTag || static_cast<unsigned char>(box[0]) != kBoxVersion) {
    return bad;
  }
  const size_t n = box.size() - 1 - kNonce - kTag;
  const auto* b = reinterpret_cast<const unsigned char*>(box.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(n, '\0');
  int len = 0;
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), b + 1) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                               reinterpret_cast<const unsigned char*>(aad.data()),
                               static_cast<int>(aad.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                               b + 1 + kNonce, static_cast<int>(n)) == 1;
  // The expected tag is given before Final, which checks it.
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag,
                                 const_cast<unsigned char*>(b + 1 + kNonce + n)) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len,
                                 &len) == 1;
  if (!ok) return bad;
  return out;
}

std::string ServerKey::Derive(std::string_view label) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(label.data()), label.size(), mac, &len);
  return Hex(mac, len);
}

}  // namespace mlfaas::auth
