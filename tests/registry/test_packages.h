// Builders of code packages for registry tests: model packages (package::WritePackage) and
// custom-runtime zips (libzip, with a `bootstrap` entry).
#pragma once

#include <filesystem>
#include <string>

namespace mlfaas::registry::testing {

// Writes a valid model package; `variant` changes the coefficients (and thus the digests).
void WriteModelPackage(const std::filesystem::path& path, int variant = 0);
// Writes a zip with a `bootstrap` shell script (mode 0755, or 0644 when !executable).
void WriteBootstrapZip(const std::filesystem::path& path, bool executable = true);

}  // namespace mlfaas::registry::testing
