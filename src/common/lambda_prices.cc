#include "common/lambda_prices.h"

namespace mlfaas {

const LambdaPrices& PricesFor(Arch arch) { return kLambdaPrices[arch == Arch::kArm ? 1 : 0]; }

std::optional<Arch> ParseArch(std::string_view name) {
  if (name == "x86" || name == "x86_64") return Arch::kX86;
  if (name == "arm" || name == "arm64") return Arch::kArm;
  return std::nullopt;
}

}  // namespace mlfaas
