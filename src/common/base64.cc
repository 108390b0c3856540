#include "common/base64.h"

#include <boost/beast/core/detail/base64.hpp>

namespace mlfaas {

namespace b64 = boost::beast::detail::base64;

std::string Base64Encode(std::string_view bytes) {
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool pad =
        c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text.back() == '=');
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/';
    if (!alpha && !pad) return std::nullopt;
  }
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);  // the decoder stops there
  std::string out(b64::decoded_size(text.size()) + 3, '\0');
  const auto [written, read] = b64::decode(out.data(), text.data(), text.size());
  if (read != text.size()) return std::nullopt;
  out.resize(written);
  return out;
}

}  // namespace mlfaas
