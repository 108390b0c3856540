// The environment for a script that runs `python3` from PATH (examples/*/make_bundle.sh, the
// bundles `mlfaas bench study` makes): PATH with /usr/bin first, so that it runs Debian's python3
// as the tests do, not a python3 found earlier on the caller's PATH (a pyenv shim takes ~0.25 s
// to start).
#pragma once

#include <cstdlib>
#include <map>
#include <string>

namespace mlfaas::testing {

// `env` plus PATH=/usr/bin:$PATH.
inline std::map<std::string, std::string> WithSystemPython(
    std::map<std::string, std::string> env = {}) {
  const char* path = std::getenv("PATH");
  env["PATH"] = std::string("/usr/bin") + (path && *path ? std::string(":") + path : "");
  return env;
}

}  // namespace mlfaas::testing
