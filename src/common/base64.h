// Base64 (RFC 4648, standard alphabet, padded), as the Lambda API carries bytes in JSON
// (Code.ZipFile, X-Amz-Client-Context, X-Amz-Log-Result, CodeSha256).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mlfaas {

std::string Base64Encode(std::string_view bytes);
// Strict: only the alphabet, length a multiple of 4, '=' only as the last one or two
// characters. nullopt on anything else.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace mlfaas
